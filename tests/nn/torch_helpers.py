"""Shared pieces of the PyTorch tests: nn's gradients as state-shaped arrays."""

import numpy as np


def grad_arrays(model) -> list[np.ndarray]:
    """Each parameter's ``grad``, laid out as ``model.state_dict()`` lays out the values.

    Reads the index in each ``named_parameters()`` name (``layers.0.weight[2, 1]``), so
    it also checks that those names point where the state says.
    """
    grads = {key: np.full(value.shape, np.nan) for key, value in model.state_dict().items()}
    for name, param in model.named_parameters():
        key, _, index = name.partition("[")
        position = tuple(int(i) for i in index.rstrip("]").split(", ")) if index else ()
        grads[key][position] = param.grad
    return list(grads.values())


def torch_grads(module) -> list[np.ndarray]:
    return [p.grad.detach().numpy().copy() for p in module.parameters()]


def as_outputs(output) -> list:
    """A model's output for one sample as a list of floats."""
    items = output if isinstance(output, list) else [output]
    return [getattr(v, "data", v) for v in items]
