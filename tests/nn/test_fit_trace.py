"""fit(engine="trace") gives the eager engine's numbers, and the model is always current.

The trace run keeps the parameters in one array; these tests compare it with the
eager engine (a graph per sample, every step on the Values) to 1e-12: the parameters
and gradients after several epochs for every optimiser and schedule, what callbacks
see, and the model after an exception or Ctrl-C.
"""

import _thread
import threading

import numpy as np
import pytest

import nn
from nn import _values

TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}

OPTIMISERS = {
    "sgd": lambda p: nn.SGD(p, lr=0.1),
    "momentum": lambda p: nn.SGD(p, lr=0.1, momentum=0.9),
    "nesterov+decay": lambda p: nn.SGD(p, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01),
    "sgd+decay": lambda p: nn.SGD(p, lr=0.1, weight_decay=0.05),
    "adam": lambda p: nn.Adam(p, lr=0.02),
    "adam+l2": lambda p: nn.Adam(p, lr=0.02, betas=(0.8, 0.99), weight_decay=0.1),
    "adamw": lambda p: nn.AdamW(p, lr=0.02, betas=(0.8, 0.99), weight_decay=0.1),
}

SCHEDULES = {
    "none": None,
    "linear": lambda o: nn.LinearDecay(o, start=o.lr, end=o.lr / 10, total_steps=3),
    "step": lambda o: nn.StepDecay(o, step_size=2, gamma=0.5),
}


def _moons():
    X, y = nn.make_moons(60, noise=0.1, seed=0)
    return X, 2 * y - 1


def _params(model):
    return np.array([p.data for p in model.parameters()])


def _grads(model):
    return np.array([p.grad for p in model.parameters()])


def _train(engine, make_optimizer, make_schedule=None, *, epochs=5, callback=None,
           model=None, **settings):
    X, y = _moons()
    model = model or nn.MLP(2, [8, 8, 1], seed=1)
    optimizer = make_optimizer(model)
    arguments = {"loss": nn.hinge_loss, "epochs": epochs, "batch_size": 16, "seed": 3,
                 "regularizer": lambda m: nn.l2(m, 1e-3), "validation": (X[:20], y[:20]),
                 "progress": False}
    arguments.update(settings)
    history = nn.fit(model, X, y, optimizer=optimizer, engine=engine, callback=callback,
                     scheduler=make_schedule(optimizer) if make_schedule else None,
                     **arguments)
    return model, optimizer, history


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("name", OPTIMISERS)
def test_trace_fit_equals_eager_fit(name, schedule):
    runs = [_train(engine, OPTIMISERS[name], SCHEDULES[schedule]) for engine in ("eager", "trace")]
    (eager, eager_opt, eager_history), (traced, traced_opt, traced_history) = runs
    np.testing.assert_allclose(_params(traced), _params(eager), **TOLERANCE)
    np.testing.assert_allclose(_grads(traced), _grads(eager), **TOLERANCE)
    assert np.any(_params(traced) != _params(nn.MLP(2, [8, 8, 1], seed=1)))  # it trained
    for field in ("loss", "val_loss"):
        np.testing.assert_allclose(getattr(traced_history, field), getattr(eager_history, field),
                                   **TOLERANCE)
    assert traced_history.accuracy == eager_history.accuracy
    assert traced_history.val_accuracy == eager_history.val_accuracy
    assert traced_history.lr == eager_history.lr
    assert traced_opt.steps == eager_opt.steps == 5 * 4
    for state in ("buffers", "first_moments", "second_moments"):
        if getattr(eager_opt, state, None) is not None:
            np.testing.assert_allclose(getattr(traced_opt, state), getattr(eager_opt, state),
                                       **TOLERANCE)


def test_trace_fit_equals_eager_fit_for_several_classes():
    X, y = nn.make_blobs(45, centers=3, seed=2)
    models = []
    for engine in ("eager", "trace"):
        model = nn.MLP(2, [6, 3], activation="tanh", seed=0)
        nn.fit(model, X / 5, y, loss=nn.cross_entropy, optimizer=nn.Adam(model, lr=0.05),
               epochs=4, batch_size=10, seed=1, engine=engine, progress=False)
        models.append(model)
    np.testing.assert_allclose(_params(models[1]), _params(models[0]), **TOLERANCE)


