"""Atomic file writing: a reader (or a SIGKILL) only ever sees the old file or the new one."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: no writer locks, so stale temps are left alone
    fcntl = None

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
# errno values meaning "this kernel or filesystem cannot do renameat2": use the two renames.
_NO_RENAMEAT2 = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}
_CREATE_TRIES = 16

# (st_dev, st_ino) of the temp folders this process holds a writer lock on. A nested write inside
# one must not take the folder lock on it: flock between two descriptors of one process conflicts.
_LOCKED_FOLDERS: set[tuple[int, int]] = set()


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it (``/proc/self/status``).

    Elsewhere it is set and restored under a lock; a thread of the host program creating a file
    in that instant could still see umask 0, which only this fallback can cause.
    """
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup_of(path: Path) -> Path:
    return path.parent / f".{path.name}.old"


def _try_lock(fd: int) -> bool | None:
    """Take an exclusive flock without waiting: True taken, False held elsewhere, None unsupported."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _remove(path: Path) -> None:
    """Delete a file or a folder tree; what is already gone is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise the ``.<name>.old`` moves in ``folder`` (blocking flock on the folder itself)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        if fcntl is not None and _identity(os.fstat(fd)) not in _LOCKED_FOLDERS:
            with contextlib.suppress(OSError):  # no flock on this filesystem: best effort
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _locked_temp(make: Callable[[], str], *, directory: bool) -> tuple[Path, int]:
    """Create a temp file or folder and hold an exclusive flock on it; returns its path and fd.

    A concurrent ``remove_stale_temps`` may take the lock of a temp between its creation and our
    flock and delete it; then our flock fails, or the name no longer leads to our inode, and we
    simply make another one (a cleaner only deletes while holding the lock).
    """
    for _ in range(_CREATE_TRIES):
        tmp = make()
        try:
            fd = os.open(tmp, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
        except FileNotFoundError:
            continue
        locked = _try_lock(fd)
        if locked is not False:
            with contextlib.suppress(FileNotFoundError):
                if _identity(os.lstat(tmp)) == _identity(os.fstat(fd)):
                    return Path(tmp), fd
        os.close(fd)
    raise OSError(errno.EAGAIN, "could not create a temp name that stays ours")


def _remove_if_unlocked(candidate: Path) -> bool:
    """Delete a temp whose writer lock can be taken (its writer is dead); True when deleted."""
    try:
        # O_NONBLOCK: a FIFO under a temp name must not hang the scan.
        fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if _try_lock(fd) is not True:
            return False
        try:
            if _identity(os.lstat(candidate)) != _identity(os.fstat(fd)):
                return False
        except FileNotFoundError:
            return False
        _remove(candidate)  # while holding the lock, so no creator can claim it meanwhile
        return True
    finally:
        os.close(fd)


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete what killed writers of ``path`` left beside it; a live writer's temp is kept.

    Every writer holds an exclusive ``flock`` on its ``.<name>.<random>.tmp`` file or folder while
    it writes. The kernel drops the lock of a killed process, so any such temp whose lock can be
    taken is stale and removed. A ``.<name>.old`` backup (left by a kill right after the fallback
    two-rename swap of :func:`atomic_directory`) is removed when ``<name>`` exists; when ``<name>``
    is missing it is the only complete copy and is kept for :func:`resolve_replaced`.

    Parameters
    ----------
    path : str or os.PathLike
        The target file or folder whose leftovers to remove. One scan of its parent folder.

    Returns
    -------
    list of Path
        The entries removed.
    """
    path = Path(path)
    prefix, suffix = f".{path.name}.", ".tmp"
    try:
        names = [entry.name for entry in os.scandir(path.parent)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = [path.parent / name for name in names
               if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix)
               and _remove_if_unlocked(path.parent / name)]
    backup = backup_of(path)
    if backup.name in names and path.name in names:
        with _folder_lock(path.parent):
            if os.path.lexists(path) and os.path.lexists(backup):
                _remove(backup)
                removed.append(backup)
    return removed


def resolve_replaced(path: str | os.PathLike) -> Path:
    """``path``, or its copy under a ``.<name>.old`` backup when a folder swap was killed midway.

    The fallback swap of :func:`atomic_directory` moves the old folder to ``.<name>.old`` and then
    the new one to ``<name>``; a SIGKILL between the two leaves only the backup. Readers call this
    on what they are about to open: ``resolve_replaced("reports/run/results.json")`` gives
    ``reports/.run.old/results.json`` in that case.

    Parameters
    ----------
    path : str or os.PathLike
        A file or folder, at any depth below the replaced folder (or the folder itself).

    Returns
    -------
    Path
        ``path`` when it exists or no backup holds it; otherwise the existing copy in the backup.
    """
    path = Path(path)
    if os.path.lexists(path):
        return path
    for missing in (path, *path.parents):
        if missing.name in ("", ".", ".."):
            break
        if os.path.lexists(missing):
            break  # the nearest existing folder was put in place whole: nothing was swapped out
        candidate = backup_of(missing) / path.relative_to(missing)
        if os.path.lexists(candidate):
            return candidate
    return path


@functools.cache
def _renameat2() -> Callable[[Path, Path, int], None] | None:
    """``renameat2(2)`` through libc, or None where the platform has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int

    def rename(src: Path, dst: Path, flags: int) -> None:
        if function(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), flags) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(src), None, str(dst))

    return rename


