"""Moving models to PyTorch and back: :func:`to_torch` and :func:`from_torch`.

A dense layer (``Neuron``, ``Layer``, the linear models) becomes a ``torch.nn.Linear``
with the same ``[out, in]`` weight and bias, followed by torch's module for its
activation (none for "linear"); an ``MLP`` or ``Sequential`` becomes one flat
``torch.nn.Sequential``; ``Residual``, ``Highway``, ``DenseBlock`` and
``PositionalEncoding`` become the modules of :mod:`nn.torch_modules`. A module used in
two places is converted once, so shared weights stay shared.

Both directions are a table (one row per kind of module) and one iterative
post-order walk: children are converted before their parent, without recursion.

PyTorch is an optional dependency (the ``torch`` extra); it is imported on the first
call, never by ``import nn``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from operator import methodcaller
from typing import Any

from autograd_core import RULES

from .layers import (
    ACTIVATIONS,
    MLP,
    DenseBlock,
    Highway,
    Layer,
    Neuron,
    PositionalEncoding,
    Residual,
    Sequential,
)
from .module import Module

__all__ = ["to_torch", "from_torch"]

# torch.nn's activation modules that compute exactly what nn's activation of the same
# name computes (ReLU is "relu", LeakyReLU "leaky_relu"), built with the rule's default
# attributes (LeakyReLU's slope). nn.ACTIVATIONS has more (every one-input rule of the
# table); a layer with another activation is refused, naming it.
_EXACT_TORCH_MODULES = ("ReLU", "Tanh", "Sigmoid", "LeakyReLU")


def _torch_activations() -> dict[str, str | None]:
    """nn's activation name -> torch.nn class name (None for "linear": a bare Linear)."""
    table: dict[str, str | None] = {"linear": None}
    for torch_name in _EXACT_TORCH_MODULES:
        for name in ACTIVATIONS:
            if name.replace("_", "") == torch_name.lower():
                table[name] = torch_name
    return table


def _torch_activation(torch: Any, name: str) -> Any:
    """torch's module for nn's activation ``name`` (one of ``_torch_activations()``)."""
    torch_name = _torch_activations()[name]
    return getattr(torch.nn, torch_name)(*RULES[name].defaults)


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise ImportError("nn.to_torch and nn.from_torch need PyTorch: install this "
                          "package's 'torch' extra (torch==2.13.0, the CPU build)") from error


def _post_order(root: Any, children: Callable[[Any, str], list[tuple[str, Any]]],
                build: Callable[[Any, str, list[Any]], Any]) -> Any:
    """``build(node, path, converted_children)`` for every node, children first.

    Iterative; a node reached twice (shared) is built once and its result reused.
    """
    done: dict[int, Any] = {}
    stack: list[tuple[Any, str, list[tuple[str, Any]] | None]] = [(root, "", None)]
    while stack:
        node, path, kids = stack.pop()
        if id(node) in done:
            continue
        if kids is None:
            kids = children(node, path)
            stack.append((node, path, kids))
            stack.extend((child, child_path, None) for child_path, child in reversed(kids)
                         if id(child) not in done)
            continue
        done[id(node)] = build(node, path, [done[id(child)] for _, child in kids])
    return done[id(root)]


def _where(path: str, node: Any) -> str:
    return f"{path!r} ({type(node).__name__})" if path else f"the model ({type(node).__name__})"


def _child_paths(path: str, named: Any) -> list[tuple[str, Any]]:
    prefix = f"{path}." if path else ""
    return [(prefix + name, child) for name, child in named]


# -- nn -> torch ----------------------------------------------------------------------


def _builtin_activation(layer: Module) -> bool:
    """Whether the layer's activation is one torch has, chosen by name (not a callable)."""
    name = layer.activation  # type: ignore[attr-defined]
    if name not in _torch_activations():
        return False
    neurons = [layer] if isinstance(layer, Neuron) else layer.neurons  # type: ignore
    by_name = repr(ACTIVATIONS[name]) if name != "linear" else None
    return all(n._activation_fn is ACTIVATIONS["linear"] if name == "linear" else
               isinstance(n._activation_fn, methodcaller) and repr(n._activation_fn) == by_name
               for n in neurons)