def test_callbacks_see_the_current_parameters_and_gradients():
    seen = {"eager": [], "trace": []}
    for engine in seen:
        def look(epoch, history, engine=engine, seen=seen):
            model = look.model
            seen[engine].append((model.state_dict(), _grads(model), history.loss[-1]))

        model = nn.MLP(2, [8, 8, 1], seed=1)
        look.model = model
        _train(engine, OPTIMISERS["momentum"], epochs=4, callback=look, model=model)
    assert len(seen["trace"]) == len(seen["eager"]) == 4
    for (state, grads, loss), (eager_state, eager_grads, eager_loss) in zip(*seen.values()):
        for key in state:
            np.testing.assert_allclose(state[key], eager_state[key], **TOLERANCE)
        np.testing.assert_allclose(grads, eager_grads, **TOLERANCE)
        assert loss == pytest.approx(eager_loss, rel=1e-12)


def test_a_callback_that_changes_the_model_is_followed():
    def clip(epoch, history):
        nn.max_norm_(clip.model, 0.5)  # changes the Values the trace run holds in an array

    finals = []
    for engine in ("eager", "trace"):
        clip.model = model = nn.MLP(2, [8, 8, 1], seed=1)
        _train(engine, OPTIMISERS["sgd"], epochs=4, callback=clip, model=model)
        finals.append(_params(model))
        for neuron in (m for _, m in model.named_modules() if isinstance(m, nn.Neuron)):
            assert np.linalg.norm([w.data for w in neuron.w]) <= 0.5 + 1e-12
    np.testing.assert_allclose(finals[1], finals[0], **TOLERANCE)


@pytest.mark.parametrize("engine", ["eager", "trace"])
def test_an_exception_in_a_callback_leaves_the_model_at_the_last_step(engine):
    def fail_after_two(epoch, history):
        if epoch == 1:
            raise RuntimeError("stop here")

    model = nn.MLP(2, [8, 8, 1], seed=1)
    with pytest.raises(RuntimeError, match="stop here"):
        _train(engine, OPTIMISERS["momentum"], callback=fail_after_two, model=model)
    reference, _, _ = _train("eager", OPTIMISERS["momentum"], epochs=2)
    np.testing.assert_allclose(_params(model), _params(reference), **TOLERANCE)
    np.testing.assert_allclose(_grads(model), _grads(reference), **TOLERANCE)


def test_a_non_finite_gradient_stops_both_engines_at_the_same_step():
    # A huge learning rate overflows within a few steps; the step that meets a
    # non-finite gradient is refused, and the model keeps the step before it.
    models = []
    for engine in ("eager", "trace"):
        model = nn.MLP(2, [8, 8, 1], activation="linear", seed=1)
        optimizer = nn.SGD(model, lr=1e30)
        with pytest.raises(ValueError, match="non-finite gradient"):
            _train(engine, lambda m, o=optimizer: o, model=model, loss=nn.mse_loss,
                   regularizer=None, validation=None, epochs=50)
        models.append((model, optimizer.steps))
    (eager, eager_steps), (traced, traced_steps) = models
    assert traced_steps == eager_steps > 0
    np.testing.assert_allclose(_params(traced), _params(eager), **TOLERANCE)
    assert np.all(np.isfinite(_params(traced)))


def _interrupt_fit(engine, after_steps):
    """Start a long full-batch run and press Ctrl-C once it has taken ``after_steps``."""
    model = nn.MLP(2, [4, 1], seed=1)
    optimizer = nn.SGD(model, lr=0.05, momentum=0.9)
    started = threading.Event()
    done = threading.Event()

    def press() -> None:
        started.wait()
        while optimizer.steps < after_steps and not done.wait(0.0005):
            pass
        if not done.is_set():
            _thread.interrupt_main()

    presser = threading.Thread(target=press)
    presser.start()
    X, y = _moons()
    try:
        with pytest.raises(KeyboardInterrupt):
            started.set()
            nn.fit(model, X[:20], y[:20], loss=nn.hinge_loss, optimizer=optimizer,
                   epochs=10**7, regularizer=lambda m: nn.l2(m, 1e-3), engine=engine,
                   progress=False)
    finally:
        done.set()
        presser.join()
    return model, optimizer


