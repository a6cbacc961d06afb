"""The benchmark workloads, one engine at a time (run as a worker by ``run.py``).

Usage: ``python benchmarks/workloads.py WORKLOAD ENGINE [REPEATS]`` prints one JSON
object with the measurements. Each (workload, engine) pair runs in its own process,
so garbage-collector state and recursion limits do not leak between engines.

Engines: ``micrograd`` (0.1.0 from PyPI, plus exp/tanh/log in its own style),
``eager`` (our engine, one graph per sample), ``replay`` (our trace-and-replay on
numpy batches), ``numpy`` (hand-written forward and backward), ``torch`` (CPU,
float64, optional).
"""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import sys
import threading
import time
import tracemalloc
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository root (our packages), or another checkout's (compare.py times an
# earlier commit's packages with this file).
sys.path.insert(0, os.environ.get("BENCH_PACKAGES") or os.path.dirname(HERE))
sys.path.insert(0, HERE)

# CPU time of this process, not wall time: the numbers stay meaningful on a machine
# that other work shares (run.py pins numpy and torch to one thread).
clock = time.process_time

CHAIN_BLOCK = 4  # ops per block of the chain: mul, add, tanh, exp
NO_GC = "+gc-paused"  # engine-name suffix: run with the cyclic garbage collector paused
PURE = "+python-store"  # engine-name suffix: our engine on its pure-Python node store


# ---------------------------------------------------------------------------
# Engines' scalar types


def scalar_type(engine: str):
    if engine == "micrograd":
        from micrograd_ext import Value

        return Value
    if engine == "eager":
        from autograd_core import Value

        return Value
    if engine == "torch":
        import torch

        torch.set_num_threads(1)

        def make(x: float):
            return torch.tensor(x, dtype=torch.float64, requires_grad=True)

        return make
    raise ValueError(f"no scalar engine {engine!r}")


def build_chain(make, n_ops: int):
    """x = exp(tanh(x * w + b)), repeated: n_ops nodes after the three leaves."""
    x, w, b = make(0.1), make(0.9), make(0.05)
    y = x
    for _ in range(n_ops // CHAIN_BLOCK):
        y = (y * w + b).tanh().exp()
    return y, (x, w, b)


def _in_big_stack(fn, *args):
    """Run fn in a thread with a large C stack (for engines that recurse)."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = fn(*args)
        except BaseException as error:  # reported, not swallowed
            result["error"] = error

    threading.stack_size(512 * 1024 * 1024)
    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


# ---------------------------------------------------------------------------
# W1: a 100,000-op chain


def w1(engine: str, repeats: int) -> dict:
    make = scalar_type(engine)
    n_ops = 100_000
    if engine == "micrograd":
        sys.setrecursionlimit(10 * n_ops)  # its recursive topological sort needs it

    def one_run() -> tuple[float, float]:
        start = clock()
        y, _ = build_chain(make, n_ops)
        middle = clock()
        y.backward()
        end = clock()
        return middle - start, end - middle

    runs = [_in_big_stack(one_run) for _ in range(repeats)]
    forward = statistics.median(r[0] for r in runs) / n_ops * 1e9
    backward = statistics.median(r[1] for r in runs) / n_ops * 1e9

    # Memory: peak traced bytes over forward and backward, per op, on a shorter chain
    # (micrograd's recursive backward runs very slowly under tracemalloc).
    memory_ops = 20_000

    def measured() -> tuple[float, bool]:
        gc.collect()
        was_enabled = gc.isenabled()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        y, leaves = build_chain(make, memory_ops)
        y.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
        # Is the graph freed by reference counting alone once dropped?
        gc.disable()
        del y
        left = tracemalloc.get_traced_memory()[0] - base
        if was_enabled:
            gc.enable()
        tracemalloc.stop()
        return peak / memory_ops, left < 0.05 * peak

    bytes_per_op, freed = _in_big_stack(measured)
    return {
        "forward_ns": forward,
        "backward_ns": backward,
        "total_ns": forward + backward,
        "bytes": bytes_per_op,
        "freed_by_refcount": freed,
        "repeats": repeats,
    }


# ---------------------------------------------------------------------------
# W2: deep chains at the default recursion limit


def w2(engine: str, repeats: int) -> dict:
    make = scalar_type(engine)
    results = {}
    # The fastest of a few builds for the short chains: one 2 ms or 25 ms timing is
    # mostly the machine's noise.
    for depth, times in ((10_000, 5), (100_000, 3), (1_000_000, 1)):
        try:
            elapsed = min(_timed_chain(make, depth) for _ in range(times))
            results[str(depth)] = {"ok": True, "seconds": elapsed}
        except RecursionError:
            results[str(depth)] = {"ok": False, "error": "RecursionError"}
            break  # deeper chains fail the same way; spare the time
    return {"depths": results, "recursion_limit": sys.getrecursionlimit()}


def _timed_chain(make, depth: int) -> float:
    """CPU seconds to build a chain ``depth`` ops deep and run its backward pass."""
    start = clock()
    try:
        y, _ = build_chain(make, depth)
        y.backward()
        return clock() - start
    finally:
        y = None
        gc.collect()


# ---------------------------------------------------------------------------
# W3: micrograd's demo (moons, MLP(2, [16, 16, 1]), max-margin loss, SGD)

ALPHA = 1e-4


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = 1):
    """Two interleaving half circles, labels -1 / +1 (the demo's data set)."""
    rng = np.random.default_rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = np.linspace(0.0, math.pi, n_out)
    inner = np.linspace(0.0, math.pi, n_in)
    X = np.vstack(
        [
            np.c_[np.cos(outer), np.sin(outer)],
            np.c_[1.0 - np.cos(inner), 1.0 - np.sin(inner) - 0.5],
        ]
    )
    X += rng.normal(scale=noise, size=X.shape)
    y = np.r_[-np.ones(n_out), np.ones(n_in)]
    return X, y


def initial_weights(sizes: list[int], seed: int = 1337) -> list[tuple[np.ndarray, np.ndarray]]:
    """micrograd's initialisation (w ~ U(-1, 1), b = 0), shared by every engine."""
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(-1.0, 1.0, size=(nout, nin)), np.zeros(nout))
        for nin, nout in zip(sizes[:-1], sizes[1:])
    ]


