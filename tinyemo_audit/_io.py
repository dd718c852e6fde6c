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


def remove_entry(path: Path) -> None:
    """Delete a file, a link (never what it points to) or a folder tree; what is already gone is fine."""
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
def folder_lock(folder: Path) -> Iterator[None]:
    """Serialise the ``.<name>.old`` moves and manifest updates in ``folder`` (blocking flock on the folder itself)."""
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
        remove_entry(candidate)  # while holding the lock, so no creator can claim it meanwhile
        return True
    finally:
        os.close(fd)


def _locked_temp_folder(path: Path) -> tuple[Path, int]:
    """A fresh ``.<name>.<random>.tmp`` folder beside ``path`` under its writer lock, after removing dead writers' ones."""
    remove_stale_temps(path)
    return _locked_temp(lambda: tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent),
                        directory=True)


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
        with folder_lock(path.parent):
            if os.path.lexists(path) and os.path.lexists(backup):
                remove_entry(backup)
                removed.append(backup)
    return removed


@contextlib.contextmanager
def scratch_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A private working folder beside ``path`` (``.<name>.<random>.tmp``), removed on exit.

    The folder is held under the writer lock of :func:`remove_stale_temps`, so the folder of a
    killed process is removed by the next ``scratch_folder`` of the same ``path``, and a live one's
    never is.

    >>> import pathlib, tempfile
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> with scratch_folder(parent / "plan") as work:
    ...     work.parent == parent and work.name.startswith(".plan.")
    True
    >>> list(parent.iterdir())
    []
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _locked_temp_folder(path)
    try:
        yield tmp
    finally:
        remove_entry(tmp)  # while holding the lock
        os.close(fd)


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


def _swap_in(tmp: Path, path: Path) -> str | None:
    """Put ``tmp`` at ``path`` in one atomic step; None where the platform cannot.

    Returns ``"exchanged"`` (the old entry now sits at ``tmp``) or ``"new"`` (nothing was at ``path``).
    """
    rename = _renameat2()
    if rename is None:
        return None
    for _ in range(_CREATE_TRIES):
        try:
            rename(tmp, path, RENAME_EXCHANGE)
            return "exchanged"
        except OSError as err:
            if err.errno in _NO_RENAMEAT2:
                return None
            if err.errno != errno.ENOENT:
                raise
        try:  # nothing at path yet
            rename(tmp, path, RENAME_NOREPLACE)
            return "new"
        except OSError as err:
            if err.errno in _NO_RENAMEAT2:
                return None
            if err.errno != errno.EEXIST:
                raise
    raise OSError(errno.EAGAIN, "the target kept appearing and vanishing", str(path))


def _two_renames(tmp: Path, path: Path, *, keep_backup: bool = False) -> bool:
    """The portable swap: old folder to ``.<name>.old``, new one to ``<name>``, then drop the backup.

    With ``keep_backup`` the backup stays (for a rollback) and the caller removes it; returns
    whether there was an old folder.
    """
    backup = backup_of(path)
    with folder_lock(path.parent):  # concurrent fallback writers take turns here
        had_old = os.path.lexists(path)
        if had_old:
            remove_entry(backup)
            os.replace(path, backup)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        if not keep_backup:
            remove_entry(backup)  # also a backup a kill between the renames left before
    return had_old


def normal_file_mode() -> int:
    """The mode a new file gets from ``open()`` under the current umask (0666 & ~umask)."""
    return 0o666 & ~_umask()


def _normalise_modes(root: Path) -> None:
    """Give every file and folder under ``root`` the modes ``open``/``mkdir`` would, whatever wrote them.

    Some writers (safetensors 0.8 among them) create their files 0600 through their own temp file.
    """
    files, folders = normal_file_mode(), 0o777 & ~_umask()
    os.chmod(root, folders)
    for top, dirs, names in os.walk(root):
        for name in dirs:
            with contextlib.suppress(FileNotFoundError):
                if not os.path.islink(os.path.join(top, name)):
                    os.chmod(os.path.join(top, name), folders)
        for name in names:
            full = os.path.join(top, name)
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISREG(os.lstat(full).st_mode):
                    os.chmod(full, files)


