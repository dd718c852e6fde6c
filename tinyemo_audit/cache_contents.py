"""What the cache holds, kind by kind, and clearing it (``tinyemo-audit cache``).

The cache (``$TINYEMO_AUDIT_CACHE`` or ``~/.cache/tinyemo-audit``) holds one folder per kind of
entry (:data:`~tinyemo_audit.paths.CACHE_KINDS`). Every entry can be made again from its inputs, so
clearing costs only time. Clearing removes whole kind folders and nothing else:

- only under a root that carries the cache directory tag, which the tool writes into the default
  root and into a ``TINYEMO_AUDIT_CACHE`` folder that was empty when first used; a root the user
  pointed at a folder that already held anything is refused;
- a kind folder that is a symlink loses the link, never what it points to; nothing is followed;
- a folder is first renamed aside (``.clearing-<kind>-…``), so a reader never sees half of one, and
  the aside folders of a clear that was killed are removed by the next clear.

>>> import os, pathlib, tempfile
>>> os.environ["TINYEMO_AUDIT_CACHE"] = tempfile.mkdtemp()
>>> (cache_folder("logs") / "a").mkdir(parents=True)
>>> _ = (cache_folder("logs") / "a" / "x.log").write_bytes(b"12345")
>>> [(c.kind, c.bytes, c.files) for c in cache_contents().kinds if c.files]
[('logs', 5, 1)]
>>> clear_cache(["logs"])[0].bytes
5
>>> cache_folder("logs").exists()
False
"""

from __future__ import annotations

import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from ._io import remove_entry
from .errors import InputError
from .input_files import shown_path
from .paths import CACHE_KINDS, CACHE_TAG, cache_dir, cache_folder
from .user_text import visible

ASIDE_PREFIX = ".clearing-"


@dataclass(frozen=True)
class KindUsage:
    """One kind of cache entry: where it lives and what it takes."""

    kind: str
    holds: str
    path: Path
    bytes: int
    files: int


@dataclass(frozen=True)
class CacheContents:
    """The cache root, its kinds (every one, empty or not), and the entries that are not the tool's."""

    root: Path
    tagged: bool
    kinds: list[KindUsage]
    foreign: list[str]

    @property
    def bytes(self) -> int:
        return sum(k.bytes for k in self.kinds)

    def to_dict(self) -> dict:
        return {"root": str(self.root), "tagged": self.tagged, "bytes": self.bytes,
                "kinds": [{"kind": k.kind, "holds": k.holds, "path": str(k.path), "bytes": k.bytes,
                           "files": k.files} for k in self.kinds],
                "not_the_tools": self.foreign}


def _usage(path: Path) -> tuple[int, int]:
    """Bytes and number of files under ``path``, links counted as themselves and never followed."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0, 0
    if not stat.S_ISDIR(top.st_mode):
        return top.st_size, 1
    total, files = 0, 0
    for folder, dirs, names in os.walk(path, followlinks=False, onerror=lambda _err: None):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
                files += 1
            except OSError:
                continue
    return total, files


def cache_contents() -> CacheContents:
    """Every kind's folder with its size and file count, and the root's entries that are not the tool's."""
    root = cache_dir()
    kinds = []
    for kind, holds in CACHE_KINDS.items():
        path = cache_folder(kind)
        size, files = _usage(path)
        kinds.append(KindUsage(kind, holds, path, size, files))
    return CacheContents(root, os.path.lexists(root / CACHE_TAG), kinds, _foreign(root))


def _foreign(root: Path) -> list[str]:
    """The root's entries that are not the tool's (neither a kind, the tag, nor hidden)."""
    return sorted(name for name in os.listdir(root)
                  if name not in CACHE_KINDS and name != CACHE_TAG and not name.startswith("."))


def _check_kinds(kinds: list[str]) -> list[str]:
    """The named kinds in registry order, each once; an unknown name is an :class:`InputError`."""
    unknown = [k for k in kinds if k not in CACHE_KINDS]
    if unknown:
        raise InputError(f"no cache kind {visible(unknown[0])!r}; the kinds are {', '.join(CACHE_KINDS)}")
    return [k for k in CACHE_KINDS if k in kinds]


def clear_cache(kinds: list[str]) -> list[KindUsage]:
    """Remove the named kinds' folders (what each held, as :class:`KindUsage`), and any killed clear's leftovers.

    Raises :class:`InputError` for an unknown kind, or when the root does not carry the cache tag
    (it holds entries the tool did not make), before anything is removed.
    """
    chosen = _check_kinds(kinds)
    root = cache_dir()
    if not os.path.lexists(root / CACHE_TAG):
        foreign = _foreign(root)
        held = f"it holds {visible(foreign[0])!r} and" if foreign else "it has"
        raise InputError(f"the cache folder {shown_path(root)} was not made by this tool ({held} no {CACHE_TAG}); "
                         f"nothing was removed: point TINYEMO_AUDIT_CACHE at a new folder, or remove its "
                         f"folders by hand")
    cleared = []
    for kind in chosen:
        path = cache_folder(kind)
        size, files = _usage(path)
        if os.path.lexists(path):
            aside = root / f"{ASIDE_PREFIX}{kind}-{uuid.uuid4().hex[:8]}"
            os.replace(path, aside)
        cleared.append(KindUsage(kind, CACHE_KINDS[kind], path, size, files))
    for name in os.listdir(root):
        if name.startswith(ASIDE_PREFIX):
            remove_entry(root / name)  # a link or file unlinked, a folder removed without following links
    return cleared