def _swap_in(tmp: Path, path: Path) -> bool:
    """Put ``tmp`` at ``path`` in one atomic step (the old entry lands at ``tmp``); False if unsupported."""
    rename = _renameat2()
    if rename is None:
        return False
    for _ in range(_CREATE_TRIES):
        try:
            rename(tmp, path, RENAME_EXCHANGE)
            return True
        except OSError as err:
            if err.errno in _NO_RENAMEAT2:
                return False
            if err.errno != errno.ENOENT:
                raise
        try:  # nothing at path yet
            rename(tmp, path, RENAME_NOREPLACE)
            return True
        except OSError as err:
            if err.errno in _NO_RENAMEAT2:
                return False
            if err.errno != errno.EEXIST:
                raise
    raise OSError(errno.EAGAIN, "the target kept appearing and vanishing", str(path))


def _two_renames(tmp: Path, path: Path) -> None:
    """The portable swap: old folder to ``.<name>.old``, new one to ``<name>``, then drop the backup."""
    backup = backup_of(path)
    with _folder_lock(path.parent):  # concurrent fallback writers take turns here
        if os.path.lexists(path):
            _remove(backup)
            os.replace(path, backup)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        _remove(backup)  # also a backup a kill between the renames left before


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    Use it for writers that want a file name (``safetensors.torch.save_file``, ``np.save``).
    On an exception the temporary file is removed and ``path`` is untouched. The temp file is
    flock-ed while it exists, and temps of killed writers of ``path`` are removed first
    (:func:`remove_stale_temps`). Write to the yielded path in place; do not delete and recreate it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp_path, lock = _locked_temp(
        lambda: _mkstemp_closed(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent), directory=False)
    try:
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; a written file should look ordinary
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.lexists(tmp_path):
            _remove(tmp_path)
        os.close(lock)


def _mkstemp_closed(**kwargs: Any) -> str:
    fd, name = tempfile.mkstemp(**kwargs)
    os.close(fd)
    return name


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON (keys in insertion order, NaN forbidden) atomically."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
    atomic_write_text(path, text + "\n")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole.

    On Linux the new folder and the old one swap names in one ``renameat2(RENAME_EXCHANGE)`` and
    the old one is then deleted under the temp name, so ``path`` never disappears. Elsewhere (or
    on a filesystem without it) the old folder is moved to ``.<name>.old`` first; a kill between
    the two renames then leaves only that backup, which :func:`resolve_replaced` finds. The temp
    folder is flock-ed while it exists, and leftovers of killed writers are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp, lock = _locked_temp(
        lambda: tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent), directory=True)
    identity = _identity(os.fstat(lock))
    _LOCKED_FOLDERS.add(identity)
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        if _swap_in(tmp, path):
            _fsync_dir(path.parent)
            if os.path.lexists(backup_of(path)):  # left by an earlier fallback swap killed midway
                remove_stale_temps(path)
        else:
            _two_renames(tmp, path)
    finally:
        _remove(tmp)  # after a swap, this is the previous version
        _LOCKED_FOLDERS.discard(identity)
        os.close(lock)
