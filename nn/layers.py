"""Neurons, layers and the blocks built from them.

A ``Neuron`` computes ``activation(sum_i w_i x_i + b)``; its weighted sum is one
variadic ``sum`` node of the engine (small graphs, fast backward). ``Layer`` and
``MLP`` always return a **list** of Values, even with one output, so a one-output
model's score is ``model(x)[0]`` (micrograd returns a bare Value there, which breaks
code written for the general case).

The public shape (what ``viz``, ``fit`` and ``to_torch`` read; nothing else is promised):

* a *dense layer* (``Neuron``, ``Layer``) has ``nin``, ``nout``, ``activation`` (a name
  from ``ACTIVATIONS``, or a callable's ``__name__``), ``weight`` (a float64 array
  ``[nout, nin]``) and ``bias`` (``[nout]``), both read as copies and written by
  assignment, and ``forward_values(values)``: its outputs, as a list, for a list of
  ``nin`` numbers or Values;
* every ``Module`` has ``dense_layers()`` (the dense layers a chain model applies,
  first to last; ``TypeError`` for a model that is not such a chain) and
  ``output_activation`` (the last dense layer's activation, or None);
* ``nn.predict_scores``, ``nn.predict_proba`` and ``nn.predict`` evaluate any model.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import methodcaller
from typing import Any, Union

import numpy as np

from autograd_core import RULES, Value, apply_op

from ._checks import check_bool, check_int, check_real, check_real_array
from .initializers import check_init, init_weights, make_rng
from .module import Module

__all__ = [
    "ACTIVATIONS",
    "Neuron",
    "Layer",
    "MLP",
    "Sequential",
    "Residual",
    "Highway",
    "DenseBlock",
    "PositionalEncoding",
]

Scalar = Union[Value, float, int]
Activation = Union[str, Callable[[Value], Value]]


def _identity(x: Value) -> Value:
    return x


class _Activations(Mapping[str, Callable[[Value], Value]]):
    """The activations a layer accepts by name, read from the rule table at every use.

    ``"linear"`` (the identity), and every one-input rule of
    :data:`autograd_core.RULES` with a ``Value`` method whose attributes all have
    defaults (``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"leaky_relu"`` with slope 0.01
    as PyTorch's default, ...; a rule registered later too). Each is the method called
    by name, so a replaced rule is used at once.
    """

    def _names(self) -> list[str]:
        return ["linear"] + [rule.method for rule in RULES.values()
                             if rule.arity == 1 and rule.method is not None
                             and len(rule.defaults) == len(rule.params)]

    def __getitem__(self, name: str) -> Callable[[Value], Value]:
        if name not in self._names():
            raise KeyError(name)
        return _identity if name == "linear" else methodcaller(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: The activations a layer accepts by name, each a function of one Value.
ACTIVATIONS: Mapping[str, Callable[[Value], Value]] = _Activations()


def resolve_activation(activation: Activation) -> tuple[str, Callable[[Value], Value]]:
    """(name, function) for an activation name or a callable ``Value -> Value``."""
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; known: {list(ACTIVATIONS)} "
                "or a callable taking and returning a Value")
        return activation, ACTIVATIONS[activation]
    if callable(activation):
        return getattr(activation, "__name__", type(activation).__name__), activation
    raise TypeError(
        f"activation must be a name {list(ACTIVATIONS)} or a callable; got {activation!r}")


def as_inputs(x: Any, nin: int | None, where: str) -> list:
    """One sample as a list of numbers/Values, with its length checked against ``nin``.

    A numpy row becomes floats; a lone number or Value is accepted when ``nin`` is 1.
    """
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"{where}: expected one sample (a 1-D array); got shape {x.shape}")
        items = x.tolist()
    elif isinstance(x, (list, tuple)):
        items = list(x)
    elif isinstance(x, (Value, int, float, np.number)) and not isinstance(x, bool):
        items = [x]
    else:
        raise TypeError(f"{where}: expected a sequence of numbers or Values; got {x!r}")
    if nin is not None and len(items) != nin:
        raise ValueError(f"{where}: expected {nin} inputs, got {len(items)}")
    return items


def _weighted_sum(weights: list[Value], inputs: Sequence[Scalar], bias: Value) -> Value:
    return apply_op("sum", *[w * x for w, x in zip(weights, inputs)], bias)


def _checked_values(inputs: Sequence[Scalar], nin: int, where: str) -> list:
    """``inputs`` as a list of ``nin`` items (numbers or Values), for ``forward_values``."""
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{where}.forward_values takes a list of numbers or Values; "
                        f"got {inputs!r}")
    if len(inputs) != nin:
        raise ValueError(f"{where}.forward_values: expected {nin} inputs, got {len(inputs)}")
    return list(inputs)


def _read_array(values: list[Value], shape: tuple[int, ...]) -> np.ndarray:
    return np.array([v.data for v in values], dtype=np.float64).reshape(shape)


def _write_array(values: list[Value], array: Any, shape: tuple[int, ...], where: str) -> None:
    """Copy ``array`` into the Values, after checking all of it (nothing half-written)."""
    try:
        numbers = np.asarray(array)
    except Exception as error:  # ragged lists and the like
        raise ValueError(f"{where}: expected an array of shape {shape}; got {array!r}"
                         ) from error
    if numbers.dtype.kind not in "fiu":
        raise TypeError(f"{where}: expected real numbers of shape {shape}; got {array!r}")
    if numbers.shape != shape:
        raise ValueError(f"{where}: expected shape {shape}, got {numbers.shape}")
    # checked after the conversion: a long double beyond float64 would become inf
    for value, number in zip(values, check_real_array(numbers, where).ravel().tolist()):
        value.data = number


class Neuron(Module):
    """One neuron: ``activation(w . x + b)``.

    Args:
        nin: number of inputs.
        activation: "relu", "tanh", "sigmoid", "leaky_relu", "linear" (any name of
            :data:`ACTIVATIONS`), or a callable
            taking and returning a Value.
        init: weight scheme, see :mod:`nn.initializers` ("uniform" is micrograd's).
        seed: seed for the weights (or pass ``rng``).
        rng: a ``numpy.random.Generator`` to draw from.
        fan_out: width of the layer the neuron belongs to (used by "xavier").

    Example:
        >>> n = Neuron(2, "tanh", seed=0)
        >>> y = n([1.0, -2.0])
        >>> y.op, len(n.parameters())
        ('tanh', 3)
    """

    _repr_children = False
    _is_dense_layer = True

    def __init__(self, nin: int, activation: Activation = "relu", *, init: str = "uniform",
                 seed: int | None = None, rng: np.random.Generator | None = None,
                 fan_out: int = 1) -> None:
        self.nin = check_int(nin, "nin")
        self.activation, self._activation_fn = resolve_activation(activation)
        check_init(init)
        generator = make_rng(seed, rng)
        self.w = [Value(x) for x in init_weights(init, self.nin, fan_out, generator)]
        self.b = Value(0.0)
        self.nout = 1

    def forward(self, x: Any) -> Value:
        """The neuron's output for one sample of ``nin`` numbers or Values."""
        return self._output(as_inputs(x, self.nin, "Neuron"))

    def forward_values(self, inputs: Sequence[Scalar]) -> list[Value]:
        """The output as a one-element list (a neuron is a layer of one)."""
        return [self._output(_checked_values(inputs, self.nin, "Neuron"))]

    def _output(self, inputs: Sequence[Scalar]) -> Value:
        return self._activation_fn(_weighted_sum(self.w, inputs, self.b))

    @property
    def weight(self) -> np.ndarray:
        """The weights as a ``[1, nin]`` float64 array (a copy); assign an array to write."""
        return _read_array(self.w, (1, self.nin))

    @weight.setter
    def weight(self, array: Any) -> None:
        _write_array(self.w, array, (1, self.nin), "Neuron.weight")

    @property
    def bias(self) -> np.ndarray:
        """The bias as a ``[1]`` float64 array (a copy); assign an array to write."""
        return _read_array([self.b], (1,))

    @bias.setter
    def bias(self, array: Any) -> None:
        _write_array([self.b], array, (1,), "Neuron.bias")

    def _own_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def _state_layout(self) -> dict[str, tuple[tuple[int, ...], list[Value]]]:
        return {"weight": ((1, self.nin), list(self.w)), "bias": ((1,), [self.b])}

    def extra_repr(self) -> str:
        return f"nin={self.nin}, activation={self.activation!r}"


class Layer(Module):
    """``nout`` neurons that see the same inputs; returns a list of ``nout`` Values.

    Its state is ``weight`` of shape ``[nout, nin]`` and ``bias`` of shape ``[nout]``.

    Example:
        >>> layer = Layer(3, 1, "linear", seed=0)
        >>> out = layer([1.0, 2.0, 3.0])
        >>> type(out).__name__, len(out)
        ('list', 1)
    """

    _repr_children = False
    _is_dense_layer = True

    def __init__(self, nin: int, nout: int, activation: Activation = "relu", *,
                 init: str = "uniform", seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        self.nin = check_int(nin, "nin")
        self.nout = check_int(nout, "nout")
        self.activation, _ = resolve_activation(activation)
        generator = make_rng(seed, rng)
        self.neurons = [
            Neuron(self.nin, activation, init=init, rng=generator, fan_out=self.nout)
            for _ in range(self.nout)
        ]

    def forward(self, x: Any) -> list[Value]:
        """The ``nout`` outputs for one sample (always a list)."""
        return self._outputs(as_inputs(x, self.nin, "Layer"))

    def forward_values(self, inputs: Sequence[Scalar]) -> list[Value]:
        """The ``nout`` outputs for a list of ``nin`` numbers or Values.

        The forward pass that containers and pictures build on: no conversion of numpy
        rows or lone numbers, only the length is checked.
        """
        return self._outputs(_checked_values(inputs, self.nin, "Layer"))

    def _outputs(self, inputs: Sequence[Scalar]) -> list[Value]:
        # Lift plain numbers to leaves once, so the neurons share one input node each
        # (a smaller graph, and a picture with one node per input).
        shared = [x if isinstance(x, Value) else Value(x) for x in inputs]
        return [neuron._output(shared) for neuron in self.neurons]

    def _weight_values(self) -> list[Value]:
        return [w for neuron in self.neurons for w in neuron.w]

    @property
    def weight(self) -> np.ndarray:
        """The weights as a ``[nout, nin]`` float64 array (a copy; row j is neuron j).

        Assign an array of that shape to write all of them (checked first: real,
        finite, the right shape).
        """
        return _read_array(self._weight_values(), (self.nout, self.nin))

    @weight.setter
    def weight(self, array: Any) -> None:
        _write_array(self._weight_values(), array, (self.nout, self.nin), "Layer.weight")

    @property
    def bias(self) -> np.ndarray:
        """The biases as a ``[nout]`` float64 array (a copy); assign an array to write."""
        return _read_array([neuron.b for neuron in self.neurons], (self.nout,))

    @bias.setter
    def bias(self, array: Any) -> None:
        _write_array([neuron.b for neuron in self.neurons], array, (self.nout,), "Layer.bias")

    def _state_layout(self) -> dict[str, tuple[tuple[int, ...], list[Value]]]:
        return {"weight": ((self.nout, self.nin), self._weight_values()),
                "bias": ((self.nout,), [neuron.b for neuron in self.neurons])}

    def extra_repr(self) -> str:
        return f"nin={self.nin}, nout={self.nout}, activation={self.activation!r}"


class MLP(Module):
    """A multi-layer perceptron: ``Layer`` s in a chain.

    Args:
        nin: number of inputs.
        nouts: widths of the layers, the last one being the output size.
        activation: activation of every hidden layer.
        output_activation: activation of the last layer ("linear" gives raw scores,
            as micrograd).
        init, seed, rng: as for :class:`Neuron`; one generator serves all layers.

    Example:
        >>> model = MLP(2, [16, 16, 1], seed=1)
        >>> model.num_parameters()
        337
        >>> len(model([0.5, -1.0]))
        1
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: Activation = "relu",
                 output_activation: Activation = "linear", *, init: str = "uniform",
                 seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        self.nin = check_int(nin, "nin")
        if isinstance(nouts, (int, np.integer)) or not hasattr(nouts, "__len__") or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer widths; got {nouts!r}")
        self.nouts = [check_int(n, "each of nouts") for n in nouts]
        self.nout = self.nouts[-1]
        resolve_activation(activation)
        resolve_activation(output_activation)
        generator = make_rng(seed, rng)
        sizes = [self.nin, *self.nouts]
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation,
                  init=init, rng=generator)
            for i in range(len(self.nouts))
        ]

    def forward(self, x: Any) -> list[Value]:
        """The outputs of the last layer for one sample (always a list)."""
        values = as_inputs(x, self.nin, "MLP")
        for layer in self.layers:
            values = layer.forward_values(values)
        return values

    def _chain_parts(self) -> list[Module]:
        return list(self.layers)

    def extra_repr(self) -> str:
        return f"nin={self.nin}, nouts={self.nouts}"


def _as_list(output: Any) -> list:
    return output if isinstance(output, list) else [output]


class Sequential(Module):
    """Modules applied one after another; each output is the next module's input.

    Example:
        >>> model = Sequential(Layer(2, 4, "tanh", seed=0), Layer(4, 1, "linear", seed=1))
        >>> len(model([1.0, 2.0]))
        1
    """

    def __init__(self, *modules: Module) -> None:
        if not modules:
            raise ValueError("Sequential needs at least one module")
        for module in modules:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules; got {module!r}")
        self._items = list(modules)
        self.nin = getattr(modules[0], "nin", None)
        self.nout = getattr(modules[-1], "nout", None)

    def forward(self, x: Any) -> Any:
        """Feed ``x`` through every module in turn."""
        for module in self._items:
            x = module(x)
        return x

    def named_children(self) -> list[tuple[str, Module]]:
        """The modules named by position, "0", "1", ... (as PyTorch's Sequential)."""
        return [(str(i), module) for i, module in enumerate(self._items)]

    def _chain_parts(self) -> list[Module]:
        return list(self._items)

    @property
    def modules(self) -> _ModulesCompat:
        """``modules()`` lists every module in the tree, as ``Module.modules``.

        Reading it as a list of the steps (the old attribute) still works but is
        deprecated: iterate the Sequential itself (``for m in seq``, ``seq[i]``).
        """
        return _ModulesCompat(self)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Module:
        return self._items[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items)


class _ModulesCompat(list):
    """What ``Sequential.modules`` gives: callable as ``Module.modules()``, and (deprecated)
    the list of steps it used to be."""

    def __init__(self, owner: Sequential) -> None:
        super().__init__(owner._items)
        self._owner = owner

    def __call__(self) -> list[Module]:
        return Module.modules(self._owner)

    def _deprecated(self) -> None:
        warnings.warn("Sequential.modules as a list is deprecated: iterate the Sequential "
                      "(for m in seq, seq[i], len(seq)); modules() lists the whole tree",
                      DeprecationWarning, stacklevel=3)

    def __iter__(self) -> Iterator[Module]:
        self._deprecated()
        return super().__iter__()

    def __getitem__(self, index: Any) -> Any:
        self._deprecated()
        return super().__getitem__(index)

    def __len__(self) -> int:
        self._deprecated()
        return super().__len__()


class Residual(Module):
    """A skip connection: ``x + f(x)``, element by element.

    The identity path carries the gradient past ``f`` unchanged, which keeps deep
    stacks trainable (the gradient-flow test compares 20 tanh layers with and
    without it).

    Example:
        >>> block = Residual(Layer(2, 2, "tanh", seed=0))
        >>> len(block([1.0, 2.0]))
        2
    """

    def __init__(self, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Residual wraps a Module; got {module!r}")
        nin, nout = getattr(module, "nin", None), getattr(module, "nout", None)
        if nin is not None and nout is not None and nin != nout:
            raise ValueError(f"Residual needs a module with as many outputs as inputs; "
                             f"got nin={nin}, nout={nout}")
        self.module = module
        self.nin = nin
        self.nout = nout

    def forward(self, x: Any) -> list[Value]:
        """``x + module(x)``."""
        inputs = as_inputs(x, self.nin, "Residual")
        outputs = _as_list(self.module(inputs))
        if len(outputs) != len(inputs):
            raise ValueError(f"Residual: the module returned {len(outputs)} values for "
                             f"{len(inputs)} inputs")
        return [out + inp for inp, out in zip(inputs, outputs)]


class Highway(Module):
    """A highway layer: ``y = t * h(x) + (1 - t) * x`` with a learned gate ``t``.

    ``h`` is a ``Layer(size, size, activation)`` and the gate ``t`` a sigmoid layer
    whose biases start at ``gate_bias`` (negative: the block starts by mostly carrying
    its input through, as Srivastava et al. recommend).

    Example:
        >>> block = Highway(3, seed=0)
        >>> len(block([1.0, 2.0, 3.0]))
        3
    """

    def __init__(self, size: int, activation: Activation = "relu", *, gate_bias: float = -1.0,
                 init: str = "uniform", seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        self.nin = self.nout = check_int(size, "size")
        generator = make_rng(seed, rng)
        self.transform = Layer(size, size, activation, init=init, rng=generator)
        self.gate = Layer(size, size, "sigmoid", init=init, rng=generator)
        for neuron in self.gate.neurons:
            neuron.b.data = check_real(gate_bias, "gate_bias", low=None, owner="Highway")

    def forward(self, x: Any) -> list[Value]:
        """Gate between the transformed input and the input itself."""
        inputs = as_inputs(x, self.nin, "Highway")
        transformed = self.transform.forward_values(inputs)
        gates = self.gate.forward_values(inputs)
        return [t * h + (1 - t) * inp for t, h, inp in zip(gates, transformed, inputs)]

    def extra_repr(self) -> str:
        return f"size={self.nin}"


class DenseBlock(Module):
    """Dense connectivity: layer ``i`` sees the input and all earlier layers' outputs.

    Layer ``i`` maps ``nin + i * growth`` features to ``growth`` new ones; the block
    returns the input followed by every layer's output, ``nin + num_layers * growth``
    values in all (DenseNet's concatenation, for vectors).

    Example:
        >>> block = DenseBlock(2, growth=3, num_layers=2, seed=0)
        >>> block.nout, len(block([1.0, 2.0]))
        (8, 8)
    """

    def __init__(self, nin: int, growth: int, num_layers: int, activation: Activation = "relu",
                 *, init: str = "uniform", seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        self.nin = check_int(nin, "nin")
        self.growth = check_int(growth, "growth")
        count = check_int(num_layers, "num_layers")
        generator = make_rng(seed, rng)
        self.layers = [
            Layer(self.nin + i * self.growth, self.growth, activation, init=init, rng=generator)
            for i in range(count)
        ]
        self.nout = self.nin + count * self.growth

    def forward(self, x: Any) -> list:
        """The input and every layer's output, concatenated."""
        features = as_inputs(x, self.nin, "DenseBlock")
        for layer in self.layers:
            features = features + layer.forward_values(features)
        return features

    def extra_repr(self) -> str:
        return f"nin={self.nin}, growth={self.growth}, num_layers={len(self.layers)}"


class PositionalEncoding(Module):
    """NeRF-style Fourier features of each input coordinate (no parameters).

    Each coordinate ``p`` becomes ``sin(2^k pi p), cos(2^k pi p)`` for
    ``k = 0 .. num_frequencies - 1``, after the raw inputs when ``include_input``.
    Low-frequency inputs become features a small network can combine into
    high-frequency functions. Numbers give numbers; Values give Values (so the
    encoding can sit inside a differentiable graph).

    Example:
        >>> enc = PositionalEncoding(2)
        >>> [round(v, 3) for v in enc([0.25])]
        [0.25, 0.707, 0.707, 1.0, 0.0]
    """

    def __init__(self, num_frequencies: int, *, include_input: bool = True) -> None:
        # 2.0 ** k must stay a finite float for every frequency k.
        self.num_frequencies = check_int(num_frequencies, "num_frequencies", maximum=1023)
        self.include_input = check_bool(include_input, "include_input",
                                        owner="PositionalEncoding")
        self.nin = None
        self.nout = None

    def output_size(self, nin: int) -> int:
        """How many features ``nin`` inputs become."""
        return nin * (2 * self.num_frequencies + int(self.include_input))

    def forward(self, x: Any) -> list:
        """The encoded features of one sample."""
        inputs = as_inputs(x, None, "PositionalEncoding")
        features = list(inputs) if self.include_input else []
        for k in range(self.num_frequencies):
            scale = (2.0 ** k) * math.pi
            for p in inputs:
                if isinstance(p, Value):
                    angle = p * scale
                    features += [angle.sin(), angle.cos()]
                else:
                    features += [math.sin(scale * p), math.cos(scale * p)]
        return features

    def extra_repr(self) -> str:
        return (f"num_frequencies={self.num_frequencies}, "
                f"include_input={self.include_input}")
