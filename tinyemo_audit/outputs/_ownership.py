"""Ownership of outputs, by content: the manifest a folder carries, and whether a folder or file may be replaced.

Layout of ``.tinyemo-audit-outputs.json`` (one per folder the tool writes outputs into)::

    {"format": "tinyemo-audit-outputs", "version": 1, "tool_version": "...", "note": "...",
     "files": {"<relative path>": {"size": <bytes>, "blake2b": "<hex>"}, ...},
     "pending": {...}}   # only between recording a new digest and putting the file in place
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import __version__
from .._io import atomic_write_json, folder_lock
from ..errors import UsageError
from ..input_files import MiB, kind_of, shown_path

MANIFEST_NAME = ".tinyemo-audit-outputs.json"
MANIFEST_FORMAT = "tinyemo-audit-outputs"
MANIFEST_VERSION = 1
MANIFEST_NOTE = ("The files tinyemo-audit wrote in this folder, with their digests: it replaces them (or this "
                 "folder) only while they are unchanged. Remove a file you want to keep from its list and "
                 "tinyemo-audit will leave it alone.")
MAX_MANIFEST_BYTES = 16 * MiB
NOT_OURS_FOLDER = ("is a folder tinyemo-audit did not write (no {manifest}: someone else's folder, or a run "
                   "or bundle from a tinyemo-audit without output manifests); give a new or empty folder, or "
                   "remove it yourself")
NOT_OURS_FILE = "exists and was not written by tinyemo-audit (its folder's {manifest} does not list it)"
CHANGED = "was changed after tinyemo-audit wrote it"
FOREIGN_ENTRY = "holds {entry}, which tinyemo-audit did not write"
CHANGED_ENTRY = "holds {entry}, which was changed after tinyemo-audit wrote it"
BAD_MANIFEST = "holds a {manifest} that tinyemo-audit did not write ({why})"


class OutputError(UsageError):
    """An output path that may not be (or could not be) written; the message names it."""


# ------------------------------------------------------------------------------------------ digests

def kind_in_words(mode: int) -> str:
    """What a ``st_mode`` is, as a message says it: "a file" for a regular file, else :func:`kind_of`'s words."""
    return "a file" if stat.S_ISREG(mode) else kind_of(mode)


def file_digest(path: str | os.PathLike) -> str:
    """The blake2b-256 hex digest of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """A manifest entry for the file ``path``: its size and digest."""
    return {"size": os.stat(path).st_size, "blake2b": file_digest(path)}


def _matches(path: Path, st: os.stat_result, records: Iterable[dict[str, Any] | None]) -> bool:
    wanted = [r for r in records if r is not None and r.get("size") == st.st_size]
    if not wanted:
        return False
    digest = file_digest(path)
    return any(r.get("blake2b") == digest for r in wanted)


# ---------------------------------------------------------------------------------------- manifests

def load_manifest(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
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


def manifest_data(files: dict[str, dict[str, Any]],
                  pending: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The manifest as written: ``files`` (and ``pending`` entries, if any) under the format header."""
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
                files[rel] = file_record(full)
    data = manifest_data(files)
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
        return f"is {kind_in_words(st.st_mode)}; give a folder"
    entries = _tree(folder)
    if all(stat.S_ISDIR(entry_st.st_mode) for _, entry_st in entries):
        return None  # empty, or only empty folders: nobody's work is in it
    manifest, problem = load_manifest(folder)
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
    manifest, problem = load_manifest(path.parent)
    if problem is not None:
        return f"is in a folder that {problem}"
    if manifest is None:
        return NOT_OURS_FILE.format(manifest=MANIFEST_NAME)
    records = (manifest["files"].get(path.name), manifest.get("pending", {}).get(path.name))
    if all(r is None for r in records):
        return NOT_OURS_FILE.format(manifest=MANIFEST_NAME)
    return None if _matches(path, st, records) else CHANGED


def parent_manifest_problem(path: Path) -> str | None:
    """Why a file output may not be recorded in its folder's manifest (a foreign file under that name)."""
    _, problem = load_manifest(path.parent)
    return None if problem is None else f"is in a folder that {problem}"


def _update_manifests(changes: dict[Path, tuple[dict[str, Any] | None, bool]]) -> None:
    """Apply ``{file: (record, final)}`` to the manifests of the files' folders, under the folder lock."""
    by_folder: dict[Path, list[tuple[str, dict[str, Any] | None, bool]]] = {}
    for path, (record, final) in changes.items():
        by_folder.setdefault(path.parent, []).append((path.name, record, final))
    for folder, entries in by_folder.items():
        with folder_lock(folder):
            manifest, problem = load_manifest(folder)
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
            atomic_write_json(folder / MANIFEST_NAME, manifest_data(files, pending))


def record_pending(records: dict[Path, dict[str, Any] | None]) -> None:
    """Before the swap: the new digests become acceptable too, so a kill midway leaves a known file."""
    _update_manifests({path: (record, False) for path, record in records.items()})


def record_final(records: dict[Path, dict[str, Any]]) -> None:
    """After the swap: each file's new digest is its only listed one."""
    _update_manifests({path: (record, True) for path, record in records.items()})
