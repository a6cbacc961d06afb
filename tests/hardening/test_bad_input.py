"""Hostile and bad input: one table of cases across the public API and the command line.

Each case names the documented error type and a fragment its message must contain (the
fragment names the problem: the bad value, the setting, the construct). Every case runs
against the same small world: a model, its saved state and a few damaged state files,
and a picture written earlier by the command line. After every case the model's
parameters and every file's bytes must be exactly as before, and no file may appear.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import subprocess
import sys
import warnings
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd_core import DomainError, Value, apply_op, functional, topological_order
from viz import FormulaError, StepThrough, draw_graph, graph_stats, parse_formula, to_svg
from viz.cli import main as cli_main

NAN = float("nan")
ROOT = Path(__file__).resolve().parents[2]


class CliExit(Exception):
    """The command line returned a non-zero exit code; the message is its stderr."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(stderr)
        self.code = code


@dataclass
class World:
    """What the cases act on; everything under ``folder`` is checked afterwards."""

    folder: Path
    model: nn.MLP
    engine: str = "eager"

    def path(self, name: str) -> Path:
        return self.folder / name

    def fit(self, X=None, y=None, **options):
        """``nn.fit`` on the world's model with valid defaults, overridden by the case."""
        arguments = {
            "loss": nn.cross_entropy, "optimizer": nn.SGD(self.model, lr=0.5), "epochs": 2,
            "batch_size": 1, "progress": False, "seed": 0, "engine": self.engine,
        }
        arguments.update(options)
        X = np.array([[0.5, -1.0], [1.0, 2.0], [-0.5, 0.25]]) if X is None else X
        y = np.array([0, 1, 1]) if y is None else y
        return nn.fit(self.model, X, y, **arguments)

    def cli(self, *argv: str) -> str:
        """Run the command line in-process; a non-zero exit raises :class:`CliExit`."""
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = cli_main([str(arg) for arg in argv])
        if code:
            raise CliExit(code, stderr.getvalue())
        return stdout.getvalue()


