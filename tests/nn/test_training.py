"""fit, History, evaluate, accuracy, the engine hook and the progress bar."""

import io
import pickle
import sys

import numpy as np
import pytest

import nn
from nn import training
from nn._fit_trace import recorded_losses


def _snapshot(model):
    return [p.data for p in model.parameters()]


def _blobs():
    return nn.make_blobs(40, centers=[[-2, -2], [2, 2]], cluster_std=0.7, seed=0)


def test_fit_records_one_entry_per_epoch_and_learns():
    X, y = _blobs()
    model = nn.MLP(2, [4, 2], seed=0)
    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model, lr=0.1),
                     epochs=6, batch_size=8, validation=(X[:10], y[:10]), progress=False,
                     seed=0)
    assert history.epochs == 6
    assert len(history.accuracy) == len(history.val_loss) == len(history.val_accuracy) == 6
    assert history.loss[-1] < history.loss[0]
    assert history.accuracy[-1] == 1.0
    assert history.lr == [0.1] * 6
    final = nn.evaluate(model, X[:10], y[:10], loss=nn.cross_entropy)
    assert history.val_loss[-1] == pytest.approx(final["loss"])
    assert history.val_accuracy[-1] == final["accuracy"]
    assert repr(history).startswith("History(epochs=6, loss=")


def test_full_batch_epoch_loss_is_the_loss_before_the_step():
    X, y = _blobs()
    model = nn.LogisticRegression(2, init="uniform", seed=0)
    before = nn.evaluate(model, X, y, loss=nn.binary_cross_entropy_with_logits)["loss"]
    history = nn.fit(model, X, y, loss=nn.binary_cross_entropy_with_logits,
                     optimizer=nn.SGD(model, lr=0.1), epochs=1, progress=False)
    assert history.loss == [pytest.approx(before)]


def test_fit_with_regularizer_and_scheduler():
    X, y = _blobs()
    model = nn.MLP(2, [3, 1], seed=0)
    optimizer = nn.SGD(model, lr=0.5)
    schedule = nn.StepDecay(optimizer, step_size=2, gamma=0.5)
    history = nn.fit(model, X, 2 * y - 1, loss=nn.hinge_loss, optimizer=optimizer, epochs=4,
                     regularizer=lambda m: nn.l2(m, 1e-3), scheduler=schedule, progress=False)
    assert history.lr == [0.5, 0.5, 0.25, 0.25]
    assert history.accuracy[-1] == 1.0


def test_regression_history_has_nan_accuracy():
    X, y = nn.load_longley()
    Z, _, _ = nn.standardize(X)
    target = (y - y.mean()) / y.std()
    model = nn.Layer(6, 1, "linear", seed=0)
    history = nn.fit(model, Z, target, loss=nn.mse_loss, optimizer=nn.SGD(model, lr=0.05),
                     epochs=30, progress=False)
    assert all(np.isnan(history.accuracy))
    assert history.loss[-1] < 0.1 * history.loss[0]


def test_callback_can_stop_training():
    X, y = _blobs()
    model = nn.MLP(2, [4, 2], seed=0)
    seen = []

    def stop_at_two(epoch, history):
        seen.append((epoch, history.epochs))
        return epoch == 1

    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model, lr=0.1),
                     epochs=10, callback=stop_at_two, progress=False)
    assert seen == [(0, 1), (1, 2)] and history.epochs == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X": np.zeros((4, 3))}, "3 features per sample but the model takes nin=2"),
        ({"y": np.array([0, 1, 2, 1])}, "label 2 is outside the classes 0..1"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"engine": "fast"}, r"unknown engine 'fast'; known: \['eager'"),
        ({"loss": nn.hinge_loss}, r"label 0 is outside the allowed labels \[-1, 1\]"),
        ({"y": np.array([0, 1])}, "X has 4 rows but y has shape"),
        ({"validation": (np.zeros((2, 2)), np.array([0, 5]))}, "label 5 is outside"),
    ],
)
def test_bad_input_fails_before_any_work(kwargs, message):
    model = nn.MLP(2, [3, 2], seed=0)
    before = _snapshot(model)
    arguments = {"X": np.zeros((4, 2)), "y": np.array([0, 1, 1, 0]), "loss": nn.cross_entropy,
                 "optimizer": nn.SGD(model, lr=0.1), "epochs": 2, "progress": False}
    arguments.update(kwargs)
    X, y = arguments.pop("X"), arguments.pop("y")
    with pytest.raises(ValueError, match=message):
        nn.fit(model, X, y, **arguments)
    assert _snapshot(model) == before


def test_a_registered_engine_is_used_by_fit():
    calls = []

    def counting_engine(model, X, y, loss, regularizer):
        calls.append(len(y))
        return training.ENGINES["eager"](model, X, y, loss, regularizer)

    nn.register_engine("counting", counting_engine)
    try:
        X, y = _blobs()
        model = nn.MLP(2, [3, 2], seed=0)
        nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model, lr=0.1), epochs=2,
               batch_size=16, engine="counting", progress=False)
    finally:
        del training.ENGINES["counting"]
    assert calls == [16, 16, 8, 16, 16, 8]