def to_torch(model: Module, *, dtype: Any = None) -> Any:
    """A ``torch.nn.Module`` that computes what ``model`` computes, with its weights.

    Dense layers become ``torch.nn.Linear`` (``weight`` ``[out, in]``, ``bias``) and
    torch's activation module; chains become one flat ``torch.nn.Sequential``; the
    blocks become :mod:`nn.torch_modules`. The torch module takes a tensor ``[..., nin]``
    and returns ``[..., nout]`` (a ``Neuron``'s single output as ``[..., 1]``).
    Parameters appear in the same order as in ``model.state_dict()``.

    Args:
        model: an nn model made of Neuron, Layer, MLP, Sequential, the linear models,
            Residual, Highway, DenseBlock and PositionalEncoding, with the activations
            of ``nn.ACTIVATIONS``.
        dtype: the parameters' torch dtype; ``torch.float64`` (the default) keeps
            nn's numbers exactly.

    Raises:
        TypeError: ``model`` is not a Module, or a part of it has no PyTorch form (a
            custom activation, a Module class of your own or a subclass); the message
            names the first such part by its path in ``named_modules()``.
        ImportError: PyTorch is not installed.

    Example:
        >>> import nn, torch
        >>> model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
        >>> net = nn.to_torch(model)
        >>> net
        Sequential(
          (0): Linear(in_features=2, out_features=3, bias=True)
          (1): Tanh()
          (2): Linear(in_features=3, out_features=1, bias=True)
        )
        >>> out = net(torch.tensor([0.5, -1.0], dtype=torch.float64))
        >>> abs(out.item() - model([0.5, -1.0])[0].data) < 1e-12
        True
    """
    if not isinstance(model, Module):
        raise TypeError(f"to_torch takes an nn Module; got {model!r}")
    torch = _torch()
    from . import models, torch_modules

    dtype = torch.float64 if dtype is None else dtype
    chains = (MLP, Sequential, models.Perceptron, models.LogisticRegression,
              models.SoftmaxRegression)

    def dense(layer: Module, path: str) -> Any:
        name = layer.activation  # type: ignore[attr-defined]
        if not _builtin_activation(layer):
            raise TypeError(f"to_torch: cannot convert {_where(path, layer)}: its activation "
                            f"{name!r} has no PyTorch module here (convertible: "
                            f"{list(_torch_activations())}, chosen by name)")
        weight, bias = layer.weight, layer.bias  # type: ignore[attr-defined]
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(weight))
            linear.bias.copy_(torch.as_tensor(bias))
        if name == "linear":
            return linear
        return torch.nn.Sequential(linear, _torch_activation(torch, name))

    def chain(parts: list[Any]) -> Any:
        """One flat torch Sequential of the parts (nested plain Sequentials inlined)."""
        flat: list[Any] = []
        for part in parts:
            flat.extend(part if type(part) is torch.nn.Sequential else [part])
        return flat[0] if len(flat) == 1 else torch.nn.Sequential(*flat)

    def children(node: Module, path: str) -> list[tuple[str, Module]]:
        if type(node) in chains or type(node) in (Residual, Highway, DenseBlock):
            return _child_paths(path, node.named_children())
        return []

    def build(node: Module, path: str, parts: list[Any]) -> Any:
        kind = type(node)
        if kind in (Neuron, Layer):
            return dense(node, path)
        if kind in chains:
            return chain(parts)
        if kind is Residual:
            return torch_modules.Residual(parts[0])
        if kind is Highway:
            return torch_modules.Highway(*parts)
        if kind is DenseBlock:
            return torch_modules.DenseBlock(parts)
        if kind is PositionalEncoding:
            return torch_modules.PositionalEncoding(node.num_frequencies, node.include_input)
        raise TypeError(f"to_torch: cannot convert {_where(path, node)}: PyTorch forms exist "
                        "for Neuron, Layer, MLP, Sequential, the linear models, Residual, "
                        "Highway, DenseBlock and PositionalEncoding (not their subclasses)")

    return _post_order(model, children, build)


