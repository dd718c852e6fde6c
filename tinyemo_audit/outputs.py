"""What a command may write: its outputs checked before any work, owned by content, written as one unit.

Four rules for every output a user names (run folder, bundle, report.html, junit.xml, summary.md,
eval tables, validate JSON, preview PNG) live here and nowhere else (docs/crash-safety.md):

- **Ownership, by content.** Every folder this tool writes as an output carries a manifest,
  ``.tinyemo-audit-outputs.json``, listing each file it wrote with its size and blake2b digest;
  a single-file output is listed in the manifest of the folder it sits in. An existing output may
  be replaced only when it is what a manifest says this tool wrote: a folder that is empty or holds
  nothing but listed, unchanged files (a listed file may be missing: nobody's work is in it); a
  file listed, unchanged, in its folder's manifest. Anything else (an extra file, an edited file,
  another tool's results.json, a folder without a manifest) is refused before any work.
- **Never an input.** An output never resolves (symlinks and hard links included) to an input of
  the same command, to anything inside an input folder, or to a folder holding an input; two
  outputs of one command never overlap.
- **Writable, up front.** The output is not a folder where a file goes (or the reverse), not a
  symbolic link, FIFO or device, not under /proc, /sys or /dev or on a filesystem that cannot
  hold files; its nearest existing folder takes a probe file; the cache folder is usable.
- **One unit.** :meth:`OutputPlan.writing` stages every output in a temp beside it and puts them
  all in place at the end (:class:`~tinyemo_audit._io.AtomicSet`); a failure leaves every output
  as it was. A write that fails for want of space or permission is a one-line error naming the output.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> plan = OutputPlan()
>>> plan.file(folder / "table.md", "--table-out")
>>> plan.check()
>>> with plan.writing() as staged:
...     _ = staged.write_text(folder / "table.md", "| a |\\n")
>>> file_problem(folder / "table.md") is None  # listed in the folder's manifest: ours to replace
True
>>> _ = (folder / "table.md").write_text("edited by hand")
>>> file_problem(folder / "table.md")
'was changed after tinyemo-audit wrote it'
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from ._io import AtomicSet, atomic_write_json, folder_lock
from .errors import UsageError
from .input_files import MiB, kind_of, shown_path

MANIFEST_NAME = ".tinyemo-audit-outputs.json"
MANIFEST_FORMAT = "tinyemo-audit-outputs"
MANIFEST_VERSION = 1
MANIFEST_NOTE = ("The files tinyemo-audit wrote in this folder, with their digests: it replaces them (or this "
                 "folder) only while they are unchanged. Remove a file you want to keep from its list and "
                 "tinyemo-audit will leave it alone.")
MAX_MANIFEST_BYTES = 16 * MiB
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
ENVIRONMENT_ERRNOS = frozenset({
    errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG,
    errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.EMFILE, errno.ENFILE,
    errno.EIO, errno.EXDEV, errno.EBUSY, errno.ETXTBSY,
})
# Of those, the ones that say nothing about which file failed is a bug (a write() with no file name).
ENVIRONMENT_ONLY_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                                     errno.EFBIG, errno.EIO})

NOT_OURS_FOLDER = ("is a folder tinyemo-audit did not write (no {manifest}: someone else's folder, or a run "
                   "or bundle from a tinyemo-audit without output manifests); give a new or empty folder, or "
                   "remove it yourself")
NOT_OURS_FILE = "exists and was not written by tinyemo-audit (its folder's {manifest} does not list it)"
CHANGED = "was changed after tinyemo-audit wrote it"
FOREIGN_ENTRY = "holds {entry}, which tinyemo-audit did not write"
CHANGED_ENTRY = "holds {entry}, which was changed after tinyemo-audit wrote it"
BAD_MANIFEST = "holds a {manifest} that tinyemo-audit did not write ({why})"
REFUSED = "{option} {path} {problem}"
SAME_AS_INPUT = "is the {what} this command reads"
INSIDE_INPUT = "is inside {what} {input}, which this command reads"
HOLDS_INPUT = "holds {what} {input}, which this command reads"
OVERLAP = "overlaps {other} {path} (two outputs of one command must be apart)"
WRITE_FAILED = "cannot write {option} {path}: {why}; nothing was written"


class OutputError(UsageError):
    """An output path that may not be (or could not be) written; the message names it."""


# ------------------------------------------------------------------------------------------ digests

def file_digest(path: str | os.PathLike) -> str:
    """The blake2b-256 hex digest of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _record(path: Path) -> dict[str, Any]:
    return {"size": os.stat(path).st_size, "blake2b": file_digest(path)}