def build_mlp(engine: str, weights) -> Any:
    """The engine's own MLP (relu hidden layers, linear output) with the shared weights.

    Ours is ``nn.MLP`` (each neuron one variadic ``sum`` node); micrograd's is
    ``micrograd.nn.MLP`` (each neuron a chain of ``+`` nodes).
    """
    sizes = [weights[0][0].shape[1]] + [W.shape[0] for W, _ in weights]
    if engine == "micrograd":
        import micrograd_ext  # noqa: F401  (exp, tanh, log for the losses)
        from micrograd.nn import MLP

        model = MLP(sizes[0], sizes[1:])
        values = [v for W, b in weights for row, bias in zip(W, b) for v in (*row, bias)]
        for p, value in zip(model.parameters(), values):
            p.data = float(value)
        return model
    import nn

    model = nn.MLP(sizes[0], sizes[1:], activation="relu", output_activation="linear")
    model.load_state_dict(
        {
            key: array
            for i, (W, b) in enumerate(weights)
            for key, array in ((f"layers.{i}.weight", W), (f"layers.{i}.bias", b))
        }
    )
    return model


def score_of(output: Any) -> Any:
    """The one output of a model: nn returns a list, micrograd the Value itself."""
    return output[0] if isinstance(output, list) else output


def _demo_loss_scalar(model, X, y, make):
    scores = [score_of(model([make(float(v)) for v in row])) for row in X]
    losses = [(1 + -float(yi) * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def _accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((scores > 0) == (y > 0)))


def w3(engine: str, repeats: int) -> dict:
    X, y = make_moons()
    weights = initial_weights([2, 16, 16, 1])
    steps = 100 if repeats <= 0 else repeats  # repeats > 0: time only that many steps
    if engine in ("micrograd", "eager"):
        make = scalar_type(engine)
        model = build_mlp(engine, weights)
        params = model.parameters()
        times = []
        for k in range(steps):
            start = clock()
            loss = _demo_loss_scalar(model, X, y, make)
            for p in params:
                p.grad = 0.0
            loss.backward()
            rate = 1.0 - 0.9 * k / 100
            for p in params:
                p.data -= rate * p.grad
            times.append(clock() - start)
        scores = np.array([score_of(model([make(float(v)) for v in row])).data for row in X])
    elif engine == "fit":
        times, scores = _w3_fit(weights, X, y, steps)
    elif engine == "fit-trace":
        return _w3_fit_trace(weights, X, y)
    elif engine == "replay":
        times, scores = _w3_replay(weights, X, y, steps)
    elif engine == "numpy":
        times, scores = _w3_numpy(weights, X, y, steps)
    elif engine == "torch":
        times, scores = _w3_torch(weights, X, y, steps)
    else:
        raise ValueError(f"no W3 engine {engine!r}")
    return {
        "ms_per_step": statistics.fmean(times) * 1e3,
        "steps": steps,
        "accuracy": _accuracy(scores, y) if steps == 100 else None,
    }


def _w3_fit(weights, X, y, steps):
    """The same demo through the library's own training loop, ``nn.fit`` (eager engine).

    On the pure-Python node store ``fit`` pauses the cyclic garbage collector while a
    batch's graph is alive; on the compiled store it leaves the collector alone.
    """
    import nn

    model = build_mlp("eager", weights)
    stamps = [clock()]

    def record(epoch, history):
        stamps.append(clock())

    optimizer = nn.SGD(model.parameters(), lr=1.0)
    schedule = nn.LinearDecay(optimizer, start=1.0, end=0.1, total_steps=100)
    nn.fit(model, X, y, loss=nn.hinge_loss, optimizer=optimizer, epochs=steps,
           batch_size=len(X), regularizer=lambda m: nn.l2(m, ALPHA), scheduler=schedule,
           progress=False, callback=record, seed=0)
    times = [b - a for a, b in zip(stamps, stamps[1:])]
    scores = np.array([score_of(model([float(v) for v in row])).data for row in X])
    return times, scores


def _fit_per_step(run_epochs, short: int, long: int, steps_per_epoch: int,
                 rounds: int = 3) -> tuple[float, float]:
    """Seconds per step of a ``fit`` run, and its one-off set-up, by difference.

    ``run_epochs(epochs)`` runs ``fit`` from the same starting point and returns its
    CPU seconds. A step costs (time of ``long`` epochs - time of ``short`` epochs) /
    the steps between them: everything ``fit`` does per step and per epoch is in it,
    the one-off set-up (tracing the penalty, planning) cancels out. Each length is
    timed ``rounds`` times, alternating, and keeps its fastest.
    """
    timings: dict[int, list[float]] = {short: [], long: []}
    for _ in range(rounds):
        for epochs in (short, long):
            timings[epochs].append(run_epochs(epochs))
    fast_short, fast_long = min(timings[short]), min(timings[long])
    if fast_long <= fast_short:  # the set-up's noise is larger than the steps between
        raise RuntimeError(f"{long - short} epochs more took no longer ({fast_long:.4f} s "
                           f"vs {fast_short:.4f} s): too few steps to time by difference")
    per_step = (fast_long - fast_short) / ((long - short) * steps_per_epoch)
    return per_step, fast_short - short * steps_per_epoch * per_step


def _w3_fit_trace(weights, X, y) -> dict:
    """The demo through ``nn.fit(engine="trace")``: per step, end to end (see _fit_per_step).

    The model's loss is recorded by a first, untimed call (fit keeps it for the
    model); each timed call traces its own penalty, as a user's call does.
    """
    import nn

    model = build_mlp("eager", weights)
    initial = model.state_dict()

    def run_epochs(epochs: int) -> float:
        model.load_state_dict(initial)
        optimizer = nn.SGD(model, lr=1.0)
        schedule = nn.LinearDecay(optimizer, start=1.0, end=0.1, total_steps=100)
        start = clock()
        nn.fit(model, X, y, loss=nn.hinge_loss, optimizer=optimizer, epochs=epochs,
               batch_size=len(X), regularizer=lambda m: nn.l2(m, ALPHA), scheduler=schedule,
               progress=False, seed=0, engine="trace")
        return clock() - start

    run_epochs(1)
    per_step, setup = _fit_per_step(run_epochs, 5, 100, 1)
    run_epochs(100)
    scores = np.array([score_of(model([float(v) for v in row])).data for row in X])
    return {"ms_per_step": per_step * 1e3, "setup_ms": setup * 1e3, "steps": 100,
            "accuracy": _accuracy(scores, y)}


def _w3_replay(weights, X, y, steps):
    from autograd_core.functional import vsum
    from autograd_core.trace import trace

    model = build_mlp("eager", weights)
    params = model.parameters()
    per_sample = trace(
        lambda v: (1 + -v[2] * model(v[:2])[0]).relu(), [*X[0], y[0]], params=params
    )
    regulariser = trace(lambda _: ALPHA * vsum([p * p for p in params]), [], params=params)
    theta = np.array([p.data for p in params])
    batch = np.c_[X, y]
    no_inputs = np.empty((1, 0))
    times = []
    for k in range(steps):
        start = clock()
        _, data_grads = per_sample.value_and_grad(batch, param_values=theta)
        _, reg_grads = regulariser.value_and_grad(no_inputs, param_values=theta)
        theta -= (1.0 - 0.9 * k / 100) * (data_grads + reg_grads)
        times.append(clock() - start)
    for p, value in zip(params, theta.tolist()):
        p.data = value
    score_trace = trace(lambda v: model(v)[0], list(X[0]), params=params)
    return times, score_trace.forward(X)[:, 0]


def _w3_numpy(weights, X, y, steps):
    (W1, b1), (W2, b2), (W3, b3) = [(W.copy(), b.copy()) for W, b in weights]
    n = len(X)
    times = []

    def scores_of(X):
        h1 = np.maximum(X @ W1.T + b1, 0.0)
        h2 = np.maximum(h1 @ W2.T + b2, 0.0)
        return h1, h2, (h2 @ W3.T + b3)[:, 0]

    for k in range(steps):
        start = clock()
        h1, h2, s = scores_of(X)
        margin = 1.0 - y * s
        d_s = np.where(margin > 0.0, -y, 0.0) / n
        d_W3 = d_s[None, :] @ h2
        d_b3 = d_s.sum(keepdims=True)
        d_h2 = (d_s[:, None] @ W3) * (h2 > 0.0)
        d_W2 = d_h2.T @ h1
        d_b2 = d_h2.sum(axis=0)
        d_h1 = (d_h2 @ W2) * (h1 > 0.0)
        d_W1 = d_h1.T @ X
        d_b1 = d_h1.sum(axis=0)
        rate = 1.0 - 0.9 * k / 100
        for p, g in ((W1, d_W1), (b1, d_b1), (W2, d_W2), (b2, d_b2), (W3, d_W3), (b3, d_b3)):
            p -= rate * (g + 2.0 * ALPHA * p)
        times.append(clock() - start)
    return times, scores_of(X)[2]


def _w3_torch(weights, X, y, steps):
    import torch

    torch.set_num_threads(1)
    params = []
    for W, b in weights:
        params += [torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def scores_of():
        h = Xt
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = torch.relu(h)
        return h[:, 0]

    times = []
    for k in range(steps):
        start = clock()
        loss = torch.relu(1 - yt * scores_of()).mean() + ALPHA * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= (1.0 - 0.9 * k / 100) * p.grad
        times.append(clock() - start)
    with torch.no_grad():
        return times, scores_of().numpy()


# ---------------------------------------------------------------------------
# W5: a larger model trained in minibatches: MLP(2, [64, 64, 1]) on 1,000 moons points,
# batches of 100, SGD with momentum, max-margin loss with the demo's L2 penalty

W5_SIZES = [2, 64, 64, 1]
W5_POINTS, W5_BATCH, W5_EPOCHS = 1000, 100, 10
W5_LR, W5_MOMENTUM = 0.05, 0.9


def w5(engine: str, repeats: int) -> dict:
    """ms per step; every engine draws the same batches (one permutation per epoch)."""
    X, y = make_moons(W5_POINTS)
    weights = initial_weights(W5_SIZES, seed=5)
    steps_per_epoch = -(-len(X) // W5_BATCH)
    if engine == "fit-trace":
        per_step, setup, scores = _w5_fit_trace(weights, X, y, steps_per_epoch)
        extra = {"setup_ms": setup * 1e3}
    elif engine in ("numpy", "torch"):
        train = _w5_numpy if engine == "numpy" else _w5_torch
        runs = [train(weights, X, y) for _ in range(3)]
        per_step = min(seconds for seconds, _ in runs) / (W5_EPOCHS * steps_per_epoch)
        scores, extra = runs[0][1], {}
    else:
        raise ValueError(f"no W5 engine {engine!r}")
    return {"ms_per_step": per_step * 1e3, "steps": W5_EPOCHS * steps_per_epoch,
            "accuracy": _accuracy(scores, y), **extra}


def _batches(n: int, epoch_orders):
    """The index array of every minibatch, epoch after epoch (nn.fit's own draws)."""
    for order in epoch_orders:
        for start in range(0, n, W5_BATCH):
            yield order[start:start + W5_BATCH]


def _w5_fit_trace(weights, X, y, steps_per_epoch):
    import nn

    model = build_mlp("eager", weights)
    initial = model.state_dict()

    def run_epochs(epochs: int) -> float:
        model.load_state_dict(initial)
        optimizer = nn.SGD(model, lr=W5_LR, momentum=W5_MOMENTUM)
        start = clock()
        nn.fit(model, X, y, loss=nn.hinge_loss, optimizer=optimizer, epochs=epochs,
               batch_size=W5_BATCH, regularizer=lambda m: nn.l2(m, ALPHA), progress=False,
               seed=0, engine="trace")
        return clock() - start

    run_epochs(1)
    # 500 steps between the two lengths: about 65 ms at 0.13 ms a step, well above
    # the noise of the one-off set-up (tracing a 64 x 64 model) that cancels out.
    per_step, setup = _fit_per_step(run_epochs, 2, 2 + 5 * W5_EPOCHS, steps_per_epoch)
    run_epochs(W5_EPOCHS)
    from autograd_core.trace import trace

    score_trace = trace(lambda v: model(v)[0], list(X[0]), params=model.parameters())
    return per_step, setup, score_trace.forward(X)[:, 0]


def _w5_numpy(weights, X, y):
    """Hand-written minibatch training; returns (CPU seconds, final scores)."""
    params = [array.copy() for pair in weights for array in pair]
    buffers = [None] * len(params)
    rng = np.random.default_rng(0)

    def scores_of(X):
        W1, b1, W2, b2, W3, b3 = params
        h1 = np.maximum(X @ W1.T + b1, 0.0)
        h2 = np.maximum(h1 @ W2.T + b2, 0.0)
        return h1, h2, (h2 @ W3.T + b3)[:, 0]

    start = clock()
    orders = (rng.permutation(len(X)) for _ in range(W5_EPOCHS))
    for index in _batches(len(X), orders):
        Xb, yb = X[index], y[index]
        n = len(index)
        W1, b1, W2, b2, W3, b3 = params
        h1, h2, s = scores_of(Xb)
        margin = 1.0 - yb * s
        d_s = np.where(margin > 0.0, -yb, 0.0) / n
        d_h2 = (d_s[:, None] @ W3) * (h2 > 0.0)
        d_h1 = (d_h2 @ W2) * (h1 > 0.0)
        grads = (d_h1.T @ Xb, d_h1.sum(axis=0), d_h2.T @ h1, d_h2.sum(axis=0),
                 d_s[None, :] @ h2, d_s.sum(keepdims=True))
        for k, (p, g) in enumerate(zip(params, grads)):
            g = g + 2.0 * ALPHA * p
            buffers[k] = g if buffers[k] is None else W5_MOMENTUM * buffers[k] + g
            p -= W5_LR * buffers[k]
    seconds = clock() - start
    return seconds, scores_of(X)[2]


def _w5_torch(weights, X, y):
    """The same with PyTorch tensors and torch.optim.SGD (CPU, float64)."""
    import torch

    torch.set_num_threads(1)
    params = [torch.tensor(array, requires_grad=True) for pair in weights for array in pair]
    optimizer = torch.optim.SGD(params, lr=W5_LR, momentum=W5_MOMENTUM)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    rng = np.random.default_rng(0)

    def scores_of(inputs):
        h = inputs
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = torch.relu(h)
        return h[:, 0]

    start = clock()
    orders = (rng.permutation(len(X)) for _ in range(W5_EPOCHS))
    for index in _batches(len(X), orders):
        rows = torch.from_numpy(index)
        loss = torch.relu(1 - yt[rows] * scores_of(Xt[rows])).mean() + ALPHA * sum(
            (p * p).sum() for p in params)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = clock() - start
    with torch.no_grad():
        return seconds, scores_of(Xt).numpy()


# ---------------------------------------------------------------------------
# W4: MLP(64, [32, 10]), cross-entropy, one sample


def _scalar_cross_entropy(logits: list, target: int):
    shift = max(v.data for v in logits)
    total = sum((v - shift).exp() for v in logits[1:]) + (logits[0] - shift).exp()
    return total.log() + shift - logits[target]


def w4(engine: str, repeats: int) -> dict:
    rng = np.random.default_rng(4)
    weights = initial_weights([64, 32, 10], seed=4)
    x = rng.normal(size=64)
    target = 3
    if engine in ("micrograd", "eager"):
        make = scalar_type(engine)
        model = build_mlp(engine, weights)

        def step() -> float:
            loss = _scalar_cross_entropy(model([make(float(v)) for v in x]), target)
            loss.backward()
            return loss.data

    elif engine == "replay":
        from autograd_core.functional import logsumexp
        from autograd_core.trace import trace

        model = build_mlp("eager", weights)

        def loss_of(v):
            # The same loss: a trace refuses the max-logit shift read from .data (a
            # constant of the example's graph), and logsumexp is one stable op.
            logits = model(v)
            return logsumexp(logits) - logits[target]

        traced = trace(loss_of, list(x), params=model.parameters())
        batch = x[None, :]

        def step() -> float:
            return traced.value_and_grad(batch)[0]

    elif engine == "numpy":
        (W1, b1), (W2, b2) = weights

        def step() -> float:
            h = np.maximum(W1 @ x + b1, 0.0)
            z = W2 @ h + b2
            shift = z.max()
            e = np.exp(z - shift)
            loss = np.log(e.sum()) + shift - z[target]
            d_z = e / e.sum()
            d_z[target] -= 1.0
            _ = np.outer(d_z, h), d_z
            d_h = (W2.T @ d_z) * (h > 0.0)
            _ = np.outer(d_h, x), d_h
            return float(loss)

    elif engine == "torch":
        import torch

        torch.set_num_threads(1)
        (W1, b1), (W2, b2) = [
            (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
            for W, b in weights
        ]
        xt = torch.tensor(x)

        def step() -> float:
            z = W2 @ torch.relu(W1 @ xt + b1) + b2
            loss = torch.nn.functional.cross_entropy(z[None, :], torch.tensor([target]))
            loss.backward()
            return float(loss.detach())

    else:
        raise ValueError(f"no W4 engine {engine!r}")
    times = []
    for _ in range(repeats):
        start = clock()
        loss = step()
        times.append(clock() - start)
    return {"us_per_sample": statistics.median(times) * 1e6, "loss": loss, "repeats": repeats}


def blas_kernel() -> str:
    """The kernel OpenBLAS chose for this processor (numpy's bundled build), if known."""
    import ctypes
    import glob

    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
        library = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename"):
            corename = getattr(library, name, None)
            if corename is not None:
                corename.restype = ctypes.c_char_p
                return corename().decode()
    return "unknown"


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}


def main(argv: list[str]) -> None:
    workload, engine = argv[0], argv[1]
    if workload == "blas":
        print(json.dumps({"kernel": blas_kernel()}))
        return
    repeats = int(argv[2]) if len(argv) > 2 else 3
    if engine.endswith(NO_GC):
        # The cyclic collector paused for the whole run: our graphs have no cycles,
        # so reference counting frees them anyway; micrograd's closures leak until
        # the run ends.
        engine = engine[: -len(NO_GC)]
        gc.disable()
    if engine.endswith(PURE):
        os.environ["AUTOGRAD_CORE_PURE"] = "1"  # read when autograd_core is imported
        engine = engine[: -len(PURE)]
    result = WORKLOADS[workload](engine, repeats)
    if "autograd_core" in sys.modules:
        result["core"] = sys.modules["autograd_core"].CORE  # which node store ran
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
