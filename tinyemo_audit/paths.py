"""Where things live: the on-disk cache, the models folder, the reports folder."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESOURCES_DIR = PACKAGE_DIR / "resources"
# The source checkout (an editable install): models/, configs/ and reports/ sit beside the package.
PROJECT_DIR = PACKAGE_DIR.parent


def cache_dir() -> Path:
    """Root of every cache (faces corpus, encoder features, label-space tables).

    ``$TINYEMO_AUDIT_CACHE`` overrides the default ``~/.cache/tinyemo-audit``.
    """
    root = os.environ.get("TINYEMO_AUDIT_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "tinyemo-audit"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Folder of named model bundles (``$TINYEMO_AUDIT_MODELS`` or ``<checkout>/models``)."""
    root = os.environ.get("TINYEMO_AUDIT_MODELS")
    return Path(root) if root else PROJECT_DIR / "models"


def configs_dir() -> Path:
    """Folder of shipped configs (training configs, gate sets, probe templates)."""
    return PROJECT_DIR / "configs"