# -- torch -> nn ----------------------------------------------------------------------


class _Activation:
    """An activation module read on its own; its Sequential folds it into the Linear before."""

    def __init__(self, name: str) -> None:
        self.name = name


def _activation_name(torch: Any, module: Any) -> str | None:
    """nn's name for a torch activation module, or None if it is not one nn has."""
    if type(module) is torch.nn.Identity:
        return "linear"
    for name, torch_name in _torch_activations().items():
        if torch_name is not None and type(module) is getattr(torch.nn, torch_name):
            # the same attributes as the rule's defaults (LeakyReLU's slope), or not ours
            same = _maths_attributes(module) == _maths_attributes(_torch_activation(torch, name))
            return name if same else None
    return None


def _maths_attributes(module: Any) -> dict[str, Any]:
    """An activation module's public attributes that change what it computes.

    ``inplace`` only says where torch writes the result, and ``training`` is the
    module's mode; neither changes the numbers.
    """
    return {key: value for key, value in vars(module).items()
            if not key.startswith("_") and key not in ("inplace", "training")}


def _layer(weight: Any, bias: Any, activation: str) -> Layer:
    """A ``Layer`` with these weights ``[out, in]`` and biases (float64 arrays)."""
    layer = Layer(weight.shape[1], weight.shape[0], activation, init="zeros")
    layer.weight, layer.bias = weight, bias
    return layer


def _assemble(parts: list[Module]) -> Module:
    """One nn module for a chain: a Layer, an MLP, or a Sequential of the parts."""
    layers: list[Module] = []
    for part in parts:
        layers.extend(part.layers if type(part) is MLP else [part])
    if not all(type(layer) is Layer for layer in layers):
        return parts[0] if len(parts) == 1 else Sequential(*parts)
    if len(layers) == 1:
        return layers[0]
    hidden = {layer.activation for layer in layers[:-1]}
    joined = all(a.nout == b.nin for a, b in zip(layers, layers[1:]))
    if len(hidden) != 1 or not joined:
        return Sequential(*layers)
    model = MLP(layers[0].nin, [layer.nout for layer in layers], activation=hidden.pop(),
                output_activation=layers[-1].activation, init="zeros")
    for target, source in zip(model.layers, layers):
        target.weight, target.bias = source.weight, source.bias
    return model


def _single_layer(part: Any) -> Layer | None:
    return part if type(part) is Layer else None


