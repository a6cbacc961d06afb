"""Determinism: same seed, same history and weights; same graph, same SVG bytes; and no
order anywhere depends on Python's string hashing (checked across PYTHONHASHSEED values).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nn
from autograd_core import Value
from viz import to_svg

ROOT = Path(__file__).resolve().parents[2]


def train(engine: str, optimizer: str):
    X, y = nn.make_moons(40, noise=0.15, seed=0)
    X_train, X_val, y_train, y_val = nn.train_test_split(X, y, test_size=0.25, seed=2)
    model = nn.MLP(2, [8, 2], activation="tanh", seed=3)
    make = {"sgd": lambda: nn.SGD(model, lr=0.3, momentum=0.9),
            "adam": lambda: nn.Adam(model, lr=0.05)}[optimizer]
    history = nn.fit(model, X_train, y_train, loss=nn.cross_entropy, optimizer=make(), epochs=4,
                     batch_size=7, seed=1, validation=(X_val, y_val), progress=False,
                     engine=engine, regularizer=lambda m: nn.l2(m, 1e-3))
    return history, model.state_dict()


@pytest.mark.parametrize("engine", ["eager", "trace"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_same_seed_gives_the_same_history_and_weights(engine, optimizer):
    first, first_state = train(engine, optimizer)
    second, second_state = train(engine, optimizer)
    assert first.loss == second.loss and len(first.loss) == 4
    assert first.accuracy == second.accuracy
    assert first.val_loss == second.val_loss and first.val_accuracy == second.val_accuracy
    assert first.lr == second.lr
    assert first.loss[-1] < first.loss[0]  # it did train
    assert first_state.keys() == second_state.keys()
    for key in first_state:
        assert first_state[key].tobytes() == second_state[key].tobytes(), key


def test_a_different_shuffling_seed_gives_a_different_history():
    """The seed is really used (otherwise the test above could not fail)."""
    X, y = nn.make_moons(40, noise=0.15, seed=0)
    histories = []
    for seed in (1, 2):
        model = nn.MLP(2, [8, 2], activation="tanh", seed=3)
        histories.append(nn.fit(model, X, y, loss=nn.cross_entropy,
                                optimizer=nn.SGD(model, lr=0.3), epochs=2, batch_size=7,
                                seed=seed, progress=False).loss)
    assert histories[0] != histories[1]


def neuron(x: float) -> Value:
    inputs = [Value(x, "x1"), Value(-2.0 * x, "x2")]
    weights = [Value(0.5, "w1"), Value(-1.5, "w2")]
    total = inputs[0] * weights[0] + inputs[1] * weights[1] + Value(0.25, "b")
    return total.tanh() * inputs[0]  # x1 is used twice (fan-out)


def test_the_same_graph_gives_the_same_svg_bytes():
    first = to_svg(neuron(0.5), mode="backward").encode("utf-8")
    again = to_svg(neuron(0.5), mode="backward").encode("utf-8")
    assert first == again
    assert first != to_svg(neuron(0.7), mode="backward").encode("utf-8")


# What the subprocesses print: every order that users see, and the pictures.
SCRIPT = textwrap.dedent("""
    import json, sys
    import nn
    from autograd_core import Value, topological_order
    from viz import StepThrough, draw_graph, parse_formula, to_svg

    formula = parse_formula("tanh(wx*x + wy*y + bias) * x + max(alpha, beta) + sum(x, y, z)")
    point = dict(x=0.5, y=-1.0, z=2.0, wx=0.3, wy=-0.7, bias=0.1, alpha=1.0, beta=2.0)
    root = formula.build(point)
    model = nn.MLP(2, [3, 2], activation="tanh", seed=0)
    score = nn.cross_entropy(model([Value(0.5, "in0"), Value(-1.0, "in1")]), 1)
    report = {
        "hash_of_x": hash("x"),
        "names": list(formula.names),
        "order": [node.label or node.op for node in topological_order(root)],
        "model_order": [node.label or node.op for node in topological_order(score)],
        "parameters": [name for name, _ in model.named_parameters()],
        "state": list(model.state_dict()),
        "dot": draw_graph(root, mode="backward").source,
        "svg": to_svg(root, mode="backward"),
        "svg_model": to_svg(score, collapse="neurons"),
        "captions": StepThrough(parse_formula("x*y + x").build(x=3.0, y=-1.0)).captions,
    }
    json.dump(report, sys.stdout)
""")


def run_with_hash_seed(seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_no_order_and_no_picture_depends_on_string_hashing():
    reports = [run_with_hash_seed(seed) for seed in ("0", "1", "4242")]
    hashes = {report.pop("hash_of_x") for report in reports}
    assert len(hashes) == 3  # hashing really differed between the processes
    first = reports[0]
    assert first["names"] == ["wx", "x", "wy", "y", "bias", "alpha", "beta", "z"]
    assert first["order"][:2] == ["wx", "x"] and len(first["order"]) > 15
    assert first["svg"].lstrip().startswith("<?xml") and "bias" in first["svg"]
    for other in reports[1:]:
        for key in first:
            assert other[key] == first[key], f"{key} depends on PYTHONHASHSEED"
