"""``Module``: the base of every layer and model (parameters, state, save and load).

A module holds its parameters (``Value`` leaves) and its sub-modules as ordinary
attributes; the tree is walked iteratively in attribute order, so names and orders
are stable from run to run. State is exported PyTorch-style: a layer's weights as one
``[out, in]`` array named ``...weight`` and its biases as ``[out]`` named ``...bias``.

Parameter names follow the state: the scalar at index ``(i, j)`` of the array
``layers.0.weight`` is named ``layers.0.weight[i, j]`` (numpy's indexing, so
``state_dict()["layers.0.weight"][i, j]`` is its value), a bias ``layers.0.bias[i]``,
and a parameter that is an array of its own shape ``()`` has the array's name.
Stripping the index of every ``named_parameters()`` key gives the ``state_dict()`` keys.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from autograd_core import Value

from ._checks import check_format_version, check_real_array
from .files import atomic_write

__all__ = ["Module"]

# Stored in every file that Module.save writes, so a stray .npz is recognised as foreign.
STATE_FORMAT_KEY = "__nn_state_format__"
STATE_FORMAT_VERSION = 1
# Bounds on a state file's members: bytes per number (a complex number still reaches the
# dtype check) and room for a .npy header (numpy refuses headers above 10,000 bytes).
_MAX_ITEM_BYTES = 16
_NPY_HEADER_ROOM = 65_536


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _element_names(key: str, shape: tuple[int, ...]) -> list[str]:
    """``key[i, j]`` for every index of an array of ``shape`` in C order; ``key`` for ()."""
    if shape == ():
        return [key]
    return [f"{key}[{', '.join(map(str, index))}]" for index in np.ndindex(*shape)]


class Module:
    """Base class: a callable with parameters and sub-modules.

    Subclasses implement ``forward`` and keep parameters (``Value``) and sub-modules
    (``Module`` or lists of them) as attributes. Override ``_own_parameters`` to
    expose parameters held directly and ``_state_layout`` to export them as arrays.

    Example:
        >>> from nn import MLP
        >>> model = MLP(2, [3, 1], seed=0)
        >>> [name for name, _ in model.named_parameters()][:3]
        ['layers.0.weight[0, 0]', 'layers.0.weight[0, 1]', 'layers.0.weight[1, 0]']
        >>> sorted(model.state_dict())
        ['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']
    """

    # Whether repr lists the sub-modules (a Layer shows one line, not a line per neuron).
    _repr_children = True
    # Whether this module is a dense layer of the public shape (weight, bias, activation,
    # forward_values); see nn.layers.
    _is_dense_layer = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # -- the tree ---------------------------------------------------------------

    def named_children(self) -> list[tuple[str, Module]]:
        """Direct sub-modules, in attribute order; a list attribute gives ``name.i``."""
        children: list[tuple[str, Module]] = []
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, Module):
                children.append((name, value))
            elif isinstance(value, (list, tuple)):
                children.extend(
                    (f"{name}.{i}", item) for i, item in enumerate(value)
                    if isinstance(item, Module)
                )
        return children

    def named_modules(self) -> list[tuple[str, Module]]:
        """This module (named ``""``) and every descendant, depth first, in order."""
        return [(name, module) for name, module, _ in self._walk(claim_state=False)]

    def _walk(self, *, claim_state: bool) -> Iterator[tuple[str, Module, int]]:
        """Pre-order walk; with ``claim_state`` a module with a layout hides its subtree."""
        stack: list[tuple[str, Module, int]] = [("", self, 0)]
        while stack:
            prefix, module, depth = stack.pop()
            yield prefix, module, depth
            if claim_state and module._state_layout() is not None:
                continue
            for name, child in reversed(module.named_children()):
                stack.append((_join(prefix, name), child, depth + 1))

    def children(self) -> list[Module]:
        """Direct sub-modules, in order (as ``torch.nn.Module.children``)."""
        return [child for _, child in self.named_children()]

    def modules(self) -> list[Module]:
        """This module and every descendant, depth first (as ``torch.nn.Module.modules``)."""
        return [module for _, module in self.named_modules()]

    # -- the public shape (see nn.layers) --------------------------------------

    def _chain_parts(self) -> list[Module] | None:
        """The modules this one applies in a chain, or None if it is not a chain."""
        return None

    def dense_layers(self) -> list[Module]:
        """The dense layers this model applies one after another, first to last.

        A ``Neuron`` or ``Layer`` is its own only layer; an ``MLP``, a ``Sequential`` of
        chains and the linear models list theirs. Each layer has ``weight``, ``bias``,
        ``activation``, ``nin``, ``nout`` and ``forward_values``.

        Raises:
            TypeError: the model is not a chain of dense layers (a Residual, Highway,
                DenseBlock or PositionalEncoding is somewhere in it); names that part.

        Example:
            >>> from nn import MLP
            >>> [layer.weight.shape for layer in MLP(2, [3, 1], seed=0).dense_layers()]
            [(3, 2), (1, 3)]
        """
        layers: list[Module] = []
        pending: list[Module] = [self]  # a stack: nested chains need no recursion
        while pending:
            current = pending.pop()
            if current._is_dense_layer:
                layers.append(current)
                continue
            parts = current._chain_parts()
            if parts is None:
                raise TypeError(
                    f"{type(self).__name__} is not a chain of dense layers: it holds a "
                    f"{type(current).__name__} (dense_layers understands Neuron, Layer, MLP, "
                    "Sequential of those and the linear models)")
            pending.extend(reversed(parts))
        return layers

    @property
    def output_activation(self) -> str | None:
        """The activation of the last dense layer when the output comes straight from one.

        None when the output is not a dense layer's (a Residual's sum, a DenseBlock's
        concatenation, a Module of your own). A Module of your own whose output is, for
        example, a sigmoid can say so with a class attribute
        ``output_activation = "sigmoid"`` (``fit``, ``predict`` and ``predict_proba``
        then read its outputs as probabilities).
        """
        node: Module = self
        while not node._is_dense_layer:
            parts = node._chain_parts()
            if not parts:
                return None
            node = parts[-1]
        return node.activation  # type: ignore[attr-defined]

    def _own_parameters(self) -> list[tuple[str, Value]]:
        """Parameters held directly by this module (not by sub-modules)."""
        return []

    def _state_layout(self) -> dict[str, tuple[tuple[int, ...], list[Value]]] | None:
        """Arrays this module exports: name -> (shape, parameters in C order), or None.

        A module that returns a layout speaks for its whole subtree in ``state_dict``.
        """
        return None

    # -- parameters -------------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter, each once, named after its place in ``state_dict()``.

        The order is the state's: array by array, each in C order (a layer's weights
        row by row, then its biases). A parameter shared by two places keeps the first
        name.

        Example:
            >>> from nn import Layer
            >>> [name for name, _ in Layer(2, 2, seed=0).named_parameters()]
            ['weight[0, 0]', 'weight[0, 1]', 'weight[1, 0]', 'weight[1, 1]', 'bias[0]', 'bias[1]']
        """
        seen: dict[Value, None] = {}
        named: list[tuple[str, Value]] = []
        for key, (shape, params) in self._state_entries().items():
            for name, param in zip(_element_names(key, shape), params):
                if param not in seen:
                    seen[param] = None
                    named.append((name, param))
        return named

    def parameters(self) -> list[Value]:
        """Every parameter, each once, in the order of ``named_parameters``."""
        seen: dict[Value, None] = {}
        for _, params in self._state_entries().values():
            for param in params:
                seen.setdefault(param, None)
        return list(seen)

    def get_parameter(self, name: str) -> Value:
        """The parameter called ``name`` in ``named_parameters()``.

        The older names (``layers.0.neurons.1.w.0``, ``...neurons.1.b``) are still
        understood, with a ``DeprecationWarning``.

        Raises:
            KeyError: no parameter has that name.
        """
        for key, param in self.named_parameters():
            if key == name:
                return param
        for key, param in self._legacy_named_parameters():
            if key == name:
                new = dict((id(p), k) for k, p in self.named_parameters())[id(param)]
                warnings.warn(f"parameter name {name!r} is deprecated; its name is now "
                              f"{new!r} (the place in state_dict())", DeprecationWarning,
                              stacklevel=2)
                return param
        raise KeyError(f"no parameter named {name!r}; names look like "
                       f"{[k for k, _ in self.named_parameters()][:3]}")

    def _legacy_named_parameters(self) -> list[tuple[str, Value]]:
        """The names before they followed the state: each module's own attribute names."""
        named: list[tuple[str, Value]] = []
        for prefix, module, _ in self._walk(claim_state=False):
            named.extend((_join(prefix, name), param) for name, param in
                         module._own_parameters())
        return named

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return len(self.parameters())

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (leaves accumulate across ``backward``)."""
        for param in self.parameters():
            param.grad = 0.0

    # -- state --------------------------------------------------------------------

    def _state_entries(self) -> dict[str, tuple[tuple[int, ...], list[Value]]]:
        entries: dict[str, tuple[tuple[int, ...], list[Value]]] = {}
        for prefix, module, _ in self._walk(claim_state=True):
            layout = module._state_layout()
            if layout is None:
                # Parameters outside any layout are exported one scalar each.
                layout = {name: ((), [param]) for name, param in module._own_parameters()}
            for name, entry in layout.items():
                entries[_join(prefix, name)] = entry
        return entries

    def state_dict(self) -> dict[str, np.ndarray]:
        """The parameters as float64 numpy arrays (copies), keyed by dotted names.

        A ``Layer`` gives ``"<name>.weight"`` of shape ``[out, in]`` and
        ``"<name>.bias"`` of shape ``[out]``, the layout of ``torch.nn.Linear``.
        """
        return {
            key: np.array([p.data for p in params], dtype=np.float64).reshape(shape)
            for key, (shape, params) in self._state_entries().items()
        }

    def load_state_dict(self, state: Mapping[str, Any], *, strict: bool = True) -> None:
        """Copy arrays from ``state`` into the parameters.

        Everything is checked before anything is written, so on any error the model
        is unchanged.

        Args:
            state: a mapping such as ``state_dict()`` returns.
            strict: refuse missing and unexpected keys (otherwise they are skipped).

        Raises:
            TypeError: ``state`` is not a mapping.
            ValueError: a key is missing or unexpected, or an array has the wrong shape,
                is not real-valued or holds NaN/inf; the message names the key.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict takes a mapping of arrays; got {state!r}")
        entries = self._state_entries()
        if strict:
            for key in entries:
                if key not in state:
                    raise ValueError(
                        f"missing key {key!r} in state (expected keys: {list(entries)})")
            for key in state:
                if key not in entries:
                    raise ValueError(
                        f"unexpected key {key!r} in state (expected keys: {list(entries)})")
        checked: list[tuple[list[Value], np.ndarray]] = []
        for key, (shape, params) in entries.items():
            if key not in state:
                continue
            array = np.asarray(state[key])
            if array.shape != shape:
                raise ValueError(
                    f"key {key!r}: expected shape {shape}, got {array.shape}")
            flat = check_real_array(array, f"key {key!r}").ravel()
            checked.append((params, flat))
        for params, flat in checked:
            for param, number in zip(params, flat.tolist()):
                param.data = number

    def save(self, path: str | os.PathLike) -> None:
        """Write ``state_dict()`` to ``path`` as ``.npz``, atomically.

        The file is written beside ``path`` under a temporary name and then moved over
        it with ``os.replace``, so a failed save leaves any old file intact.
        """
        arrays = {STATE_FORMAT_KEY: np.array(STATE_FORMAT_VERSION)}
        arrays.update(self.state_dict())
        atomic_write(path, lambda stream: np.savez(stream, **arrays))

    def load(self, path: str | os.PathLike) -> Module:
        """Read a file written by ``save`` into this module and return the module.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not a state file, a key cannot be read (a
                corrupted file), or the state does not fit this module (see
                ``load_state_dict``). The model is unchanged in every case.
        """
        target = os.fspath(path)
        try:
            archive = np.load(target, allow_pickle=False)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise
        except Exception as error:
            raise ValueError(f"{target!r} is not a state file written by Module.save: {error}"
                             ) from error
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{target!r} is not a state file written by Module.save "
                             "(it holds a single array, not an .npz archive)")
        state: dict[str, np.ndarray] = {}
        with archive:
            if STATE_FORMAT_KEY not in archive.files:
                raise ValueError(f"{target!r} is not a state file written by Module.save "
                                 f"(no {STATE_FORMAT_KEY!r} entry; keys: {archive.files})")
            self._check_member_sizes(archive, target)
            for key in archive.files:
                try:
                    state[key] = archive[key]
                except Exception as error:
                    # A damaged member raises whatever its decoder does (zipfile, zlib,
                    # numpy's header parser); all of them mean the same thing here.
                    raise ValueError(f"{target!r}: cannot read key {key!r}, the file is "
                                     f"corrupted: {error}") from error
        check_format_version(state.pop(STATE_FORMAT_KEY), STATE_FORMAT_VERSION, repr(target))
        self.load_state_dict(state)
        return self

    def _check_member_sizes(self, archive: Any, target: str) -> None:
        """Refuse unknown keys and oversized arrays before any array is read.

        The zip directory states each member's unpacked size; a member much larger than
        its array can be (a few kilobytes that unpack to gigabytes) would otherwise be
        decompressed into memory before the shape check could refuse it.
        """
        entries = self._state_entries()
        limits = {key: _MAX_ITEM_BYTES * int(np.prod(shape)) for key, (shape, _) in
                  entries.items()}
        limits[STATE_FORMAT_KEY] = _MAX_ITEM_BYTES
        for info in archive.zip.infolist():
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else name
            if key not in limits:
                raise ValueError(f"unexpected key {key!r} in state (expected keys: "
                                 f"{list(entries)})")
            if info.file_size > limits[key] + _NPY_HEADER_ROOM:
                raise ValueError(f"{target!r}: key {key!r} unpacks to {info.file_size} bytes, "
                                 f"more than its array can hold ({limits[key]} bytes of data)")

    # -- display --------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown in ``repr``; subclasses describe their settings."""
        return ""

    def __repr__(self) -> str:
        lines: list[str] = []
        stack: list[tuple[str, Module, int]] = [("", self, 0)]
        while stack:
            name, module, depth = stack.pop()
            head = f"{type(module).__name__}({module.extra_repr()})"
            lines.append(f"{'  ' * depth}{name + ': ' if name else ''}{head}")
            if module._repr_children:
                for child_name, child in reversed(module.named_children()):
                    stack.append((child_name, child, depth + 1))
        return "\n".join(lines)