def test_accuracy_conventions():
    model = nn.Layer(1, 1, "linear", seed=0)
    model.neurons[0].w[0].data, model.neurons[0].b.data = 1.0, 0.0
    X = np.array([[-2.0], [-1.0], [1.0], [3.0]])
    assert nn.accuracy(model, X, np.array([-1, -1, 1, 1])) == 1.0
    assert nn.accuracy(model, X, np.array([0, 0, 1, 1])) == 1.0
    assert nn.accuracy(model, X, np.array([0, 1, 1, 1])) == 0.75
    sigmoid_model = nn.Layer(1, 1, "sigmoid", seed=0)
    sigmoid_model.neurons[0].w[0].data = 1.0
    assert nn.accuracy(sigmoid_model, X, np.array([0, 0, 1, 1])) == 1.0
    three = nn.Layer(1, 3, "linear", seed=0)
    assert nn.predict(three, X).tolist() == nn.predict_scores(three, X).argmax(1).tolist()


def test_progress_bar_is_silent_off_a_terminal(capsys):
    X, y = _blobs()
    model = nn.MLP(2, [3, 2], seed=0)
    nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model, lr=0.1), epochs=2)
    assert capsys.readouterr().err == ""


def test_progress_bar_shows_the_running_loss_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    X, y = _blobs()
    model = nn.MLP(2, [3, 2], seed=0)
    history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model, lr=0.1),
                     epochs=2)
    assert f"loss={history.loss[-1]:.4g}" in screen.getvalue()


@pytest.mark.parametrize(
    "make_model, loss, labels",
    [
        (lambda: nn.MLP(2, [5, 1], seed=0), nn.hinge_loss, lambda y: 2 * (y % 2) - 1),
        (lambda: nn.MLP(2, [5, 3], activation="tanh", seed=0), nn.cross_entropy,
         lambda y: y),
        (lambda: nn.MLP(2, [4, 2], seed=0), nn.multiclass_hinge_loss, lambda y: y % 2),
        (lambda: nn.LogisticRegression(2, init="uniform", seed=0),
         nn.binary_cross_entropy_with_logits, lambda y: y % 2),
        (lambda: nn.Sequential(nn.PositionalEncoding(2), nn.MLP(10, [4, 1], seed=0)),
         nn.mse_loss, lambda y: y * 0.5),
        (lambda: nn.Sequential(nn.Residual(nn.Layer(2, 2, "tanh", seed=0)),
                               nn.Layer(2, 1, "linear", seed=1)),
         nn.perceptron_loss, lambda y: np.where(y == 0, -1, 1)),
    ],
)
def test_trace_engine_matches_eager_engine(make_model, loss, labels):
    X, y = nn.make_blobs(30, centers=3, seed=2)
    X = X / 10
    target = labels(y)
    histories, states = [], []
    for engine in ("eager", "trace"):
        model = make_model()
        optimizer = nn.SGD(model, lr=0.1, momentum=0.5)
        histories.append(nn.fit(model, X, target, loss=loss, optimizer=optimizer, epochs=3,
                                batch_size=8, regularizer=lambda m: nn.l2(m, 1e-3),
                                seed=0, engine=engine, progress=False))
        states.append(model.state_dict())
    eager, traced = histories
    np.testing.assert_allclose(traced.loss, eager.loss, rtol=1e-9)
    np.testing.assert_array_equal(traced.accuracy, eager.accuracy)
    for key in states[0]:
        np.testing.assert_allclose(states[1][key], states[0][key], rtol=1e-9, atol=1e-12)


def test_trace_engine_refuses_a_loss_it_cannot_encode():
    def custom(outputs, targets):
        return nn.mse_loss(outputs, targets)

    model = nn.MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="engine 'trace' needs one of nn's losses"):
        nn.fit(model, np.zeros((2, 2)), np.zeros(2), loss=custom,
               optimizer=nn.SGD(model, lr=0.1), epochs=1, engine="trace", progress=False)


def test_trace_engine_retraces_when_the_loss_changes_and_keeps_state_clean():
    X, y = _blobs()
    model = nn.MLP(2, [3, 2], seed=0)
    for loss in (nn.cross_entropy, nn.multiclass_hinge_loss):
        nn.fit(model, X, y, loss=loss, optimizer=nn.SGD(model, lr=0.1), epochs=1,
               engine="trace", progress=False)
    assert len(recorded_losses(model)) == 2
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias",
                                        "layers.1.weight", "layers.1.bias"]
    assert not any("trace" in name for name in vars(model))
    # Nothing of the recording is on the model: it pickles and copies as before.
    copied = pickle.loads(pickle.dumps(model))
    assert copied.state_dict().keys() == model.state_dict().keys()
    assert recorded_losses(copied) == {}


def test_fit_pauses_the_cycle_collector_only_on_the_python_node_store():
    import gc

    from autograd_core import CORE

    enabled_during_batches = []

    def loss(outputs, targets):
        enabled_during_batches.append(gc.isenabled())
        return nn.mse_loss(outputs, targets)

    model = nn.MLP(2, [3, 1], seed=0)
    X, y = np.array([[0.0, 1.0], [1.0, 0.5]]), np.array([1.0, -1.0])
    assert gc.isenabled()
    nn.fit(model, X, y, loss=loss, optimizer=nn.SGD(model, lr=0.1), epochs=2, batch_size=1,
           progress=False)
    assert enabled_during_batches == [CORE == "compiled"] * 4
    assert gc.isenabled()