def _matches(path: Path, st: os.stat_result, records: Iterable[dict[str, Any] | None]) -> bool:
    wanted = [r for r in records if r is not None and r.get("size") == st.st_size]
    if not wanted:
        return False
    digest = file_digest(path)
    return any(r.get("blake2b") == digest for r in wanted)


# ---------------------------------------------------------------------------------------- manifests

def _load_manifest(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None), (None, None) when there is none, or (None, why it is not ours)."""
    path = folder / MANIFEST_NAME
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as err:
        return None, BAD_MANIFEST.format(manifest=MANIFEST_NAME, why=err.strerror or type(err).__name__)
    if not stat.S_ISREG(st.st_mode):
        return None, BAD_MANIFEST.format(manifest=MANIFEST_NAME, why=f"it is {kind_of(st.st_mode)}")
    if st.st_size > MAX_MANIFEST_BYTES:
        return None, BAD_MANIFEST.format(manifest=MANIFEST_NAME, why=f"{st.st_size:,} bytes")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        return None, BAD_MANIFEST.format(manifest=MANIFEST_NAME, why=f"unreadable: {type(err).__name__}")
    ok = (isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT
          and data.get("version") == MANIFEST_VERSION
          and all(_valid_records(data.get(key, {})) for key in ("files", "pending")))
    if not ok:
        return None, BAD_MANIFEST.format(manifest=MANIFEST_NAME, why="not its format")
    return data, None


def _valid_records(records: Any) -> bool:
    return isinstance(records, dict) and all(
        isinstance(name, str) and isinstance(r, dict) and isinstance(r.get("size"), int)
        and isinstance(r.get("blake2b"), str) for name, r in records.items())


def _manifest(files: dict[str, dict[str, Any]], pending: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    data = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "tool_version": __version__,
            "note": MANIFEST_NOTE, "files": dict(sorted(files.items()))}
    if pending:
        data["pending"] = dict(sorted(pending.items()))
    return data


def write_folder_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """List every file under ``folder`` (its own manifest aside) in ``folder``'s manifest; return it.

    Called on a staged folder output just before it is put in place, so the manifest describes
    exactly what was written.
    """
    folder = Path(folder)
    files = {}
    for top, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            full = Path(top) / name
            rel = full.relative_to(folder).as_posix()
            if rel != MANIFEST_NAME and stat.S_ISREG(os.lstat(full).st_mode):
                files[rel] = _record(full)
    data = _manifest(files)
    atomic_write_json(folder / MANIFEST_NAME, data)
    return data


def _leftover_of(rel: str, listed: Iterable[str]) -> bool:
    """Whether ``rel`` is the temp of a killed write of a listed file (``.<name>.<random>.tmp``)."""
    head, _, name = rel.rpartition("/")
    match = re.fullmatch(r"\.(.+)\.[^./]+\.tmp", name)
    if match is None:
        return False
    base = f"{head}/{match.group(1)}" if head else match.group(1)
    return base in set(listed) | {MANIFEST_NAME}


# ---------------------------------------------------------------------------------------- ownership

def folder_problem(folder: str | os.PathLike) -> str | None:
    """None when this tool may replace ``folder`` (missing, empty, or only its own unchanged files); else why not.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    str or None
        The reason, worded to follow the folder's path in a message.
    """
    folder = Path(folder)
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link; give the folder itself"
    if not stat.S_ISDIR(st.st_mode):
        return f"is {_file_kind(st.st_mode)}; give a folder"
    entries = _tree(folder)
    if all(stat.S_ISDIR(entry_st.st_mode) for _, entry_st in entries):
        return None  # empty, or only empty folders: nobody's work is in it
    manifest, problem = _load_manifest(folder)
    if problem is not None:
        return problem
    if manifest is None:
        return NOT_OURS_FOLDER.format(manifest=MANIFEST_NAME)
    files, pending = manifest["files"], manifest.get("pending", {})
    for rel, entry_st in entries:
        if rel == MANIFEST_NAME or stat.S_ISDIR(entry_st.st_mode):
            continue
        if rel not in files and rel not in pending:
            if stat.S_ISREG(entry_st.st_mode) and _leftover_of(rel, files):
                continue
            return FOREIGN_ENTRY.format(entry=shown_path(rel))
        if not stat.S_ISREG(entry_st.st_mode):
            return FOREIGN_ENTRY.format(entry=f"{shown_path(rel)} ({kind_of(entry_st.st_mode)})")
        if not _matches(folder / rel, entry_st, (files.get(rel), pending.get(rel))):
            return CHANGED_ENTRY.format(entry=shown_path(rel))
    return None


def _tree(folder: Path) -> list[tuple[str, os.stat_result]]:
    """Every entry under ``folder`` as (relative posix path, lstat), symlinks not followed."""
    found = []
    for top, dirs, names in os.walk(folder):
        for name in sorted(dirs + names):
            full = Path(top) / name
            with contextlib.suppress(FileNotFoundError):
                found.append((full.relative_to(folder).as_posix(), os.lstat(full)))
    return found


def file_problem(path: str | os.PathLike) -> str | None:
    """None when this tool may replace the file ``path`` (missing, or listed unchanged in its folder's manifest).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str or None
        Why not, worded to follow the path in a message.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link; give the path of the file itself"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder; give a file path"
    if not stat.S_ISREG(st.st_mode):
        return f"is {kind_of(st.st_mode)}, not a file"
    manifest, problem = _load_manifest(path.parent)
    if problem is not None:
        return f"is in a folder that {problem}"
    if manifest is None:
        return NOT_OURS_FILE.format(manifest=MANIFEST_NAME)
    records = (manifest["files"].get(path.name), manifest.get("pending", {}).get(path.name))
    if all(r is None for r in records):
        return NOT_OURS_FILE.format(manifest=MANIFEST_NAME)
    return None if _matches(path, st, records) else CHANGED


def _parent_manifest_problem(path: Path) -> str | None:
    """Why a file output may not be recorded in its folder's manifest (a foreign file under that name)."""
    _, problem = _load_manifest(path.parent)
    return None if problem is None else f"is in a folder that {problem}"


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
            return f"is {_file_kind(st.st_mode)}; give a folder"
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


def _file_kind(mode: int) -> str:
    return "a file" if stat.S_ISREG(mode) else kind_of(mode)


def _kind(path: Path) -> str:
    try:
        return _file_kind(os.stat(path).st_mode)
    except OSError as err:
        return f"unusable ({err.strerror or type(err).__name__})"


def cache_problem() -> str | None:
    """None when the cache folder (``$TINYEMO_AUDIT_CACHE`` or ``~/.cache/tinyemo-audit``) is usable; else why not."""
    from .paths import cache_root

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


def _inside(inner: str, outer: str) -> bool:
    return inner != outer and (outer == "/" or inner.startswith(outer.rstrip("/") + "/"))


def input_problem(path: str | os.PathLike, *, folder: bool, inputs: Iterable[tuple[str | os.PathLike, str]]) -> str | None:
    """None when the output ``path`` is none of ``inputs`` (``(path, what)`` pairs), inside none, holds none.

    Paths are compared resolved (symlinks and ``..``); files also by identity (a hard link is the same file).
    """
    out = os.path.realpath(path)
    for source, what in inputs:
        real = os.path.realpath(source)
        if out == real or _same_file(out, real):
            return SAME_AS_INPUT.format(what=what)
        if os.path.isdir(real) and _inside(out, real):
            return INSIDE_INPUT.format(what=what, input=shown_path(source))
        if folder and _inside(real, out):
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


# --------------------------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class PlannedOutput:
    """One output of a command: its path, the option that named it, and whether it is a folder.

    ``owned`` replaces the manifest rule for a folder its own writer fills in place (``embed``'s
    resumable feature cache): it says why the folder is not one that writer made, or None.
    """

    path: Path
    option: str
    folder: bool
    owned: Callable[[Path], str | None] | None = None


class OutputPlan:
    """The outputs and inputs of one command: :meth:`check` before any work, :meth:`writing` at the end.

    Parameters
    ----------
    cache : bool
        Also check that the cache folder is usable (commands that read or fill caches).
    """

    def __init__(self, *, cache: bool = False):
        self.outputs: list[PlannedOutput] = []
        self.inputs: list[tuple[Path, str]] = []
        self.cache = cache

    def file(self, path: str | os.PathLike, option: str) -> None:
        """Plan a single-file output named by ``option`` (``--junit``, ``--out``, ...)."""
        self.outputs.append(PlannedOutput(Path(path), option, folder=False))

    def folder(self, path: str | os.PathLike, option: str) -> None:
        """Plan a folder output, replaced whole (run folder, bundle)."""
        self.outputs.append(PlannedOutput(Path(path), option, folder=True))

    def in_place(self, path: str | os.PathLike, option: str, owned: Callable[[Path], str | None]) -> None:
        """Plan a folder its own writer fills in place; ``owned(path)`` recognises that writer's folders.

        It gets the same up-front checks; :meth:`writing` does not stage it.
        """
        self.outputs.append(PlannedOutput(Path(path), option, folder=True, owned=owned))

    def input(self, path: str | os.PathLike | None, what: str) -> None:
        """Record a file or folder the command reads (``what`` names it in messages); None is ignored."""
        if path is not None:
            self.inputs.append((Path(path), what))

    @property
    def staged_outputs(self) -> list[PlannedOutput]:
        """The outputs :meth:`writing` stages (all but the in-place ones)."""
        return [out for out in self.outputs if out.owned is None]

    def problems(self) -> list[str]:
        """Every reason an output cannot be written, one message each (empty when all is well)."""
        found = []
        if self.cache and (problem := cache_problem()) is not None:
            found.append(problem)
        for k, out in enumerate(self.outputs):
            problem = (input_problem(out.path, folder=out.folder, inputs=self.inputs)
                       or self._overlap(k)
                       or place_problem(out.path, folder=out.folder)
                       or self.ownership_problem(out))
            if problem is not None:
                found.append(REFUSED.format(option=out.option, path=shown_path(out.path), problem=problem))
        return found

    def _overlap(self, k: int) -> str | None:
        out = self.outputs[k]
        mine = os.path.realpath(out.path)
        for other in self.outputs[:k]:
            theirs = os.path.realpath(other.path)
            if mine == theirs or _inside(mine, theirs) or _inside(theirs, mine):
                return OVERLAP.format(other=other.option, path=shown_path(other.path))
        return None

    @staticmethod
    def ownership_problem(out: PlannedOutput) -> str | None:
        """Why ``out`` may not replace what stands at its path (the ownership rule), or None."""
        if out.owned is not None:
            return out.owned(out.path)
        if out.folder:
            return folder_problem(out.path)
        return file_problem(out.path) or _parent_manifest_problem(out.path)

    def check(self) -> None:
        """Raise :class:`OutputError` (one line, the first problem) unless every output can be written."""
        problems = self.problems()
        if problems:
            raise OutputError(problems[0])

    @contextlib.contextmanager
    def writing(self) -> Iterator[Staged]:
        """Stage every planned output; put them all in place when the block ends (or none, on failure).

        Ownership is checked again just before the swap (something may have appeared meanwhile);
        folder outputs get their manifest, file outputs an entry in their folder's manifest. An
        ``OSError`` meaning "no space" or "not allowed" becomes an :class:`OutputError` naming the output.
        """
        unit = AtomicSet()
        try:
            with self._environment_errors():
                staged = Staged(self, unit)
                yield staged
                for out in self.staged_outputs:
                    if (problem := self.ownership_problem(out)) is not None:
                        raise OutputError(REFUSED.format(option=out.option, path=shown_path(out.path),
                                                         problem=problem))
                    if out.folder:
                        write_folder_manifest(staged.path(out.path))
                records = {out.path: _record(staged.path(out.path)) for out in self.staged_outputs if not out.folder}
                _record_pending(records)
                try:
                    unit.commit()
                except BaseException:
                    with contextlib.suppress(Exception):
                        _record_pending({path: None for path in records})
                    raise
                _record_final(records)
        finally:
            unit.close()

    @contextlib.contextmanager
    def _environment_errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as err:
            if err.errno not in ENVIRONMENT_ERRNOS:
                raise
            why = err.strerror or type(err).__name__
            out = self._output_of(err.filename)
            if out is not None:
                message = WRITE_FAILED.format(option=out.option, path=shown_path(out.path), why=why)
            elif err.errno in ENVIRONMENT_ONLY_ERRNOS:
                named = ", ".join(f"{o.option} {shown_path(o.path)}" for o in self.outputs)
                message = WRITE_FAILED.format(option="the outputs", path=f"({named})", why=why)
            else:
                raise
            raise OutputError(message) from err

    def _output_of(self, filename: Any) -> PlannedOutput | None:
        """The planned output a failing path belongs to (its temp, its folder's manifest, ...), if any."""
        if not isinstance(filename, (str, bytes, os.PathLike)):
            return None
        name = os.path.abspath(os.fsdecode(filename))
        for out in self.outputs:
            target = os.path.abspath(out.path)
            parent = os.path.dirname(target)
            if (name == target or name.startswith(target + os.sep)
                    or name.startswith(os.path.join(parent, f".{out.path.name}."))
                    or name == os.path.join(parent, MANIFEST_NAME)):
                return out
        return None


class Staged:
    """The temps of an :class:`OutputPlan` being written: ``path(output)`` is where to write that output."""

    def __init__(self, plan: OutputPlan, unit: AtomicSet):
        self._temps = {}
        for out in plan.staged_outputs:
            self._temps[out.path] = unit.folder(out.path) if out.folder else unit.file(out.path)

    def path(self, output: str | os.PathLike) -> Path:
        """The temp file or folder standing for the planned ``output`` until the unit is put in place."""
        return self._temps[Path(output)]

    def write_bytes(self, output: str | os.PathLike, data: bytes) -> Path:
        """Write a file output's bytes into its temp; returns the final path."""
        self.path(output).write_bytes(data)
        return Path(output)

    def write_text(self, output: str | os.PathLike, text: str) -> Path:
        """Write a file output's UTF-8 text into its temp; returns the final path."""
        return self.write_bytes(output, text.encode("utf-8"))


def _update_manifests(changes: dict[Path, tuple[dict[str, Any] | None, bool]]) -> None:
    """Apply ``{file: (record, final)}`` to the manifests of the files' folders, under the folder lock."""
    by_folder: dict[Path, list[tuple[str, dict[str, Any] | None, bool]]] = {}
    for path, (record, final) in changes.items():
        by_folder.setdefault(path.parent, []).append((path.name, record, final))
    for folder, entries in by_folder.items():
        with folder_lock(folder):
            manifest, problem = _load_manifest(folder)
            if problem is not None:
                raise OutputError(f"{shown_path(folder)} {problem}")
            files = dict((manifest or {}).get("files", {}))
            pending = dict((manifest or {}).get("pending", {}))
            for name, record, final in entries:
                pending.pop(name, None)
                if record is not None and final:
                    files[name] = record
                elif record is not None:
                    pending[name] = record
            atomic_write_json(folder / MANIFEST_NAME, _manifest(files, pending))


def _record_pending(records: dict[Path, dict[str, Any] | None]) -> None:
    """Before the swap: the new digests become acceptable too, so a kill midway leaves a known file."""
    _update_manifests({path: (record, False) for path, record in records.items()})


def _record_final(records: dict[Path, dict[str, Any]]) -> None:
    _update_manifests({path: (record, True) for path, record in records.items()})


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


def bundle_plan(out: str | Path, *, specs: Iterable[str | None] = (), datasets: Iterable[str] = (),
                files: Iterable[tuple[str | Path | None, str]] = ()) -> OutputPlan:
    """The bundle folder ``out`` as an output, and what the command reads as inputs (checked up front).

    ``out`` may be new, empty or a bundle this tool wrote and nobody changed
    (:mod:`tinyemo_audit.outputs`); never a folder holding, or inside, a dataset, config or weights it reads.
    """
    plan = OutputPlan(cache=True)
    plan.folder(out, "--out")
    for spec in datasets:
        for path, what in dataset_inputs(spec):
            plan.input(path, what)
    for spec in specs:
        plan.input(model_spec_path(spec), f"model {spec}")
    for path, what in files:
        plan.input(path, what)
    return plan


def refuse_unless_replaceable(path: str | os.PathLike, option: str, *, folder: bool) -> None:
    """The ownership rule alone, for writers that fill their output in place (``embed``)."""
    path = Path(path)
    problem = folder_problem(path) if folder else file_problem(path)
    if problem is not None:
        raise OutputError(REFUSED.format(option=option, path=shown_path(path), problem=problem))


__all__ = [
    "MANIFEST_NAME", "OutputError", "OutputPlan", "PlannedOutput", "Staged", "beside", "bundle_plan", "cache_problem",
    "dataset_inputs", "model_spec_path",
    "file_digest", "file_problem", "folder_problem", "input_problem", "place_problem", "refuse_unless_replaceable",
    "write_folder_manifest",
]
