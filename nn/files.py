"""Writing files so that a failure never leaves half a file: one helper for nn and viz."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Union

__all__ = ["atomic_write", "atomic_write_all"]

Content = Union[bytes, str, Callable[[BinaryIO], None]]


def atomic_write(path: str | os.PathLike, content: Content) -> Path:
    """Write a whole file or nothing: into a temporary file beside it, then rename.

    The temporary file is created with the permissions a plain ``open()`` would give
    (the umask applies), flushed to disk, and moved over ``path`` with
    ``os.replace``. If anything fails on the way (including Ctrl-C), the temporary
    file is removed and the previous file at ``path``, if any, is left as it was.

    Args:
        path: the file to write; its folder must exist.
        content: the bytes, a str (written as UTF-8), or a function that writes to
            the open binary stream it is given (such as ``lambda f: np.savez(f, ...)``).

    Returns:
        ``path`` as a ``Path``.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> atomic_write(os.path.join(folder, "note.txt"), "hello").read_text()
        'hello'
    """
    return atomic_write_all([(path, content)])[0]


def atomic_write_all(files: Sequence[tuple[str | os.PathLike, Content]]) -> list[Path]:
    """Write several files as :func:`atomic_write` does, all of them or none.

    Every target is checked first (a folder where a file should go is refused), then
    every file is written to its temporary, and only then are they all renamed into
    place; a failure before the renames leaves no file and no temporary.

    Args:
        files: (path, content) pairs, each content as for :func:`atomic_write`.

    Returns:
        The paths, as ``Path`` objects, in the order given.

    Raises:
        ValueError: a path is an existing folder (nothing is written).
    """
    pairs = [(Path(path), content) for path, content in files]
    for target, content in pairs:
        if not isinstance(content, (bytes, str)) and not callable(content):
            raise TypeError(
                f"atomic_write: content must be bytes, a str or a function of a stream; "
                f"got {content!r}")
        if target.is_dir():
            raise ValueError(f"{str(target)!r} is a folder; give the name of a file to write")
    temporaries: list[Path] = []
    try:
        for target, content in pairs:
            temporaries.append(_write_temporary(target, content))
        for temporary, (target, _) in zip(temporaries, pairs):
            os.replace(temporary, target)
    except BaseException:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        raise
    return [target for target, _ in pairs]


def _write_temporary(target: Path, content: Content) -> Path:
    """``content`` in a new temporary file beside ``target``, flushed to disk."""
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            if isinstance(content, str):
                stream.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                stream.write(content)
            else:
                content(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
