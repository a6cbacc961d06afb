"""nn.fit's progress bar: seen on a terminal and in a notebook, silent in files and pipes."""

from __future__ import annotations

import sys
import types

import nbformat
from nbclient import NotebookClient

import nn
from nn import training

FIT_CELL = """
import warnings
warnings.simplefilter("always")
import nn
model = nn.MLP(2, [4, 1], seed=0)
X, y = nn.make_moons(20, noise=0.1, seed=0)
history = nn.fit(model, X, 2 * y - 1, loss=nn.hinge_loss,
                 optimizer=nn.SGD(model, lr=0.1), epochs=30, seed=0)
print("epochs run:", len(history.loss))
"""


def test_fit_shows_a_text_bar_in_a_notebook_kernel_without_warnings(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIT_CELL)])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    stdout = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert "epochs run: 30" in stdout
    assert "/30 [" in stderr and "epoch/s" in stderr and "loss=" in stderr
    assert "Warning" not in stderr
    assert not [o for o in outputs if o.output_type == "error"]


class _Shell:
    kernel = object()


def _fake_kernel(monkeypatch):
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: _Shell()
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


def test_the_widget_bar_is_chosen_when_ipywidgets_is_installed(monkeypatch):
    _fake_kernel(monkeypatch)
    made = []
    fake = types.ModuleType("tqdm.notebook")
    fake.tqdm = lambda iterable, **options: made.append(options) or iter(iterable)
    monkeypatch.setitem(sys.modules, "tqdm.notebook", fake)
    real_find_spec = training.importlib.util.find_spec
    monkeypatch.setattr(
        training.importlib.util, "find_spec",
        lambda name, *a: object() if name == "ipywidgets" else real_find_spec(name, *a),
    )
    training._progress_bar(3, True)
    assert made == [{"unit": "epoch", "leave": False}]
    monkeypatch.setattr(training.importlib.util, "find_spec", lambda name, *a: None)
    bar = training._progress_bar(3, True)
    assert bar.disable is False and len(made) == 1
    bar.close()


def test_the_bar_is_off_when_asked_or_when_output_is_not_a_terminal(capsys):
    assert training._progress_bar(3, False).disable is True
    assert training._progress_bar(3, True).disable is True  # pytest's output is no terminal
    model = nn.MLP(2, [2, 1], seed=0)
    X, y = nn.make_xor()
    nn.fit(model, X, y, loss=nn.mse_loss, optimizer=nn.SGD(model, lr=0.1), epochs=3)
    assert capsys.readouterr().err == ""
