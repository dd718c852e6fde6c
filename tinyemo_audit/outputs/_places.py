"""Where an output may go: not an input of the command, not a system tree, a place that takes a file."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import UsageError
from ..input_files import kind_of, shown_path
from ._ownership import kind_in_words

PROBE_PREFIX = ".tinyemo-audit-probe."
# Trees of the running system that never hold a user's output (/dev/shm is ordinary memory-backed storage).
SYSTEM_TREES = ("/proc", "/sys", "/dev")
SYSTEM_TREE_EXCEPTIONS = ("/dev/shm",)
# Filesystem types that cannot hold ordinary files (from /proc/self/mountinfo).
VIRTUAL_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "pstore",
    "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs", "binfmt_misc", "efivarfs", "nsfs",
    "rpc_pipefs", "selinuxfs",
})
# errno values that mean "this place cannot take the write" (not a bug): a one-line error, exit 2.
SAME_AS_INPUT = "is the {what} this command reads"
INSIDE_INPUT = "is inside {what} {input}, which this command reads"
HOLDS_INPUT = "holds {what} {input}, which this command reads"


# ------------------------------------------------------------------------------------- writability

def _mount_types() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount, longest mount point first; [] where unknown."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if sep and len(fields) >= 5 and right.split():
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            mounts.append((point, right.split()[0]))
    return sorted(mounts, key=lambda m: len(m[0]), reverse=True)


def _filesystem_type(path: str) -> str | None:
    for point, fstype in _mount_types():
        if path == point or path.startswith(point.rstrip("/") + "/"):
            return fstype
    return None


def _system_tree(real: str) -> str | None:
    for tree in SYSTEM_TREES:
        if (real == tree or real.startswith(tree + "/")) and not any(
                real == keep or real.startswith(keep + "/") for keep in SYSTEM_TREE_EXCEPTIONS):
            return tree
    return None


def place_problem(path: str | os.PathLike, *, folder: bool) -> str | None:
    """None when a file (or a folder) can be written at ``path``; else why not (checked before any work).

    Parameters
    ----------
    path : str or os.PathLike
        The output.
    folder : bool
        Whether the output is a folder.

    Returns
    -------
    str or None
        The reason, worded to follow the path in a message.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # missing (the nearest existing folder is checked below)
    except (OSError, ValueError) as err:
        return f"cannot be used: {getattr(err, 'strerror', None) or err}"
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            return "is a symbolic link; give the path itself"
        if folder and not stat.S_ISDIR(st.st_mode):
            return f"is {kind_in_words(st.st_mode)}; give a folder"
        if not folder and stat.S_ISDIR(st.st_mode):
            return "is a folder; give a file path"
        if not folder and not stat.S_ISREG(st.st_mode):
            return f"is {kind_of(st.st_mode)}, not a file"
    anchor = Path(os.path.abspath(path)).parent
    while not os.path.lexists(anchor) and anchor != anchor.parent:
        anchor = anchor.parent
    if not anchor.is_dir():
        return f"cannot be created: {shown_path(anchor)} is {_kind(anchor)}, not a folder"
    real = os.path.realpath(anchor)
    tree = _system_tree(real)
    if tree is not None:
        return f"is under {tree}, which holds the running system's files, not outputs"
    fstype = _filesystem_type(real)
    if fstype in VIRTUAL_FILESYSTEMS:
        return f"is on a {fstype} filesystem, which cannot hold files"
    try:
        fd, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, suffix=".tmp", dir=anchor)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return f"cannot be written: {err.strerror or type(err).__name__} in {shown_path(anchor)}"
    return None


def _kind(path: Path) -> str:
    try:
        return kind_in_words(os.stat(path).st_mode)
    except OSError as err:
        return f"unusable ({err.strerror or type(err).__name__})"


def cache_problem() -> str | None:
    """None when the cache folder (``$TINYEMO_AUDIT_CACHE`` or ``~/.cache/tinyemo-audit``) is usable; else why not."""
    from ..paths import cache_root

    root = cache_root()
    problem = place_problem(root, folder=True)
    if problem is None:
        try:
            root.mkdir(parents=True, exist_ok=True)
            problem = place_problem(root / "probe", folder=False)
        except OSError as err:
            problem = f"cannot be created: {err.strerror or type(err).__name__}"
    return None if problem is None else f"the cache folder {shown_path(root)} {problem} (set TINYEMO_AUDIT_CACHE to a writable folder)"


# ------------------------------------------------------------------------------------------- inputs

def _same_file(a: str, b: str) -> bool:
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return False


def is_below(inner: str, outer: str) -> bool:
    """Whether the resolved path ``inner`` lies strictly inside the resolved folder ``outer``."""
    return inner != outer and (outer == "/" or inner.startswith(outer.rstrip("/") + "/"))


def input_problem(path: str | os.PathLike, *, folder: bool,
                  inputs: Iterable[tuple[str | os.PathLike, str]]) -> str | None:
    """None when the output ``path`` is none of ``inputs`` (``(path, what)`` pairs), inside none, holds none.

    Paths are compared resolved (symlinks and ``..``); files also by identity (a hard link is the same file).
    """
    out = os.path.realpath(path)
    for source, what in inputs:
        real = os.path.realpath(source)
        if out == real or _same_file(out, real):
            return SAME_AS_INPUT.format(what=what)
        if os.path.isdir(real) and is_below(out, real):
            return INSIDE_INPUT.format(what=what, input=shown_path(source))
        if folder and is_below(real, out):
            return HOLDS_INPUT.format(what=what, input=shown_path(source))
    return None


def beside(source: str | os.PathLike, name: str, *, what: str) -> Path:
    """The default output ``name`` in the folder of the input file ``source`` (``results.json`` → ``report.html``).

    A ``source`` without a file name (``""``, ``.``, ``/``, ``..``) is a :class:`UsageError`.
    """
    path = Path(source)
    if path.name in ("", ".", ".."):
        raise UsageError(f"{what} {shown_path(source) or repr(os.fspath(source))} is not a file path")
    return path.with_name(name)


def dataset_inputs(spec: str) -> list[tuple[Path, str]]:
    """The files and folders a dataset spec reads: ``csv:<file>``, ``<scheme>:<root>``; none for ``faces``."""
    scheme, sep, rest = spec.partition(":")
    if not sep or not rest:
        return []
    return [(Path(rest), f"dataset {scheme}:")]


def model_spec_path(spec: str | None) -> Path | None:
    """The local file or folder a model spec names (``llm:<path>``, ``open_clip:<arch>/<path>``, a path), if any."""
    if not spec:
        return None
    rest = spec.partition(":")[2] if ":" in spec else spec
    for candidate in (rest, rest.partition("/")[2]):
        with contextlib.suppress(OSError, ValueError):  # not a path at all (a NUL byte, too long, ...)
            if candidate and Path(candidate).exists():
                return Path(candidate)
    return None
