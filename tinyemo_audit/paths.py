"""Where things live: the on-disk cache, the models folder, the reports folder."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESOURCES_DIR = PACKAGE_DIR / "resources"
# The source checkout (an editable install): models/, configs/ and reports/ sit beside the package.
PROJECT_DIR = PACKAGE_DIR.parent


CACHE_UNUSABLE = "the cache folder {path} cannot be used ({why}); set TINYEMO_AUDIT_CACHE to a writable folder"

# Every folder the cache holds, by kind, with what it holds. Modules reach theirs through
# cache_folder(kind) and nothing else, so that `tinyemo-audit cache` shows and clears all of them
# (tests/test_cache_contents.py holds the package to it).
CACHE_KINDS: dict[str, str] = {
    "faces": "rendered images of the embedded faces corpus",
    "images": "decoded, resized images of image datasets",
    "features": "encoder features of datasets",
    "ray-features": "feature stores that Ray actors wrote (run/eval --engine ray)",
    "captions": "LiT caption embeddings",
    "label_space": "label-space tables (SmolLM2 input embeddings, MiniLM vocabulary)",
    "reasoning": "the MM-LLM's base LLM, converted from its offline GGUF",
    "reasoning-texts": "kept reasoning generations (greedy decoding)",
    "validate-reasoning": "workspaces of reasoning validity plans (a killed plan leaves its own)",
    "validate-reasoning-trials": "finished reasoning validity trials, reused by a resumed plan",
    "numba": "UMAP's compiled kernels",
    "logs": "tracebacks of internal errors",
}
# The cache directory tag (https://bford.info/cachedir/): backup tools skip the folder, and
# `cache clear` deletes only under a root that carries it.
CACHE_TAG = "CACHEDIR.TAG"
CACHE_TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                  "# This file is a cache directory tag created by tinyemo-audit.\n"
                  "# For information about cache directory tags, see https://bford.info/cachedir/\n")


def cache_root() -> Path:
    """Where the cache lives (``$TINYEMO_AUDIT_CACHE`` or ``~/.cache/tinyemo-audit``), without creating it."""
    root = os.environ.get("TINYEMO_AUDIT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "tinyemo-audit"


def cache_dir() -> Path:
    """Root of every cache (faces corpus, encoder features, label-space tables), created if missing.

    ``$TINYEMO_AUDIT_CACHE`` overrides the default ``~/.cache/tinyemo-audit``. A path that cannot
    be a folder (a file stands there, no permission) is an :class:`~tinyemo_audit.errors.InputError`.
    """
    path = cache_root()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        from .errors import InputError
        from .input_files import shown_path

        why = "a file stands there" if isinstance(err, FileExistsError) else (err.strerror or type(err).__name__)
        raise InputError(CACHE_UNUSABLE.format(path=shown_path(path), why=why)) from None
    _tag_if_ours(path)
    return path


def cache_folder(kind: str) -> Path:
    """The cache's folder for one kind of entry (a key of :data:`CACHE_KINDS`), not created.

    >>> cache_folder("features").name
    'features'
    """
    if kind not in CACHE_KINDS:
        raise KeyError(f"no cache kind {kind!r}; add it to paths.CACHE_KINDS")
    return cache_dir() / kind


_NOT_OURS: set[str] = set()  # roots found holding the user's entries and no tag


def _tag_if_ours(root: Path) -> None:
    """Write the cache tag into a root the tool owns: the default one, or one that was empty when first used.

    A ``TINYEMO_AUDIT_CACHE`` pointed at a folder that already held anything (``$HOME``, a data
    folder with its own ``images/``) is never tagged, so ``cache clear`` refuses it.
    """
    tag = root / CACHE_TAG
    if str(root) in _NOT_OURS or os.path.lexists(tag):
        return
    if os.environ.get("TINYEMO_AUDIT_CACHE"):
        try:
            names = os.listdir(root)
        except OSError:
            return
        if any(not name.startswith(f".{CACHE_TAG}.") for name in names):  # only a killed tag write's temp
            _NOT_OURS.add(str(root))  # decided once a process: cache_dir() is called for every entry
            return
    from ._io import atomic_write_text

    try:
        atomic_write_text(tag, CACHE_TAG_TEXT)
    except OSError:  # a read-only cache still serves reads
        pass


def models_dir() -> Path:
    """Folder of named model bundles (``$TINYEMO_AUDIT_MODELS`` or ``<checkout>/models``)."""
    root = os.environ.get("TINYEMO_AUDIT_MODELS")
    return Path(root) if root else PROJECT_DIR / "models"


def configs_dir() -> Path:
    """Folder of shipped configs (training configs, gate sets, probe templates)."""
    return PROJECT_DIR / "configs"
