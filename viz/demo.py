"""The demo: train micrograd's moons MLP, then draw it every way viz can.

Run with ``python -m viz demo`` (or ``make demo``). Writes to ``out/``: the forward and
backward graph of one trained neuron, the step-through page of its backward pass, the
whole MLP's graph with one node per neuron, the network diagram, the decision boundary
and the loss curves.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from autograd_core import Value

from ._render import atomic_write
from .graph import to_svg
from .network import draw_network
from .steps import StepThrough

__all__ = ["run_demo"]


def run_demo(out_dir: str | os.PathLike = "out", steps: int = 100, seed: int = 1) -> list[Path]:
    """Train ``MLP(2, [16, 16, 1])`` on 100 moons points and write the pictures.

    The training follows micrograd's demo: hinge loss ``mean(relu(1 - y score))`` plus
    ``1e-4`` times the sum of squared parameters, full batch, learning rate
    ``1.0 - 0.9 k / 100``.

    Args:
        out_dir: folder for the files (created if missing).
        steps: training steps (epochs of the full batch).
        seed: seeds the data and the initial weights.

    Returns:
        The paths written, in order.
    """
    import nn

    from .plots import plot_decision_boundary, plot_history

    if type(steps) is not int or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    out = Path(out_dir)
    X, y = nn.make_moons(100, noise=0.1, seed=seed)
    signs = 2 * y - 1  # the hinge loss wants labels -1 / +1
    model = nn.MLP(2, [16, 16, 1], seed=seed)
    print(f"training MLP(2, [16, 16, 1]) ({len(model.parameters())} parameters) on "
          f"{len(X)} moons points for {steps} steps")
    optimizer = nn.SGD(model, lr=1.0)
    schedule = nn.LinearDecay(optimizer, start=1.0, end=0.1, total_steps=100)
    history = nn.fit(
        model, X, signs, loss=nn.hinge_loss, optimizer=optimizer, epochs=steps,
        regularizer=lambda m: nn.l2(m, 1e-4), scheduler=schedule, progress=True, seed=seed,
    )
    print(f"final loss {history.loss[-1]:.4f}, accuracy {nn.accuracy(model, X, signs):.0%}")

    written: list[Path] = []

    def save(name: str, data: Any) -> None:
        written.append(atomic_write(out / name, data))

    neuron_output = _one_neuron(model, X)
    save("neuron_forward.svg", to_svg(neuron_output, precision=3))
    save("neuron_backward.svg", to_svg(neuron_output, mode="backward", precision=3))
    steps_page = StepThrough(neuron_output, precision=3)
    written.append(steps_page.save_html(out / "neuron_steps.html"))
    inputs = [Value(float(v), f"x{i + 1}") for i, v in enumerate(X[0])]
    score = model(inputs)[0]
    score.label = "score"
    save("mlp_graph.svg", to_svg(score, mode="backward", collapse="neurons", precision=2))
    save("network.svg", to_svg(draw_network(model, output_names=["score"])))
    for name, figure in (
        ("decision_boundary.png", plot_decision_boundary(model, X, y)),
        ("loss.png", plot_history(history, title="Moons MLP")),
    ):
        save(name, lambda stream, figure=figure: figure.savefig(stream, format="png"))
    print("wrote:")
    for path in written:
        print(f"  {path}")
    print(f"open {out / 'neuron_steps.html'} in a browser to step through the backward pass")
    return written


def _one_neuron(model, X) -> Value:
    """A first-layer neuron of the trained model on the first point, with named nodes.

    Picks a neuron whose relu is active there, so the backward pass has non-zero deltas.
    """
    x = [Value(float(v), f"x{i + 1}") for i, v in enumerate(X[0])]
    neurons = model.layers[0].neurons
    chosen = next((n for n in neurons if n(x).data > 0), neurons[0])
    for i, weight in enumerate(chosen.w):
        weight.label = f"w{i + 1}"
    chosen.b.label = "b"
    output = chosen(x)
    output.label = "h"
    return output
