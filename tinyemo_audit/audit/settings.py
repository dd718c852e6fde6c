"""Audit settings: configs/audit/default.yaml, optionally overridden by a user's YAML file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .._yaml import read_yaml_mapping
from ..errors import InputError
from ..paths import configs_dir

DEFAULT_SETTINGS = configs_dir() / "audit" / "default.yaml"


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, what="audit config")


def _merge(base: dict[str, Any], override: dict[str, Any], source: str, prefix: str = "") -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise InputError(
                f"{source}: unknown audit setting {prefix}{key}; valid: {', '.join(sorted(base))}"
            )
        if isinstance(base[key], dict) and key not in ("reference_groups", "association_sets"):
            if not isinstance(value, dict):
                raise InputError(f"{source}: {prefix}{key} must be a mapping")
            out[key] = _merge(base[key], value, source, f"{prefix}{key}.")
        elif isinstance(base[key], bool) != isinstance(value, bool) or (
            isinstance(base[key], (int, float)) and not isinstance(value, (int, float))
        ):
            raise InputError(f"{source}: {prefix}{key} must be {type(base[key]).__name__}, got {value!r}")
        else:
            out[key] = value
    return out


def load_settings(path: str | Path | None = None) -> dict[str, Any]:
    """The default settings, with ``path``'s values on top (unknown keys are an error)."""
    settings = _read_yaml(DEFAULT_SETTINGS)
    if path is not None:
        settings = _merge(settings, _read_yaml(Path(path)), str(path))
    return settings
