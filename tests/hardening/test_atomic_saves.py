"""No data lost: every save writes a temporary file beside the target and renames it.

A failure injected at each step of a save (half-way through writing, at the flush to
disk, at the rename, and a Ctrl-C) leaves the previous file byte for byte, no
temporary file behind, and a model that can still be saved and loaded. The same holds
for viz's writes (step-through pages, the command line's ``--out``).
"""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import pytest

import nn
import viz
from autograd_core import Value
from viz.cli import main as cli_main

REAL_SAVEZ = np.savez
REAL_FDOPEN = os.fdopen


class DiskFull(OSError):
    pass


def savez_half_then_fail(stream, *args, **kwargs):
    """Write the first half of what np.savez would write, then fail like a full disk."""
    buffer = io.BytesIO()
    REAL_SAVEZ(buffer, *args, **kwargs)
    stream.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    raise DiskFull("no space left on device")


def savez_interrupted(stream, *args, **kwargs):
    stream.write(b"PK\x03\x04 partial")
    raise KeyboardInterrupt


def fail(*args, **kwargs):
    raise DiskFull("no space left on device")


INJECTIONS = {
    "half-written": ("numpy.savez", savez_half_then_fail, DiskFull),
    "interrupted": ("numpy.savez", savez_interrupted, KeyboardInterrupt),
    "flush-to-disk": ("os.fsync", fail, DiskFull),
    "rename": ("os.replace", fail, DiskFull),
}


def files_in(folder):
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("first_save", [False, True], ids=["over-an-old-file", "first-save"])
@pytest.mark.parametrize("where", list(INJECTIONS))
def test_an_interrupted_model_save_keeps_the_old_file(tmp_path, monkeypatch, where, first_save):
    path = tmp_path / "model.npz"
    old_model = nn.MLP(2, [3, 2], seed=0)
    if not first_save:
        old_model.save(path)
    before = path.read_bytes() if not first_save else None
    new_model = nn.MLP(2, [3, 2], seed=1)
    target, replacement, error = INJECTIONS[where]
    with monkeypatch.context() as patch:
        patch.setattr(target, replacement)
        with pytest.raises(error):
            new_model.save(path)
    if first_save:
        assert files_in(tmp_path) == []  # no half file under the name, no temporary
    else:
        assert files_in(tmp_path) == ["model.npz"]  # no temporary left behind
        assert path.read_bytes() == before
        assert_same_parameters(nn.MLP(2, [3, 2]).load(path), old_model)
    # Nothing stale either: the next save goes through and reads back exactly.
    new_model.save(path)
    assert_same_parameters(nn.MLP(2, [3, 2]).load(path), new_model)
    assert files_in(tmp_path) == ["model.npz"]


def assert_same_parameters(model, reference):
    assert [p.data for p in model.parameters()] == [p.data for p in reference.parameters()]


def test_saving_writes_a_complete_temporary_file_then_renames_it(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = nn.MLP(2, [3, 2], seed=0)
    renames = []
    real_replace = os.replace

    def spy(source, destination):
        # At the moment of the rename the temporary file is already complete and valid.
        copy = nn.MLP(2, [3, 2]).load(source)
        renames.append((os.fspath(source), os.fspath(destination), copy))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", spy)
    model.save(path)
    ((source, destination, copy),) = renames
    assert destination == str(path)
    assert os.path.dirname(source) == str(tmp_path) and source != destination
    assert_same_parameters(copy, model)


class HalfWriter:
    """A file object whose write stores half of the data, then fails."""

    attempts: list[bytes] = []

    def __init__(self, stream):
        self.stream = stream

    def write(self, data):
        HalfWriter.attempts.append(bytes(data))
        self.stream.write(data[: len(data) // 2])
        raise DiskFull("no space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stream.close()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def half_writing_fdopen(fd, *args, **kwargs):
    return HalfWriter(REAL_FDOPEN(fd, *args, **kwargs))


VIZ_INJECTIONS = {"half-written": ("os.fdopen", half_writing_fdopen),
                  "rename": ("os.replace", fail)}


@pytest.fixture(autouse=True)
def _no_attempts():
    HalfWriter.attempts.clear()


@pytest.mark.parametrize("where", list(VIZ_INJECTIONS))
def test_an_interrupted_step_through_page_keeps_the_old_page(tmp_path, monkeypatch, where):
    path = tmp_path / "steps.html"
    path.write_bytes(b"<html>the old page</html>\n")
    x = Value(2.0, "x")
    steps = viz.StepThrough(x * x + x)
    assert len(steps.frames) == len(steps)  # rendered first: only the write is under test
    target, replacement = VIZ_INJECTIONS[where]
    with monkeypatch.context() as patch:
        patch.setattr(target, replacement)
        with pytest.raises(DiskFull):
            steps.save_html(path)
    assert path.read_bytes() == b"<html>the old page</html>\n"
    assert files_in(tmp_path) == ["steps.html"]
    if where == "half-written":  # the failure hit the page's own write
        assert [data[:15] for data in HalfWriter.attempts] == [b"<!DOCTYPE html>"]
    steps.save_html(path)
    assert "Message 1 of" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("where", list(VIZ_INJECTIONS))
def test_an_interrupted_command_line_write_keeps_the_old_picture(tmp_path, monkeypatch, where):
    path = tmp_path / "graph.svg"
    path.write_bytes(b"<svg>the old picture</svg>\n")
    stderr = io.StringIO()
    target, replacement = VIZ_INJECTIONS[where]
    with monkeypatch.context() as patch, contextlib.redirect_stderr(stderr):
        patch.setattr(target, replacement)
        code = cli_main(["graph", "tanh(w*x + b)", "--at", "x=0.5", "w=-3", "b=2",
                         "--out", str(path)])
    assert code == 1
    assert stderr.getvalue().startswith("python -m viz: failed: ")
    assert "no space left on device" in stderr.getvalue()
    assert path.read_bytes() == b"<svg>the old picture</svg>\n"
    assert files_in(tmp_path) == ["graph.svg"]
    if where == "half-written":  # the failure hit the picture's own write
        assert len(HalfWriter.attempts) == 1 and b"<svg" in HalfWriter.attempts[0]
