"""Threads: modes stay in their thread, and training in parallel changes no number.

The engine's tests show one op recorded while another thread sits in ``no_grad``;
here whole training runs overlap with threads that keep entering ``no_grad`` and
``detect_anomaly``, and two trainings overlap each other, with the interpreter
switching threads every few microseconds. Every history and weight must equal what
the same training gives alone.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import nn
from autograd_core import (
    Value,
    backward_steps,
    detect_anomaly,
    grad,
    hessian,
    no_grad,
    topological_order,
)


@pytest.fixture(autouse=True)
def _switch_often():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def make_run(seed: int, engine: str = "eager", log: list | None = None,
             epoch_barrier: threading.Barrier | None = None):
    """A training run (closure) and where its results go; epochs end up in ``log``.

    With ``epoch_barrier``, each epoch's end waits for the other run's, so two runs
    overlap for certain however fast an epoch is (the batches inside still race).
    """
    X, y = nn.make_blobs(30, centers=[[-1, 0], [1, 0.5], [0, -1]], cluster_std=0.6, seed=seed)
    model = nn.MLP(2, [6, 3], activation="tanh", seed=seed)
    results = {}
    log = [] if log is None else log

    def end_of_epoch(epoch, _history) -> None:
        log.append((seed, epoch))
        if epoch_barrier is not None:
            epoch_barrier.wait(timeout=30)

    def run():
        history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.Adam(model, lr=0.05),
                         epochs=6, batch_size=5, seed=seed, progress=False, engine=engine,
                         callback=end_of_epoch)
        results["history"] = history
        results["state"] = {key: array.tobytes() for key, array in model.state_dict().items()}

    return run, results


def alone(seed: int, engine: str = "eager") -> dict:
    run, results = make_run(seed, engine)
    run()
    return results


def run_in_threads(*targets) -> None:
    errors = []
    barrier = threading.Barrier(len(targets))

    def wrap(target):
        def go():
            try:
                barrier.wait(timeout=30)
                target()
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)
        return go

    threads = [threading.Thread(target=wrap(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors


def same(results: dict, reference: dict) -> None:
    assert results["history"].loss == reference["history"].loss
    assert results["history"].accuracy == reference["history"].accuracy
    assert results["state"] == reference["state"]


@pytest.mark.parametrize("engine", ["eager", "trace"])
def test_two_models_trained_at_once_match_training_them_one_after_another(engine):
    first_alone, second_alone = alone(1, engine), alone(2, engine)
    assert first_alone["history"].loss != second_alone["history"].loss
    log: list = []
    epochs_together = threading.Barrier(2)
    first, first_results = make_run(1, engine, log, epochs_together)
    second, second_results = make_run(2, engine, log, epochs_together)
    run_in_threads(first, second)
    # The runs really overlapped: each finished an epoch while the other was mid-way.
    finished = [seed for seed, _ in log]
    assert finished.index(2) < len(finished) - 1 - finished[::-1].index(1)
    assert finished.index(1) < len(finished) - 1 - finished[::-1].index(2)
    same(first_results, first_alone)
    same(second_results, second_alone)


def test_training_is_unaffected_by_no_grad_and_anomaly_mode_in_other_threads():
    reference = alone(7)
    train, results = make_run(7)
    stop = threading.Event()
    seen = {"no_grad": 0, "anomaly": 0}

    def keep_entering_no_grad():
        model = nn.MLP(2, [4, 1], seed=0)
        while not stop.is_set():
            with no_grad():
                out = model([0.5, -0.5])[0]
                assert out.op == "" and out.parents == ()  # no graph in this thread
            seen["no_grad"] += 1

    def keep_entering_anomaly_mode():
        while not stop.is_set():
            with detect_anomaly():
                x = Value(0.0)
                try:
                    x.log()
                except ValueError:
                    pass
                y = (x * 2.0).tanh()
                y.backward()
                assert x.grad == 2.0
            seen["anomaly"] += 1

    def train_then_stop():
        try:
            train()
        finally:
            stop.set()

    run_in_threads(train_then_stop, keep_entering_no_grad, keep_entering_anomaly_mode)
    assert seen["no_grad"] > 10 and seen["anomaly"] > 10  # the modes really overlapped
    same(results, reference)


def test_predictions_in_no_grad_threads_see_a_consistent_model():
    """Many threads predicting with one trained model at once all get its exact scores."""
    X, y = nn.make_moons(60, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 2], activation="tanh", seed=0)
    nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.SGD(model, lr=0.2), epochs=2,
           progress=False)
    expected = nn.predict_scores(model, X)
    outputs = [None] * 4

    def predict(index):
        return lambda: outputs.__setitem__(index, nn.predict_scores(model, X))

    run_in_threads(*[predict(i) for i in range(4)])
    for scores in outputs:
        assert np.array_equal(scores, expected)


def test_readers_of_one_graph_in_many_threads_get_exact_answers_while_backward_runs_on_it():
    """grad, hessian, backward_steps and topological_order only read a graph: threads
    running them on one graph, next to a thread running backward() on it (which writes
    .grad and marks nodes there), all get the single-threaded answers bit for bit."""
    ws = [Value(0.1 * (index + 1)) for index in range(4)]
    y = Value(0.0)
    for index in range(120):
        y = (y * ws[index % 4] + 0.1).tanh() + ws[(index + 1) % 4] * ws[index % 4]
    answers = {
        "grad": lambda: grad(y, ws),
        "hessian": lambda: hessian(y, ws[:2]),
        "steps": lambda: [(step.parent_index, step.contribution, step.receiver_delta)
                          for step in backward_steps(y, 0.5)],
        "order": lambda: [id(node) for node in topological_order(y)],
    }
    expected = {name: answer() for name, answer in answers.items()}
    wrong: list = []

    def read(name):
        def go():
            for _ in range(6):
                if answers[name]() != expected[name]:
                    wrong.append(name)
        return go

    def write():
        for _ in range(30):
            y.backward()

    run_in_threads(write, *[read(name) for name in answers])
    assert not wrong
    # and reading alone leaves every grad as backward() left it
    grads = [node.grad for node in topological_order(y)]
    run_in_threads(*[read(name) for name in answers])
    assert [node.grad for node in topological_order(y)] == grads
