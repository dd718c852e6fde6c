"""Reading a YAML settings file safely, with one-line errors for a missing or malformed file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import InputError


def read_yaml_mapping(path: str | os.PathLike, *, what: str = "config") -> dict[str, Any]:
    """``yaml.safe_load`` of ``path``, which must hold a mapping (an empty file is ``{}``)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError(f"{what} {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data