def from_torch(module: Any) -> Module:
    """The nn model of a PyTorch module made of the parts :func:`to_torch` produces.

    ``torch.nn.Linear`` (with bias), optionally followed by ``ReLU``, ``Tanh``,
    ``Sigmoid``, ``LeakyReLU(0.01)`` or ``Identity``, becomes a ``Layer``; a
    ``torch.nn.Sequential`` of such layers becomes an ``MLP`` when its hidden layers
    share one activation (else a ``Sequential``), and one layer alone a ``Layer``;
    :mod:`nn.torch_modules` blocks become nn's blocks. Weights are copied as float64.

    Raises:
        TypeError: ``module`` is not a ``torch.nn.Module``, or a part of it has no nn
            form (a convolution, a Linear without bias, an activation that follows no
            Linear, ...); the message names the first such part by its path in
            ``named_modules()``.
        ImportError: PyTorch is not installed.

    Example:
        >>> import nn, torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(),
        ...                           torch.nn.Linear(4, 1))
        >>> model = nn.from_torch(net)
        >>> type(model).__name__, model.nouts, model.layers[0].activation
        ('MLP', [4, 1], 'relu')
    """
    torch = _torch()
    from . import torch_modules

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch takes a torch.nn.Module; got {module!r}")
    containers = (torch.nn.Sequential, torch_modules.Residual, torch_modules.Highway)

    def refuse(path: str, node: Any, why: str) -> TypeError:
        return TypeError(f"from_torch: cannot convert {_where(path, node)}: {why}")

    def children(node: Any, path: str) -> list[tuple[str, Any]]:
        if type(node) is torch.nn.Sequential:  # by position: a module may repeat
            return _child_paths(path, [(str(i), child) for i, child in enumerate(node)])
        if type(node) in containers:
            return _child_paths(path, node.named_children())
        if type(node) is torch_modules.DenseBlock:
            return _child_paths(f"{path}.layers" if path else "layers",
                                node.layers.named_children())
        return []

    def dense(path: str, node: Any) -> Layer:
        if node.bias is None:
            raise refuse(path, node, "nn's layers always have a bias")
        return _layer(node.weight.detach().cpu().double().numpy(),
                      node.bias.detach().cpu().double().numpy(), "linear")

    def sequence(path: str, node: Any, converted: list[Any]) -> Module:
        """Linear + activation pairs become Layers; the parts are then assembled."""
        parts: list[Module] = []
        previous: Any = None
        for (name, child), item in zip(children(node, ""), converted):
            if isinstance(item, _Activation):
                if type(previous) is not torch.nn.Linear:
                    raise refuse(_child_paths(path, [(name, child)])[0][0], child,
                                 "an activation must follow a Linear")
                parts[-1] = _layer(parts[-1].weight, parts[-1].bias, item.name)
            else:
                parts.append(item)
            previous = child
        if not parts:
            raise refuse(path, node, "an empty Sequential")
        return _assemble(parts)

    def one(path: str, node: Any, item: Any) -> Module:
        if isinstance(item, _Activation):
            raise refuse(path, node, "an activation must follow a Linear inside a Sequential")
        return item

    def build(node: Any, path: str, converted: list[Any]) -> Any:
        kind = type(node)
        activation = _activation_name(torch, node)
        if activation is not None:
            return _Activation(activation)
        if kind is torch.nn.Linear:
            return dense(path, node)
        if kind is torch.nn.Sequential:
            return sequence(path, node, converted)
        parts = [one(p, c, item) for (p, c), item in zip(children(node, path), converted)]
        if kind is torch_modules.Residual:
            return Residual(parts[0])
        if kind is torch_modules.Highway:
            return _highway(path, node, parts, refuse)
        if kind is torch_modules.DenseBlock:
            return _dense_block(path, node, parts, refuse)
        if kind is torch_modules.PositionalEncoding:
            return PositionalEncoding(node.num_frequencies, include_input=node.include_input)
        raise refuse(path, node, "nn has forms for Linear (+ ReLU, Tanh, Sigmoid, "
                     "LeakyReLU(0.01), Identity), Sequential and nn.torch_modules' blocks")

    return one("", module, _post_order(module, children, build))


def _highway(path: str, node: Any, parts: list[Module],
             refuse: Callable[[str, Any, str], TypeError]) -> Highway:
    transform, gate = (_single_layer(part) for part in parts)
    if transform is None or gate is None or gate.activation != "sigmoid" \
            or transform.nin != transform.nout or gate.weight.shape != transform.weight.shape:
        raise refuse(path, node, "a Highway needs a square Linear + activation transform "
                     "and a Linear + Sigmoid gate of the same size")
    block = Highway(transform.nin, transform.activation, init="zeros")
    block.transform.weight, block.transform.bias = transform.weight, transform.bias
    block.gate.weight, block.gate.bias = gate.weight, gate.bias
    return block


def _dense_block(path: str, node: Any, parts: list[Module],
                 refuse: Callable[[str, Any, str], TypeError]) -> DenseBlock:
    layers = [_single_layer(part) for part in parts]
    if not layers or any(layer is None for layer in layers):
        raise refuse(path, node, "a DenseBlock's layers must each be a Linear + activation")
    nin, growth = layers[0].nin, layers[0].nout
    shapes_fit = all(layer.nin == nin + i * growth and layer.nout == growth
                     for i, layer in enumerate(layers))
    activations = {layer.activation for layer in layers}
    if not shapes_fit or len(activations) != 1:
        raise refuse(path, node, "a DenseBlock's layers must grow by the same width and "
                     "share one activation")
    block = DenseBlock(nin, growth, len(layers), activations.pop(), init="zeros")
    for target, source in zip(block.layers, layers):
        target.weight, target.bias = source.weight, source.bias
    return block