def _write_state_files(folder: Path, model: nn.Module) -> None:
    model.save(folder / "model.npz")
    data = (folder / "model.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(data[: len(data) // 2])
    corrupted = bytearray(data)
    # Inside the first member's array data (after the local header and the .npy header):
    # the zip CRC no longer matches.
    start = data.index(b"\x93NUMPY") + 130
    corrupted[start:start + 16] = bytes(16)
    (folder / "corrupted.npz").write_bytes(bytes(corrupted))
    nn.MLP(2, [4, 2], seed=1).save(folder / "other_shape.npz")
    nn.MLP(2, [3, 3, 2], seed=1).save(folder / "other_layers.npz")
    np.savez(folder / "no_format.npz", **model.state_dict())
    np.save(folder / "single.npy", np.zeros(3))
    (folder / "notes.txt").write_text("not a state file\n", encoding="utf-8")
    future = dict(np.load(folder / "model.npz"))
    future["__nn_state_format__"] = np.array(99)
    np.savez(folder / "future.npz", **future)
    nan_state = {**model.state_dict(), "__nn_state_format__": np.array(1)}
    nan_state["layers.0.bias"] = np.array([0.0, NAN, 0.0])
    np.savez(folder / "nan_values.npz", **nan_state)
    for name, version in FORMAT_VERSIONS.items():
        np.savez(folder / f"version_{name}.npz",
                 **{**model.state_dict(), "__nn_state_format__": np.array(version)})
    for name, dtype, poison in WEIGHT_FILES:
        state = {key: array.astype(dtype) for key, array in model.state_dict().items()}
        if poison is not None:
            state["layers.1.weight"][1, 2] = poison
        np.savez(folder / f"weights_{name}.npz", __nn_state_format__=np.array(1), **state)
    (folder / "picture.svg").write_bytes(b"<svg>an earlier picture</svg>\n")


# State files whose format entry is not the integer 1 that Module.save writes.
FORMAT_VERSIONS = {"text": "1", "bytes": b"1", "float": 1.0, "fraction": 1.9, "bool": True,
                   "inf": np.inf, "vector": [1], "complex": 1 + 0j, "zero": 0}
# State files with weights of another dtype (name, dtype, a value planted in one weight).
WEIGHT_FILES = [("longdouble_overflow", np.longdouble, np.longdouble("1e400")),
                ("bool", np.bool_, None), ("complex", np.complex128, None),
                ("text", np.str_, None), ("float16_inf", np.float16, np.inf)]


@pytest.fixture
def world(tmp_path):
    model = nn.MLP(2, [3, 2], activation="tanh", seed=0)
    _write_state_files(tmp_path, model)
    return World(tmp_path, model)


ENGINES = ["eager", "trace"]


@dataclass(frozen=True)
class Case:
    id: str
    error: type[BaseException]
    fragment: str
    action: object  # World -> Any
    engines: bool = False  # runs once per fit engine (the action calls World.fit)


def fit_case(id, error, fragment, **options):
    """``nn.fit`` on the world's model with ``options``, on every engine."""
    return Case(id, error, fragment, lambda w: w.fit(**options), engines=True)


def load_case(id, fragment, file_name):
    """``Module.load`` of one of the world's damaged state files."""
    return Case(id, ValueError, fragment, lambda w: w.model.load(w.path(file_name)))


def formula_case(id, text, fragment, **point):
    """parse_formula(text), then (if it parses) evaluate it at ``point``."""
    return Case(id, FormulaError, fragment, lambda w: parse_formula(text).evaluate(point))


def cli_case(id, fragment, *argv):
    """The command line on ``argv``, aimed at the world's existing picture."""
    return Case(id, CliExit, fragment,
                lambda w: w.cli(*argv, "--out", w.path("picture.svg")))


def tiny_root():
    x = Value(0.5, "x")
    return (x * 2).tanh()


CASES = [
    # -- the engine: wrong types, NaN, domains, unknown ops ------------------------------
    Case("value-from-str", TypeError, "got '1.5' (str)", lambda w: Value("1.5")),
    Case("value-from-complex", TypeError, "got (1+2j) (complex)", lambda w: Value(1 + 2j)),
    Case("value-from-bool", TypeError, "got True (bool)", lambda w: Value(True)),
    Case("value-nan", ValueError, "is NaN", lambda w: Value(NAN)),
    Case("value-label-not-str", TypeError, "label must be a str; got 7",
         lambda w: Value(1.0, label=7)),
    Case("log-of-negative", DomainError, "log: input must be positive, got -1.0",
         lambda w: Value(-1.0).log()),
    Case("sqrt-of-negative", DomainError, "sqrt: input must be non-negative, got -4.0",
         lambda w: Value(-4.0).sqrt()),
    Case("division-by-zero", DomainError, "division by zero", lambda w: Value(1.0) / 0),
    Case("negative-base-fractional-power", DomainError, "negative base needs an integer",
         lambda w: Value(-8.0) ** (1 / 3)),
    Case("unknown-op", NotImplementedError, "no rule for op 'frobnicate'",
         lambda w: apply_op("frobnicate", 1.0)),
    Case("op-arity", ValueError, "op 'add' takes 2 inputs, got 1",
         lambda w: apply_op("add", 1.0)),
    Case("add-a-str", TypeError, "got '2' (str)", lambda w: Value(1.0) + "2"),
    Case("add-an-array", TypeError, "numpy array of shape (3,)",
         lambda w: Value(1.0) + np.ones(3)),
    Case("backward-nan-seed", ValueError, "gradient is NaN",
         lambda w: tiny_root().backward(NAN)),
    Case("dot-mismatched-lengths", ValueError, "lengths differ (2 and 1)",
         lambda w: functional.dot([1.0, 2.0], [1.0])),
    Case("softmax-of-nothing", ValueError, "needs at least one element",
         lambda w: functional.softmax([])),
    Case("topological-order-of-int", TypeError, "got 3", lambda w: topological_order(3)),
    # -- nn: building models ---------------------------------------------------------------
    Case("unknown-activation", ValueError, "unknown activation 'swish'",
         lambda w: nn.Neuron(2, "swish")),
    Case("unknown-hidden-activation", ValueError, "unknown activation 'gelu'",
         lambda w: nn.MLP(2, [3, 1], activation="gelu")),
    Case("activation-not-callable", TypeError, "activation must be a name",
         lambda w: nn.MLP(2, [3, 1], output_activation=3)),
    Case("zero-inputs", ValueError, "nin must be an int >= 1; got 0",
         lambda w: nn.Layer(0, 2)),
    Case("no-layers", ValueError, "nouts must be a non-empty list", lambda w: nn.MLP(2, [])),
    Case("negative-width", ValueError, "got -1", lambda w: nn.MLP(2, [3, -1])),
    Case("unknown-init", ValueError, "unknown init 'glorot'",
         lambda w: nn.MLP(2, [3], init="glorot")),
    Case("seed-not-int", TypeError, "seed must be an int or None; got '0'",
         lambda w: nn.MLP(2, [3], seed="0")),
    # -- nn: calling the model -------------------------------------------------------------
    Case("too-many-inputs", ValueError, "expected 2 inputs, got 3",
         lambda w: w.model([1.0, 2.0, 3.0])),
    Case("input-is-text", TypeError, "got 'ab'", lambda w: w.model("ab")),
    Case("nan-input", ValueError, "NaN", lambda w: w.model([NAN, 1.0])),
    # -- nn: optimisers --------------------------------------------------------------------
    Case("negative-lr", ValueError, "lr must be in [0, inf); got -0.1",
         lambda w: nn.SGD(w.model, lr=-0.1)),
    Case("nan-lr", ValueError, "lr must be a finite number; got nan",
         lambda w: nn.Adam(w.model, lr=NAN)),
    Case("lr-as-text", TypeError, "lr must be a finite number; got '0.1'",
         lambda w: nn.SGD(w.model, lr="0.1")),
    Case("momentum-above-one", ValueError, "momentum must be in [0, 1); got 1.5",
         lambda w: nn.SGD(w.model, lr=0.1, momentum=1.5)),
    Case("nesterov-without-momentum", ValueError, "nesterov=True needs momentum > 0",
         lambda w: nn.SGD(w.model, lr=0.1, nesterov=True)),
    Case("betas-not-a-pair", ValueError, "betas must be a pair",
         lambda w: nn.Adam(w.model, betas=(0.9,))),
    Case("zero-eps", ValueError, "eps must be in (0, inf); got 0",
         lambda w: nn.Adam(w.model, eps=0)),
    Case("no-parameters", ValueError, "empty parameter list", lambda w: nn.SGD([], lr=0.1)),
    Case("parameters-not-values", TypeError, "parameters must be Values; got 1.0",
         lambda w: nn.SGD([1.0, 2.0], lr=0.1)),
    Case("lr-set-negative-later", ValueError, "lr must be in [0, inf); got -1",
         lambda w: setattr(nn.SGD(w.model, lr=0.1), "lr", -1)),
    # -- the one boundary checker: numbers that are not finite reals -----------------------
    Case("lr-huge-int", ValueError, "lr must be a finite number; got 10000000000",
         lambda w: nn.SGD(w.model, lr=10**400)),
    Case("lr-complex", TypeError, "lr must be a finite number; got (1+2j) (complex)",
         lambda w: nn.SGD(w.model, lr=1 + 2j)),
    Case("lr-numpy-complex", TypeError, "got np.complex128(0.1+0j) (complex128)",
         lambda w: nn.Adam(w.model, lr=np.complex128(0.1))),
    Case("lr-longdouble-overflow", ValueError, "got np.longdouble('1e+400') (beyond float64)",
         lambda w: nn.SGD(w.model, lr=np.longdouble("1e400"))),
    Case("lr-bool", TypeError, "lr must be a finite number; got True (bool)",
         lambda w: nn.SGD(w.model, lr=True)),
    Case("lr-inf", ValueError, "lr must be a finite number; got inf",
         lambda w: nn.SGD(w.model, lr=math.inf)),
    Case("lr-bytes", TypeError, "lr must be a finite number; got b'0.1' (bytes)",
         lambda w: nn.SGD(w.model, lr=b"0.1")),
    Case("lr-none", TypeError, "lr must be a finite number; got None",
         lambda w: nn.SGD(w.model, lr=None)),
    Case("lr-set-complex-later", TypeError, "lr must be a finite number; got 1j",
         lambda w: setattr(nn.Adam(w.model), "lr", 1j)),
    Case("momentum-nan", ValueError, "momentum must be a finite number; got nan",
         lambda w: nn.SGD(w.model, lr=0.1, momentum=NAN)),
    Case("weight-decay-negative", ValueError, "weight_decay must be in [0, inf); got -0.5",
         lambda w: nn.SGD(w.model, lr=0.1, weight_decay=-0.5)),
    Case("weight-decay-huge-int", ValueError, "Adam: weight_decay must be a finite number",
         lambda w: nn.Adam(w.model, weight_decay=-(10**400))),
    Case("nesterov-text", TypeError, "nesterov must be True or False; got 'yes'",
         lambda w: nn.SGD(w.model, lr=0.1, momentum=0.9, nesterov="yes")),
    Case("betas-text", ValueError, "betas must be a pair (betas[0], betas[1]); got 'ab'",
         lambda w: nn.Adam(w.model, betas="ab")),
    Case("betas-complex-element", TypeError, "betas[1] must be a finite number; got 0.999j",
         lambda w: nn.Adam(w.model, betas=(0.9, 0.999j))),
    Case("betas-one", ValueError, "betas[0] must be in [0, 1); got 1.0",
         lambda w: nn.Adam(w.model, betas=(1.0, 0.999))),
    Case("eps-longdouble-overflow", ValueError, "eps must be a finite number",
         lambda w: nn.Adam(w.model, eps=np.longdouble("1e4000"))),
    Case("step-decay-huge-step", ValueError, "step_size must be an int from 1 to",
         lambda w: nn.StepDecay(nn.SGD(w.model, lr=0.1), step_size=10**400)),
    Case("step-decay-nan-gamma", ValueError, "gamma must be a finite number; got nan",
         lambda w: nn.StepDecay(nn.SGD(w.model, lr=0.1), step_size=2, gamma=NAN)),
    Case("linear-decay-bool-steps", TypeError, "total_steps must be an int >= 1; got True",
         lambda w: nn.LinearDecay(nn.SGD(w.model, lr=0.1), start=1.0, end=0.1,
                                  total_steps=True)),
    Case("l2-infinite-alpha", ValueError, "alpha must be a finite number; got inf",
         lambda w: nn.l2(w.model, math.inf)),
    Case("perceptron-complex-lr", TypeError, "Perceptron.fit: lr must be a finite number",
         lambda w: nn.Perceptron(2).fit(np.ones((2, 2)), np.array([0, 1]), lr=1j)),
    Case("perceptron-empty-data", ValueError, "Perceptron.fit: X is empty",
         lambda w: nn.Perceptron(2).fit(np.zeros((0, 2)), np.zeros(0))),
    Case("model-seed-negative", ValueError, "seed must be an int >= 0 or None; got -1",
         lambda w: nn.MLP(2, [3], seed=-1)),
    Case("model-width-huge", ValueError, "must be an int from 1 to",
         lambda w: nn.MLP(2, [10**30])),
    Case("highway-nan-gate-bias", ValueError, "Highway: gate_bias must be a finite number",
         lambda w: nn.Highway(2, gate_bias=NAN)),
    Case("encoding-flag-text", TypeError, "include_input must be True or False; got 'no'",
         lambda w: nn.PositionalEncoding(2, include_input="no")),
    Case("encoding-too-many-frequencies", ValueError,
         "num_frequencies must be an int from 1 to 1023; got 1024",
         lambda w: nn.PositionalEncoding(1024)),
    Case("blobs-nan-spread", ValueError, "cluster_std must be a finite number; got nan",
         lambda w: nn.make_blobs(10, cluster_std=NAN)),
    Case("blobs-inf-centre", ValueError, "centers must be a count or a [k, d] list of finite",
         lambda w: nn.make_blobs(10, centers=[[0.0, math.inf]])),
    Case("circles-factor-one", ValueError, "factor must be in (0, 1); got 1.0",
         lambda w: nn.make_circles(10, factor=1.0)),
    Case("split-bool-size", TypeError, "test_size",
         lambda w: nn.train_test_split(np.ones((4, 2)), np.arange(4), test_size=True)),
    Case("batches-shuffle-text", TypeError, "shuffle must be True or False; got 'no'",
         lambda w: list(nn.minibatches(np.ones((4, 2)), np.arange(4), 2, shuffle="no"))),
    # -- nn: losses ------------------------------------------------------------------------
    Case("batch-size-mismatch", ValueError, "2 outputs but 3 targets",
         lambda w: nn.cross_entropy([[1.0, 2.0], [3.0, 4.0]], [0, 1, 0])),
    Case("class-out-of-range", ValueError, "target 5 is outside the classes 0..1",
         lambda w: nn.cross_entropy([1.0, 2.0], 5)),
    Case("class-not-an-index", ValueError, "target 0.5 is not a class index",
         lambda w: nn.cross_entropy([1.0, 2.0], 0.5)),
    Case("nan-logit", ValueError, "NaN", lambda w: nn.cross_entropy([NAN, 1.0], 1)),
    Case("probability-above-one", ValueError, "1.5",
         lambda w: nn.binary_cross_entropy(Value(1.5), 1)),
    Case("bce-target-two", ValueError, "target 2 is not one of [0.0, 1.0]",
         lambda w: nn.binary_cross_entropy_with_logits(Value(0.3), 2)),
    Case("hinge-target-zero", ValueError, "target 0 is not one of [-1.0, 1.0]",
         lambda w: nn.hinge_loss(Value(0.3), 0)),
    Case("mse-shapes", ValueError, "outputs (2) and targets (1) have different shapes",
         lambda w: nn.mse_loss([1.0, 2.0], [1.0])),
    Case("unknown-reduction", ValueError, "unknown reduction 'avg'",
         lambda w: nn.mse_loss(1.0, 1.0, reduction="avg")),
    # -- nn: fit (the model must not have moved) --------------------------------------------
    # Shuffled with seed 1 the NaN row comes second: checked mid-training, the first
    # batch would already have moved the model.
    fit_case("fit-nan-in-a-late-row", ValueError,
             "X holds NaN or infinite values (row 2: [nan, 0.25])",
             X=np.array([[0.5, -1.0], [1.0, 2.0], [NAN, 0.25]]), seed=1),
    fit_case("fit-nan-in-validation", ValueError, "fit validation: X holds NaN",
             validation=(np.array([[NAN, 1.0]]), np.array([1]))),
    fit_case("fit-rows-mismatch", ValueError, "X has 3 rows but y has shape (2,)",
             y=np.array([0, 1])),
    fit_case("fit-label-outside-classes", ValueError, "label 2 is outside the classes 0..1",
             y=np.array([0, 1, 2])),
    fit_case("fit-text-labels", ValueError, "labels must be numbers",
             y=np.array(["a", "b", "c"])),
    fit_case("fit-zero-epochs", ValueError, "epochs must be an int >= 1; got 0", epochs=0),
    fit_case("fit-zero-batch", ValueError, "batch_size must be an int >= 1; got 0",
             batch_size=0),
    Case("fit-unknown-engine", ValueError, "unknown engine 'turbo'",
         lambda w: w.fit(engine="turbo")),
    fit_case("fit-optimizer-not-an-optimizer", TypeError, "optimizer must be an nn Optimizer",
             optimizer="sgd"),
    fit_case("fit-wrong-width", ValueError,
             "X has 3 features per sample but the model takes nin=2", X=np.ones((3, 3))),
    # -- fit: the data and settings both engines refuse alike, before any batch --------------
    fit_case("fit-empty-data", ValueError, "fit: X is empty (shape (0, 2))",
             X=np.zeros((0, 2)), y=np.zeros(0, dtype=int)),
    fit_case("fit-no-features", ValueError, "fit: X is empty (shape (3, 0))", X=np.zeros((3, 0))),
    fit_case("fit-ragged-x", ValueError, "fit: X must be a 2-D array [n_samples, n_features]; "
             "numpy cannot make one of it", X=[[0.5, -1.0], [1.0], [-0.5, 0.25]]),
    fit_case("fit-one-dimensional-x", ValueError, "X must be 2-D [n_samples, n_features]; "
             "got shape (3,)", X=np.array([0.5, 1.0, 2.0])),
    fit_case("fit-inf-in-x", ValueError, "X holds NaN or infinite values (row 1: [inf, 2.0])",
             X=np.array([[0.5, -1.0], [np.inf, 2.0], [-0.5, 0.25]])),
    fit_case("fit-longdouble-overflow-in-x", ValueError, "X holds NaN or infinite values (row 0",
             X=np.array([[np.longdouble("1e400"), 1.0], [1.0, 2.0], [0.0, 0.0]])),
    fit_case("fit-complex-x", ValueError, "X must hold numbers; got dtype complex128",
             X=np.ones((3, 2)) * (1 + 1j)),
    fit_case("fit-object-x", ValueError, "X must hold numbers; got dtype object",
             X=np.array([[1.0, "a"], [1.0, 2.0], [0.0, 0.0]], dtype=object)),
    fit_case("fit-bool-labels", ValueError, "labels must be numbers; got dtype bool "
             "(pass y.astype(int))", y=np.array([True, False, True])),
    fit_case("fit-column-labels", ValueError, "labels must be 1-D, one per sample; "
             "got shape (3, 1)", y=np.array([[0], [1], [1]])),
    fit_case("fit-nan-label", ValueError, "label nan is outside the classes 0..1",
             y=np.array([0.0, 1.0, NAN])),
    fit_case("fit-negative-label", ValueError, "label -1 is outside the classes 0..1",
             y=np.array([0, -1, 1])),
    fit_case("fit-fractional-label", ValueError, "label 0.5 is outside the classes 0..1",
             y=np.array([0.0, 0.5, 1.0])),
    fit_case("fit-bce-label-two", ValueError, "label 2 is outside the allowed labels [0, 1]",
             loss=nn.binary_cross_entropy_with_logits, y=np.array([0, 2, 1])),
    fit_case("fit-hinge-label-zero", ValueError, "label 0 is outside the allowed labels [-1, 1]",
             loss=nn.hinge_loss, y=np.array([0, 1, -1])),
    fit_case("fit-mse-nan-target", ValueError, "mse_loss: targets hold NaN or infinite values",
             loss=nn.mse_loss, y=np.array([[0.0, 1.0], [NAN, 1.0], [0.0, 0.0]])),
    fit_case("fit-mse-too-many-columns", ValueError, "targets have 3 column(s) per sample but "
             "the model has 2 outputs", loss=nn.mse_loss, y=np.zeros((3, 3))),
    fit_case("fit-loss-not-callable", TypeError, "loss must be callable", loss="mse"),
    fit_case("fit-progress-text", TypeError, "fit: progress must be True or False; got 'no'",
             progress="no"),
    fit_case("fit-progress-none", TypeError, "fit: progress must be True or False; got None",
             progress=None),
    fit_case("fit-empty-validation", ValueError, "fit validation: X is empty (shape (0, 2))",
             validation=(np.zeros((0, 2)), np.zeros(0, dtype=int))),
    fit_case("fit-epochs-huge", ValueError, "epochs must be an int from 1 to", epochs=10**400),
    fit_case("fit-epochs-float", TypeError, "epochs must be an int >= 1; got 2.0 (float)",
             epochs=2.0),
    fit_case("fit-epochs-bool", TypeError, "epochs must be an int >= 1; got True (bool)",
             epochs=True),
    fit_case("fit-batch-size-numpy-float", TypeError, "batch_size must be an int >= 1; "
             "got np.float64(2.0)", batch_size=np.float64(2.0)),
    fit_case("fit-seed-negative", ValueError, "seed must be an int >= 0 or None; got -1",
             seed=-1),
    fit_case("fit-seed-text", TypeError, "seed must be an int or None; got '0'", seed="0"),
    Case("fit-engine-not-a-name", ValueError, "unknown engine ['eager']",
         lambda w: w.fit(engine=["eager"])),
    # -- nn: state, in memory and in files --------------------------------------------------
    Case("state-wrong-shape", ValueError, "key 'layers.0.weight': expected shape (3, 2)",
         lambda w: w.model.load_state_dict(
             {**w.model.state_dict(), "layers.0.weight": np.zeros((2, 3))})),
    Case("state-nan", ValueError, "key 'layers.1.bias': holds NaN",
         lambda w: w.model.load_state_dict(
             {**w.model.state_dict(), "layers.1.bias": np.array([0.0, NAN])})),
    Case("state-missing-key", ValueError, "missing key 'layers.1.bias'",
         lambda w: w.model.load_state_dict(
             {k: v for k, v in w.model.state_dict().items() if k != "layers.1.bias"})),
    Case("state-unexpected-key", ValueError, "unexpected key 'layers.2.weight'",
         lambda w: w.model.load_state_dict(
             {**w.model.state_dict(), "layers.2.weight": np.zeros((1, 2))})),
    Case("state-not-a-mapping", TypeError, "takes a mapping of arrays",
         lambda w: w.model.load_state_dict([("layers.0.weight", np.zeros((3, 2)))])),
    Case("file-truncated", ValueError, "is not a state file",
         lambda w: w.model.load(w.path("truncated.npz"))),
    Case("file-corrupted", ValueError, "the file is corrupted",
         lambda w: w.model.load(w.path("corrupted.npz"))),
    Case("file-other-shape", ValueError, "expected shape (3, 2), got (4, 2)",
         lambda w: w.model.load(w.path("other_shape.npz"))),
    Case("file-other-layers", ValueError, "layers.2",
         lambda w: w.model.load(w.path("other_layers.npz"))),
    Case("file-without-format", ValueError, "no '__nn_state_format__' entry",
         lambda w: w.model.load(w.path("no_format.npz"))),
    Case("file-single-array", ValueError, "holds a single array",
         lambda w: w.model.load(w.path("single.npy"))),
    Case("file-text", ValueError, "is not a state file",
         lambda w: w.model.load(w.path("notes.txt"))),
    Case("file-future-format", ValueError, "unsupported state format",
         lambda w: w.model.load(w.path("future.npz"))),
    Case("file-nan-values", ValueError, "holds NaN",
         lambda w: w.model.load(w.path("nan_values.npz"))),
    load_case("file-version-text", "unsupported state format array('1'", "version_text.npz"),
    load_case("file-version-bytes", "unsupported state format array(b'1'",
              "version_bytes.npz"),
    load_case("file-version-float", "unsupported state format array(1.)",
              "version_float.npz"),
    load_case("file-version-fraction", "unsupported state format array(1.9)",
              "version_fraction.npz"),
    load_case("file-version-bool", "unsupported state format array(True)", "version_bool.npz"),
    load_case("file-version-inf", "unsupported state format array(inf)", "version_inf.npz"),
    load_case("file-version-vector", "unsupported state format array([1])",
              "version_vector.npz"),
    load_case("file-version-complex", "unsupported state format array(1.+0.j)",
              "version_complex.npz"),
    load_case("file-version-zero", "unsupported state format 0 (this version reads 1)",
              "version_zero.npz"),
    load_case("file-longdouble-overflow", "key 'layers.1.weight': holds NaN or infinite values "
              "(a value beyond float64 at index (1, 2): np.longdouble('1e+400'))",
              "weights_longdouble_overflow.npz"),
    load_case("file-float16-inf", "(an infinite value at index (1, 2)",
              "weights_float16_inf.npz"),
    load_case("file-bool-weights", "expected real numbers, got an array of dtype bool",
              "weights_bool.npz"),
    load_case("file-complex-weights", "expected real numbers, got an array of dtype complex128",
              "weights_complex.npz"),
    load_case("file-text-weights", "expected real numbers, got an array of dtype <U",
              "weights_text.npz"),
    Case("state-longdouble-overflow", ValueError, "a value beyond float64 at index (0,)",
         lambda w: w.model.load_state_dict(
             {**w.model.state_dict(), "layers.1.bias": np.array([np.longdouble("1e4000"), 0.0])})),
    Case("state-huge-int-weights", ValueError, "expected real numbers, got an array of dtype "
         "object", lambda w: w.model.load_state_dict(
             {**w.model.state_dict(), "layers.1.bias": np.array([10**400, 0])})),
    Case("file-missing", FileNotFoundError, "nowhere.npz",
         lambda w: w.model.load(w.path("nowhere.npz"))),
    # -- viz -------------------------------------------------------------------------------
    Case("draw-a-str", TypeError, "expected the graph's root Value; got 'x'",
         lambda w: draw_graph("x")),
    Case("draw-unknown-mode", ValueError, "mode must be one of ['forward', 'backward']",
         lambda w: draw_graph(tiny_root(), mode="sideways")),
    Case("draw-precision", ValueError, "precision must be an int from 0 to 12; got 99",
         lambda w: draw_graph(tiny_root(), precision=99)),
    Case("draw-model-output-list", TypeError, "got [",
         lambda w: draw_graph(w.model([0.5, 1.0]))),
    Case("svg-options-on-digraph", TypeError, "apply to a root Value, not a Digraph",
         lambda w: to_svg(draw_graph(tiny_root()), mode="backward")),
    Case("step-through-a-number", TypeError, "takes the root Value; got 3.0",
         lambda w: StepThrough(3.0)),
    Case("stats-of-none", TypeError, "got None", lambda w: graph_stats(None)),
    # -- formulas: never evaluated as Python -----------------------------------------------
    formula_case("formula-attribute", "x.__class__", "attribute access", x=1.0),
    formula_case("formula-import", "__import__('os').system('true')",
                 "only functions can be called; attribute access"),
    formula_case("formula-dunder-call", "__import__('os')", "unknown function '__import__'"),
    formula_case("formula-dunder-name", "__builtins__", "name '__builtins__'"),
    formula_case("formula-private-name", "_x + 1", "must not start with '_'"),
    formula_case("formula-lambda", "lambda x: x", "lambda"),
    formula_case("formula-lambda-call", "(lambda: 0)()", "only functions can be called; lambda"),
    formula_case("formula-comprehension", "[x for x in y]", "comprehensions"),
    formula_case("formula-generator", "sum(x for x in y)", "generator expressions"),
    formula_case("formula-walrus", "(y := 2) + y", "assignment (':=')"),
    formula_case("formula-subscript", "x[0]", "subscripts", x=1.0),
    formula_case("formula-string", "'rm -rf'", "constants must be real numbers"),
    formula_case("formula-fstring", "f'{x}'", "f-strings"),
    formula_case("formula-bool", "True + 1", "True"),
    formula_case("formula-complex", "1j * x", "1j"),
    formula_case("formula-keyword", "exp(x=1)", "takes no keyword arguments"),
    formula_case("formula-unknown-function", "eval('1')", "unknown function 'eval'"),
    formula_case("formula-floor-div", "x // 2", "operator '//'", x=1.0),
    formula_case("formula-huge-power", "9**9**9", "not finite"),
    formula_case("formula-huge-exponent", "x ** 10000", "not finite", x=2.0),
    formula_case("formula-huge-literal", "1" + "0" * 400, "too large for a float"),
    formula_case("formula-inf-literal", "1e400 * x", "not finite", x=1.0),
    formula_case("formula-exp-overflow", "exp(x)", "not finite", x=1000.0),
    formula_case("formula-deep-unary", "-" * 3000 + "x", "nested too deeply", x=1.0),
    formula_case("formula-deep-parentheses", "(" * 300 + "x" + ")" * 300,
                 "too many nested parentheses", x=1.0),
    formula_case("formula-long-sum", "+".join(["x"] * 4500), "nested too deeply", x=1.0),
    formula_case("formula-too-long", "x" * 10_001, "10001 characters long"),
    formula_case("formula-non-ascii-operator", "x ÷ y", "invalid character '÷'"),
    formula_case("formula-emoji", "🔥(x)", "invalid character"),
    formula_case("formula-bidi-control", "x\u202e + 1", "non-printable character U+202E"),
    formula_case("formula-null-byte", "x\x00", "null bytes"),
    formula_case("formula-empty", "  \n ", "the formula is empty"),
    formula_case("formula-log-domain", "log(x)", "log: input must be positive", x=-1.0),
    formula_case("formula-missing-value", "x * y", "no value for variable 'y'", x=1.0),
    formula_case("formula-unknown-variable", "x", "unknown variable 'z'", x=1.0, z=2.0),
    formula_case("formula-nan-value", "x", "must be finite", x=NAN),
    formula_case("formula-text-value", "x", "must be a real number; got '1'", x="1"),
    Case("formula-bytes", TypeError, "a formula must be a str; got b'x'",
         lambda w: parse_formula(b"x")),
    # -- the command line: exit code 2, one line, the old picture untouched ----------------
    cli_case("cli-attribute", "attribute access", "graph", "x.real", "--at", "x=1"),
    cli_case("cli-import", "unknown function '__import__'", "graph", "__import__('os')"),
    cli_case("cli-lambda", "lambda", "graph", "(lambda: 1)()"),
    cli_case("cli-comprehension", "comprehensions", "graph", "[x for x in y]"),
    cli_case("cli-huge-power", "not finite", "graph", "x**9**9", "--at", "x=2"),
    cli_case("cli-deep-nesting", "nested too deeply", "graph", "0" + "-" * 3000 + "x",
             "--at", "x=1"),
    cli_case("cli-non-ascii", "invalid character '÷'", "graph", "x ÷ 2", "--at", "x=1"),
    cli_case("cli-value-not-a-number", "'abc' is not a number", "graph", "x", "--at", "x=abc"),
    cli_case("cli-nan-value", "must be finite; got 'nan'", "graph", "x", "--at", "x=nan"),
    cli_case("cli-missing-value", "no value for 'w'; add --at w=...", "graph", "x*w",
             "--at", "x=1"),
    cli_case("cli-assignment-syntax", "expects NAME=VALUE", "graph", "x", "--at", "x"),
    cli_case("cli-twice", "gives 'x' twice", "graph", "x", "--at", "x=1", "x=2"),
    cli_case("cli-format", "invalid choice: 'gif'", "graph", "x", "--at", "x=1",
             "--format", "gif"),
    cli_case("cli-precision", "precision must be an int from 0 to 12; got 99", "graph", "x",
             "--at", "x=1", "--precision", "99"),
    cli_case("cli-unknown-command", "invalid choice: 'paint'", "paint"),
    cli_case("cli-graph-too-big", "the graph has 300 nodes to draw, more than max_nodes=250",
             "graph", "+".join(["x"] * 300), "--at", "x=1"),
]


def snapshot(world: World) -> tuple[dict, dict]:
    state = {key: array.tobytes() for key, array in world.model.state_dict().items()}
    files = {path.name: path.read_bytes() for path in sorted(world.folder.iterdir())}
    return state, files


# Every case once; each fit case once per engine.
RUNS = [(case, engine) for case in CASES for engine in (ENGINES if case.engines else ["eager"])]


def run_id(case: Case, engine: str) -> str:
    return f"{case.id}-{engine}" if case.engines else case.id


def test_the_table_is_large_and_its_ids_unique():
    ids = [case.id for case in CASES]
    assert len(ids) >= 150 and len(set(ids)) == len(ids)
    assert sum(case.error is CliExit for case in CASES) >= 10
    assert sum(case.engines for case in CASES) >= 30


@pytest.mark.parametrize(("case", "engine"), RUNS, ids=[run_id(*run) for run in RUNS])
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(case, engine, world):
    world.engine = engine
    before = snapshot(world)
    with pytest.raises(case.error) as info:
        case.action(world)
    message = str(info.value)
    assert case.fragment in message, f"{message!r} does not name the problem"
    if case.error is CliExit:
        assert info.value.code == 2
        assert message.startswith("python -m viz: error: ") and message.count("\n") == 1
    assert snapshot(world) == before, "the model or a file changed"
    assert all(math.isfinite(p.data) for p in world.model.parameters())


@pytest.mark.parametrize("case", [case for case in CASES if case.engines],
                         ids=[case.id for case in CASES if case.engines])
def test_both_engines_refuse_the_same_input_with_the_same_words(case, world):
    messages = {}
    for engine in ENGINES:
        world.engine = engine
        with pytest.raises(case.error) as info:
            case.action(world)
        messages[engine] = str(info.value)
    assert messages["eager"] == messages["trace"]


# Python itself warns about some texts while parsing them ("1if" is an invalid decimal
# literal); the warning must not leak out as a second line.
PYTHON_WARNS = ["1if x else 2", "0x1for x in y", "x + 0o7or 1", "'\\w' + x"]


@pytest.mark.parametrize("text", PYTHON_WARNS)
def test_parsing_emits_no_python_warnings(text):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(FormulaError):
            parse_formula(text)
    assert [str(w.message) for w in caught] == []


def test_the_real_command_line_answers_in_one_line_when_python_warns(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for text in PYTHON_WARNS[:2]:
        done = subprocess.run([sys.executable, "-m", "viz", "graph", text, "--at", "x=1"],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("python -m viz: error: ")


def write_zip_bomb(path: Path, key: str, numbers: int) -> None:
    """A state file whose member ``key`` unpacks to ``8 * numbers`` bytes of zeros."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (numbers,)})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        version = io.BytesIO()
        np.save(version, np.array(1))
        zf.writestr("__nn_state_format__.npy", version.getvalue())
        with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            block = bytes(8_000_000)
            for _ in range(numbers // 1_000_000):
                member.write(block)


@pytest.mark.parametrize("key", ["layers.0.weight", "some.other.key"])
def test_a_state_file_that_unpacks_far_beyond_its_arrays_is_refused_unread(
        tmp_path, monkeypatch, key):
    path = tmp_path / "bomb.npz"
    write_zip_bomb(path, key, 25_000_000)  # under 1 MB on disk, 200 MB unpacked
    before = path.read_bytes()
    assert len(before) < 1_000_000
    model = nn.MLP(2, [3, 2], seed=0)
    state = {k: v.tobytes() for k, v in model.state_dict().items()}
    unpacked = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, *args):
        data = real_read(self, *args)
        unpacked.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    fragment = "unpacks to 200000128 bytes" if key.startswith("layers") else "unexpected key"
    with pytest.raises(ValueError, match=fragment):
        model.load(path)
    assert sum(unpacked) < 1_000_000  # refused from the zip directory, not by unpacking
    assert {k: v.tobytes() for k, v in model.state_dict().items()} == state
    assert path.read_bytes() == before


# -- what the boundary accepts, with the exact answer ----------------------------------------
# Numbers of every real type within range are taken at their exact float value.
ACCEPTED = [
    ("lr-fraction", lambda w: nn.SGD(w.model, lr=Fraction(1, 8)).lr, 0.125),
    ("lr-numpy-float32", lambda w: nn.SGD(w.model, lr=np.float32(0.5)).lr, 0.5),
    ("lr-numpy-int", lambda w: nn.SGD(w.model, lr=np.int64(2)).lr, 2.0),
    ("lr-longdouble-in-range", lambda w: nn.SGD(w.model, lr=np.longdouble("0.25")).lr, 0.25),
    ("lr-big-int-in-range", lambda w: nn.SGD(w.model, lr=2**1000).lr, float(2**1000)),
    ("betas-as-list", lambda w: nn.Adam(w.model, betas=[0.5, 0.75]).betas, (0.5, 0.75)),
    ("nesterov-numpy-bool", lambda w: nn.SGD(w.model, lr=0.1, momentum=0.5,
                                             nesterov=np.bool_(True)).nesterov, True),
    ("epochs-numpy-int", lambda w: w.fit(epochs=np.int64(3)).epochs, 3),
    ("weights-from-int-file", lambda w: _load_state(w, np.int64, 3), 3.0),
    ("weights-from-uint64-file", lambda w: _load_state(w, np.uint64, 2**53), 2.0**53),
    ("weights-from-float16-file", lambda w: _load_state(w, np.float16, 0.5), 0.5),
    ("format-version-int32", lambda w: _load_version(w, np.int32(1)), 1),
    ("format-version-uint8", lambda w: _load_version(w, np.uint8(1)), 1),
]


def _load_state(world: World, dtype, number) -> float:
    """Save every weight as ``number`` of ``dtype``, load it, return the one value read."""
    state = {key: np.full(array.shape, number, dtype=dtype)
             for key, array in world.model.state_dict().items()}
    np.savez(world.path("typed.npz"), __nn_state_format__=np.array(1), **state)
    values = {p.data for p in world.model.load(world.path("typed.npz")).parameters()}
    assert len(values) == 1
    return values.pop()


def _load_version(world: World, version) -> int:
    state = world.model.state_dict()
    np.savez(world.path("typed.npz"), __nn_state_format__=np.array(version), **state)
    world.model.load(world.path("typed.npz"))
    assert {k: v.tobytes() for k, v in world.model.state_dict().items()} == {
        k: v.tobytes() for k, v in state.items()}
    return int(np.load(world.path("typed.npz"))["__nn_state_format__"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("name", "action", "expected"), ACCEPTED,
                         ids=[case[0] for case in ACCEPTED])
def test_numbers_in_range_are_taken_at_their_exact_value(name, action, expected, engine, world):
    world.engine = engine
    answer = action(world)
    assert answer == expected and type(answer) is type(expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_labels_as_floats_or_bool_features_train_as_their_int_equivalents(engine, world):
    base = nn.MLP(2, [3, 2], activation="tanh", seed=0)
    runs = []
    for X, y in [(np.array([[1, 0], [0, 1], [1, 1]]), np.array([0, 1, 1])),
                 (np.array([[True, False], [False, True], [True, True]]),
                  np.array([0.0, 1.0, 1.0]))]:
        world.model = nn.MLP(2, [3, 2], activation="tanh", seed=0)
        world.engine = engine
        runs.append((world.fit(X=X, y=y).loss, world.model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in base.state_dict())
    assert not np.array_equal(runs[0][1]["layers.0.weight"], base.state_dict()["layers.0.weight"])