class _Staged:
    """One target of an :class:`AtomicSet`: its temp, the writer lock on it, and how it was put in place."""

    def __init__(self, path: Path, directory: bool):
        self.path, self.directory = path, directory
        self.identity: tuple[int, int] | None = None
        self.placed: str | None = None  # "exchanged", "new", "fallback", "fallback-new", "replaced", "created"
        self.backup: Path | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        if directory:
            self.tmp, self.lock = _locked_temp_folder(path)
            self.identity = _identity(os.fstat(self.lock))
            _LOCKED_FOLDERS.add(self.identity)
            os.chmod(self.tmp, 0o777 & ~_umask())
        else:
            remove_stale_temps(path)
            self.tmp, self.lock = _locked_temp(
                lambda: _mkstemp_closed(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent), directory=False)
            os.chmod(self.tmp, normal_file_mode())  # mkstemp makes 0600; a written file should look ordinary

    def finish(self) -> None:
        """Make the written temp ready to go in place: ordinary modes, file contents on disk."""
        if self.directory:
            _normalise_modes(self.tmp)
            return
        if _identity(os.lstat(self.tmp)) != _identity(os.fstat(self.lock)):
            # The writer replaced our temp by a file of its own: lock that one instead.
            fd = os.open(self.tmp, os.O_RDONLY)
            _try_lock(fd)
            os.close(self.lock)
            self.lock = fd
        os.chmod(self.tmp, normal_file_mode())
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())

    def check_kind(self) -> None:
        """Refuse to swap a file with a folder (or a folder with a file): the swap would delete it."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if self.directory and not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, "not a folder, so a folder cannot replace it", str(self.path))
        if not self.directory and stat.S_ISDIR(st.st_mode):
            raise OSError(errno.EISDIR, "a folder, so a file cannot replace it", str(self.path))

    def put_in_place(self, keep_old: bool) -> None:
        self.check_kind()
        if self.directory:
            self.placed = _swap_in(self.tmp, self.path)
            if self.placed is None:
                had_old = _two_renames(self.tmp, self.path, keep_backup=keep_old)
                self.placed = "fallback" if had_old else "fallback-new"
            return
        if keep_old and os.path.lexists(self.path):
            self.backup = _link_beside(self.path)
        existed = self.backup is not None or os.path.lexists(self.path)
        os.replace(self.tmp, self.path)
        self.placed = "replaced" if existed else "created"

    def take_back(self) -> None:
        """Undo :meth:`put_in_place`: the old version (or nothing) at the target again."""
        placed, self.placed = self.placed, None
        if placed == "exchanged":
            _swap_in(self.tmp, self.path)  # exchanging again brings the old one back
        elif placed == "new" or placed == "fallback-new" or (placed == "created"):
            os.rename(self.path, self.tmp)
        elif placed == "fallback":
            os.rename(self.path, self.tmp)
            os.rename(backup_of(self.path), self.path)
        elif placed == "replaced" and self.backup is not None:
            os.replace(self.backup, self.path)
            self.backup = None

    def settle(self) -> None:
        """After the whole set is in place: drop backups of the old versions."""
        if self.placed in ("exchanged", "new") and os.path.lexists(backup_of(self.path)):
            remove_stale_temps(self.path)  # a backup left by an earlier fallback swap killed midway
        if self.placed in ("fallback", "fallback-new"):
            with folder_lock(self.path.parent):
                remove_entry(backup_of(self.path))
        if self.backup is not None:
            remove_entry(self.backup)
            self.backup = None

    def close(self) -> None:
        try:
            remove_entry(self.tmp)  # after an exchange this is the previous version
            if self.backup is not None:  # the second name of a file whose replacement failed
                remove_entry(self.backup)
        finally:
            if self.identity is not None:
                _LOCKED_FOLDERS.discard(self.identity)
            os.close(self.lock)


def _link_beside(path: Path) -> Path:
    """A second name ``.<name>.<random>.tmp`` for the file at ``path`` (kept for a rollback)."""
    for _ in range(_CREATE_TRIES):
        name = path.parent / f".{path.name}.{os.urandom(4).hex()}.tmp"
        try:
            os.link(path, name)
            return name
        except FileExistsError:
            continue
    raise OSError(errno.EAGAIN, "could not pick a free backup name", str(path))


class AtomicSet:
    """Files and folders replaced as one unit: all their new versions, or (after a failure) all the old ones.

    Use it through :func:`atomic_set`. Each :meth:`file` / :meth:`folder` call returns a locked temp
    beside its target to write into; when the ``with`` block ends without an exception every temp
    is put in place (folders by one exchange where the platform can), and if putting one in place
    fails, the ones already swapped are swapped back before the error propagates. A SIGKILL during
    the swaps of several targets can leave some new and some old versions, each one complete.
    """

    def __init__(self) -> None:
        self._items: list[_Staged] = []

    def file(self, path: str | os.PathLike) -> Path:
        """A temp file to write ``path``'s new contents into (write into it in place)."""
        return self._stage(Path(path), directory=False)

    def folder(self, path: str | os.PathLike) -> Path:
        """A temp folder to fill with ``path``'s new contents."""
        return self._stage(Path(path), directory=True)

    def _stage(self, path: Path, directory: bool) -> Path:
        item = _Staged(path, directory)
        self._items.append(item)
        return item.tmp

    def commit(self) -> None:
        """Put every staged target in place; on a failure swap back those already in place, then raise."""
        for item in self._items:
            item.finish()
        keep_old = len(self._items) > 1  # a single target needs no rollback
        placed: list[_Staged] = []
        try:
            for item in self._items:
                item.put_in_place(keep_old)
                placed.append(item)
        except BaseException:
            for item in reversed(placed):
                with contextlib.suppress(OSError):
                    item.take_back()
            raise
        for parent in dict.fromkeys(item.path.parent for item in self._items):
            _fsync_dir(parent)
        for item in self._items:
            item.settle()

    def close(self) -> None:
        """Remove the temps (after a commit they hold the previous versions) and drop the writer locks."""
        for item in self._items:
            item.close()