@pytest.mark.parametrize("engine, after_steps", [("trace", 40), ("trace", 157), ("eager", 7)])
def test_ctrl_c_leaves_the_model_at_a_whole_step(engine, after_steps):
    model, optimizer = _interrupt_fit(engine, after_steps)
    steps = optimizer.steps
    assert steps >= after_steps  # the interrupt came during training
    X, y = _moons()
    reference = nn.MLP(2, [4, 1], seed=1)
    reference_optimizer = nn.SGD(reference, lr=0.05, momentum=0.9)
    nn.fit(reference, X[:20], y[:20], loss=nn.hinge_loss, optimizer=reference_optimizer,
           epochs=steps, regularizer=lambda m: nn.l2(m, 1e-3), progress=False)
    # Every parameter holds the values after `steps` whole steps, none half a step,
    # and the optimiser's momentum is that of the same step.
    np.testing.assert_allclose(_params(model), _params(reference), **TOLERANCE)
    np.testing.assert_allclose(optimizer.buffers, reference_optimizer.buffers, **TOLERANCE)
    if engine == "trace":
        np.testing.assert_allclose(_grads(model), _grads(reference), **TOLERANCE)


def test_an_interrupted_write_is_finished_before_the_interrupt_goes_on():
    params = nn.MLP(2, [3, 1], seed=0).parameters()
    target = np.arange(len(params), dtype=float)

    calls = []
    original = _values._write

    def write(params_, numbers, field):
        calls.append(field)
        if len(calls) == 1:
            original(params_[:4], numbers[:4], field)
            raise KeyboardInterrupt
        original(params_, numbers, field)

    _values._write = write
    try:
        with pytest.raises(KeyboardInterrupt):
            _values.write_data(params, target)
    finally:
        _values._write = original
    assert calls == ["data", "data"]
    assert [p.data for p in params] == target.tolist()


def test_no_module_walk_per_batch(monkeypatch):
    walks = []
    original = nn.Module.named_parameters

    def counted(self):
        walks.append(1)
        return original(self)

    monkeypatch.setattr(nn.Module, "named_parameters", counted)
    counts = []
    for epochs in (1, 6):
        walks.clear()
        _train("trace", OPTIMISERS["momentum"], epochs=epochs)
        counts.append(len(walks))
    # Set-up walks only (the optimiser, the trace, the penalty's trace): none per batch.
    assert counts[0] == counts[1]


def test_an_optimiser_with_its_own_step_still_trains_the_same():
    class HalfStep(nn.SGD):
        """A subclass that changes step() itself: the trace run must call it."""

        def step(self):
            for param in self.params:
                param.data -= 0.5 * self.lr * param.grad
            self.steps += 1

    runs = [_train(engine, lambda m: HalfStep(m, lr=0.2)) for engine in ("eager", "trace")]
    np.testing.assert_allclose(_params(runs[1][0]), _params(runs[0][0]), **TOLERANCE)


def test_an_optimiser_over_part_of_the_model_leaves_the_rest_alone():
    runs = []
    for engine in ("eager", "trace"):
        model = nn.MLP(2, [8, 8, 1], seed=1)
        last = model.layers[-1].parameters()
        before = _params(model)
        trained, _, _ = _train(engine, lambda m, last=last: nn.SGD(list(reversed(last)),
                                                                   lr=0.1, momentum=0.5),
                               model=model)
        frozen = len(before) - len(last)
        np.testing.assert_array_equal(_params(trained)[:frozen], before[:frozen])
        runs.append(trained)
    np.testing.assert_allclose(_params(runs[1]), _params(runs[0]), **TOLERANCE)
    # The frozen parameters' gradients add up over every batch, as in the eager run.
    np.testing.assert_allclose(_grads(runs[1]), _grads(runs[0]), **TOLERANCE)


def test_the_parameter_array_is_checked_for_nan_once_per_read_not_per_replay():
    # A Value refuses NaN data, so the array read from the Values is finite; the run
    # still checks it for NaN when it reads it (at the start and after each callback)
    # before its replays, which then skip that check on every batch.
    from nn._fit_trace import TracedRun

    X, y = _moons()
    model = nn.MLP(2, [4, 1], seed=1)
    run = TracedRun(model, X, y, nn.hinge_loss, None, nn.SGD(model, lr=0.1))
    index = np.arange(8)
    run.batch(index)
    assert run.theta_checked
    run.theta[3] = np.nan  # not through a Value: as if one could hold NaN
    run.theta_checked = False  # what refresh() leaves
    with pytest.raises(ValueError, match=r"holds NaN at index \[3\]"):
        run.batch(index)
    with pytest.raises(ValueError, match="NaN"):
        model.parameters()[0].data = float("nan")
