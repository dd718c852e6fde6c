"""Finished reasoning trials kept on disk, so that an interrupted plan resumes where it stopped.

A reasoning trial retrains an MM-LLM (minutes on a CPU) and gives the same row for the same
inputs (greedy decoding, seeded training). Each finished trial's row and timing are written to
``cache_dir()/validate-reasoning-trials/<key>.json``, where the key is a sha256 over everything
the row depends on:

- the package's own source (every ``.py`` file of :mod:`tinyemo_audit`): any code change reruns
  every trial;
- the bundle's files other than its reasoning part (encoder, projector, label space: what gives
  the twins' hints), and the base LLM the part names (``reasoning.json`` ``base``, with its digest);
- the plan's recipe as trained (with the trial's seed), ``n_images``, the knob file's bytes, the
  audit settings, and whether the trial is planted.

A later run of the same plan reads a finished trial instead of rerunning it; an entry that cannot
be read as a trial is ignored and rerun (never trusted half-written: entries are written atomically).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1
FOLDER = "validate-reasoning-trials"  # beside the plan workspace (validate-reasoning), which is removed
_SOURCE_DIGEST: str | None = None


def source_digest() -> str:
    """sha256 over the package's .py files (relative path and bytes, in path order); computed once a process."""
    global _SOURCE_DIGEST
    if _SOURCE_DIGEST is None:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _SOURCE_DIGEST = digest.hexdigest()
    return _SOURCE_DIGEST


def bundle_digest(folder: Path) -> str:
    """sha256 over a bundle's files outside its reasoning part (relative path and bytes, in path order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative.split("/")[0] == "reasoning":
            continue
        digest.update(relative.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def trial_key(*, bundle_files: str, base: Any, recipe: dict[str, Any], n_images: int, knob: bytes,
              settings: dict[str, Any], planted: bool) -> str:
    """The cache key of one trial (see the module docstring); ``recipe`` carries the trial's seed."""
    document = {"format": CACHE_FORMAT, "source": source_digest(), "bundle": bundle_files, "base": base,
                "recipe": recipe, "n_images": int(n_images), "knob": hashlib.sha256(knob).hexdigest(),
                "settings": settings, "planted": bool(planted)}
    text = json.dumps(document, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def folder() -> Path:
    from ..paths import cache_folder

    return cache_folder(FOLDER)


def read_trial(key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A finished trial's (row, timing), or None when there is none or it cannot be read as one."""
    from .._json import read_cache_entry
    from ..input_files import MiB

    entry = read_cache_entry(folder() / f"{key}.json", key, what="finished reasoning trial", max_bytes=4 * MiB)
    if entry is None or not isinstance(entry.get("row"), dict) or not isinstance(entry.get("timing"), dict):
        return None
    return entry["row"], entry["timing"]


def write_trial(key: str, row: dict[str, Any], timing: dict[str, Any]) -> None:
    """Keep a finished trial (atomically: a reader never sees half an entry); a cache that cannot be written is passed over."""
    from .._json import write_cache_entry

    write_cache_entry(folder() / f"{key}.json", key, {"row": row, "timing": timing}, indent=2)