@contextlib.contextmanager
def atomic_set() -> Iterator[AtomicSet]:
    """Yield an :class:`AtomicSet`; its targets are replaced together when the block ends cleanly.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_set() as outputs:
    ...     run = outputs.folder(folder / "run")
    ...     _ = (run / "results.json").write_text("{}")
    ...     _ = outputs.file(folder / "junit.xml").write_text("<testsuites/>")
    >>> sorted(p.name for p in folder.iterdir())
    ['junit.xml', 'run']
    """
    outputs = AtomicSet()
    try:
        yield outputs
        outputs.commit()
    finally:
        outputs.close()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    Use it for writers that want a file name (``safetensors.torch.save_file``, ``np.save``).
    On an exception the temporary file is removed and ``path`` is untouched. The temp file is
    flock-ed while it exists, and temps of killed writers of ``path`` are removed first
    (:func:`remove_stale_temps`). The file gets the ordinary mode (0666 & ~umask) whatever the
    writer made, also when the writer replaced the temp by a file of its own.
    """
    with atomic_set() as outputs:
        yield outputs.file(path)


def _mkstemp_closed(**kwargs: Any) -> str:
    fd, name = tempfile.mkstemp(**kwargs)
    os.close(fd)
    return name


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (an undecodable byte of a file name) becomes a visible ``\\udcXX``."""
    return text.encode("utf-8", errors="backslashreplace")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`utf8`)."""
    atomic_write_bytes(path, utf8(text))


def json_bytes(obj: Any, *, indent: int | None = 2) -> bytes:
    """``obj`` as UTF-8 JSON (keys in insertion order, NaN forbidden) and a final newline.

    Text that UTF-8 cannot hold (lone surrogates from undecodable file names) is written as JSON
    ``\\u`` escapes instead, so it reads back as the same string.
    """
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, indent=indent, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON (see :func:`json_bytes`) atomically."""
    atomic_write_bytes(path, json_bytes(obj, indent=indent))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole.

    On Linux the new folder and the old one swap names in one ``renameat2(RENAME_EXCHANGE)`` and
    the old one is then deleted under the temp name, so ``path`` never disappears. Elsewhere (or
    on a filesystem without it) the old folder is moved to ``.<name>.old`` first; a kill between
    the two renames then leaves only that backup, which :func:`resolve_replaced` finds. The temp
    folder is flock-ed while it exists, and leftovers of killed writers are removed first. Every
    file and folder in it gets the ordinary modes (0666 / 0777 & ~umask) before the swap.
    """
    with atomic_set() as outputs:
        yield outputs.folder(path)
