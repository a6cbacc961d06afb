"""nn.files.atomic_write: whole files or nothing, with ordinary permissions."""

import os
import stat

import numpy as np
import pytest

from nn.files import atomic_write, atomic_write_all


def test_writes_text_bytes_and_streams(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "héllo").read_text(encoding="utf-8") == "héllo"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    path = atomic_write(tmp_path / "c.npz", lambda stream: np.savez(stream, x=np.arange(3)))
    assert np.load(path)["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.npz"]


def test_the_file_gets_the_mode_a_plain_open_gives(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = atomic_write(tmp_path / "a.txt", "old")

    def half_then_fail(stream):
        stream.write(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_content_of_the_wrong_type_is_refused(tmp_path):
    with pytest.raises(TypeError, match="content must be bytes, a str or a function"):
        atomic_write(tmp_path / "a.txt", 42)
    assert list(tmp_path.iterdir()) == []


def test_several_files_are_written_all_or_none(tmp_path):
    (tmp_path / "old.txt").write_text("kept")

    def fails(stream):
        stream.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_all([(tmp_path / "old.txt", "new"), (tmp_path / "b.txt", fails)])
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]
    assert (tmp_path / "old.txt").read_text() == "kept"
    written = atomic_write_all([(tmp_path / "old.txt", "new"), (tmp_path / "b.txt", b"b")])
    assert [p.read_text() for p in written] == ["new", "b"]


def test_a_folder_where_the_file_should_go_is_refused(tmp_path):
    (tmp_path / "f.npz").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        atomic_write(tmp_path / "f.npz", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]
