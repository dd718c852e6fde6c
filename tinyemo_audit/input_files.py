"""Reading what a user points at: regular files only, size-bounded, and paths kept inside their folder.

Three rules for every reader of user data (datasets, manifests, feature files, configs, gate
files, results.json, bundles) live here and nowhere else:

- **Only regular files are data.** A FIFO, socket, device or folder under a data name is refused:
  it is opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so a FIFO
  named ``*.pt`` can never hang a read, and a file swapped between check and open is still caught.
- **Sizes are bounded.** A reader says how many bytes it accepts; a bigger file is refused before
  it is read whole.
- **"Inside the folder" is decided on resolved paths.** :func:`is_inside` resolves symlinks (and
  ``..``) of both sides first, so a symlink in a dataset folder cannot lead the audit to
  ``/etc/hostname``.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> (folder / "a.txt").write_text("hello")
5
>>> read_bytes(folder / "a.txt", what="note", max_bytes=100)
b'hello'
>>> is_inside(folder / "a.txt", folder), is_inside(folder / ".." / "x", folder)
(True, False)
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import InputError
from .user_text import shorten, visible

MiB = 1024 * 1024
_KIND = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}


def shown_path(path: str | os.PathLike) -> str:
    """A path as a message shows it: control characters visible, bounded in length."""
    return shorten(visible(os.fspath(path), one_line=True), 160)


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, in words ("a regular file", "a FIFO (named pipe)", ...)."""
    return "a regular file" if stat.S_ISREG(mode) else _KIND.get(stat.S_IFMT(mode), "not a regular file")


def not_regular_reason(path: str | os.PathLike) -> str | None:
    """None when ``path`` (symlinks followed) is a regular file; otherwise why it cannot be read as data."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "not found"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    return None if stat.S_ISREG(st.st_mode) else f"is {kind_of(st.st_mode)}, not a regular file"


def regular_file(path: str | os.PathLike, *, what: str) -> Path:
    """``path`` as a Path when it is a regular file (symlinks followed); otherwise an InputError.

    Use it for up-front checks; readers should still open through :func:`open_regular`, which
    re-checks on the open descriptor.
    """
    reason = not_regular_reason(path)
    if reason is not None:
        raise InputError(f"{what} {shown_path(path)} {reason}" if reason != "not found"
                         else f"{what} not found: {shown_path(path)}")
    return Path(path)


def open_regular(path: str | os.PathLike, *, what: str) -> int:
    """An ``O_RDONLY`` descriptor of ``path``, only if it is a regular file (never blocks on a FIFO).

    The caller owns (and closes) the descriptor.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {shown_path(path)}") from None
    except OSError as err:
        if err.errno in (errno.ENXIO, errno.EISDIR):  # a FIFO/socket without a writer, a folder
            raise InputError(f"{what} {shown_path(path)} is not a regular file") from None
        raise InputError(f"cannot open {what} {shown_path(path)}: {err.strerror or err}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{what} {shown_path(path)} is {kind_of(mode)}, not a regular file")
    if getattr(os, "O_NONBLOCK", 0):  # regular files ignore it, but reads should block as usual
        os.set_blocking(fd, True)
    return fd


def read_bytes(path: str | os.PathLike, *, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``; an InputError if it is anything else or over ``max_bytes``."""
    fd = open_regular(path, what=what)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise InputError(f"{what} {shown_path(path)} is {size:,} bytes; at most {max_bytes:,} are accepted")
        chunks, total = [], 0
        while True:  # read to the end, never past the bound (the file may grow while we read)
            chunk = os.read(fd, min(MiB, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise InputError(f"{what} {shown_path(path)} is over {max_bytes:,} bytes; at most that is accepted")
        return b"".join(chunks)
    except OSError as err:
        raise InputError(f"cannot read {what} {shown_path(path)}: {err.strerror or err}") from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike, *, what: str, max_bytes: int) -> str:
    """UTF-8 text of the regular file ``path`` (see :func:`read_bytes`); a one-line error if not UTF-8."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{what} {shown_path(path)} is not UTF-8 text (byte 0x{data[err.start]:02x} "
                         f"on line {line}); save it as UTF-8") from None


def is_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` stays inside the folder ``root`` once both are resolved (symlinks and ``..``)."""
    top = os.path.realpath(root)
    target = os.path.realpath(path)
    return target == top or os.path.commonpath([top, target]) == top


def file_sha256(path: str | os.PathLike, *, what: str) -> str:
    """Hex sha256 of the regular file ``path``, read in blocks (any size); InputError if it is not one."""
    import hashlib

    fd = open_regular(path, what=what)
    digest = hashlib.sha256()
    try:
        while block := os.read(fd, 4 * MiB):
            digest.update(block)
    except OSError as err:
        raise InputError(f"cannot read {what} {shown_path(path)}: {err.strerror or err}") from None
    finally:
        os.close(fd)
    return digest.hexdigest()
