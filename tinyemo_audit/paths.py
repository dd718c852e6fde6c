"""Where things live: the on-disk cache, the models folder, the reports folder."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESOURCES_DIR = PACKAGE_DIR / "resources"
# The source checkout (an editable install): models/, configs/ and reports/ sit beside the package.
PROJECT_DIR = PACKAGE_DIR.parent


CACHE_UNUSABLE = "the cache folder {path} cannot be used ({why}); set TINYEMO_AUDIT_CACHE to a writable folder"


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
    return path


def models_dir() -> Path:
    """Folder of named model bundles (``$TINYEMO_AUDIT_MODELS`` or ``<checkout>/models``)."""
    root = os.environ.get("TINYEMO_AUDIT_MODELS")
    return Path(root) if root else PROJECT_DIR / "models"


def configs_dir() -> Path:
    """Folder of shipped configs (training configs, gate sets, probe templates)."""
    return PROJECT_DIR / "configs"
