"""Writing files so that a failure never leaves half a file: one helper for nn and viz."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Union

__all__ = ["atomic_write"]

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
    if not isinstance(content, (bytes, str)) and not callable(content):
        raise TypeError(
            f"atomic_write: content must be bytes, a str or a function of a stream; "
            f"got {content!r}")
    target = Path(path)
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
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
