"""Audit settings: configs/audit/default.yaml, optionally overridden by a user's YAML file.

The schema (types, ranges, unknown keys, how an override merges) is
:mod:`tinyemo_audit.schema.settings`; this module reads the two files and applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._yaml import read_yaml_mapping
from ..paths import configs_dir

DEFAULT_SETTINGS = configs_dir() / "audit" / "default.yaml"
WHAT = "audit config"
CONFIG_DICT = "<config dict>"


@dataclass(frozen=True)
class LoadedSettings:
    """Validated settings and which of them the user's file set.

    Attributes
    ----------
    values : dict
        Every setting, defaults merged with the override key by key (plain data).
    overridden : frozenset of str
        Dotted paths the override set (``"reference_groups.gender"``, ``"n_boot"``, ...): a
        default that does not fit the data is left unused, a value the user set is an error.
    source : str
        The override file, or the default file when there is none (named in messages).
    """

    values: dict[str, Any]
    overridden: frozenset[str]
    source: str

    def set_by_user(self, path: str) -> bool:
        """Whether the override set ``path`` (or something under it)."""
        return any(key == path or key.startswith(path + ".") for key in self.overridden)


def read_settings(path: str | Path | Mapping | None = None) -> LoadedSettings:
    """The default settings with ``path``'s values merged on top, validated.

    ``path`` may also be a mapping of the same keys (the Python API's ``config={...}``), named
    ``<config dict>`` in messages.

    Raises
    ------
    InputError
        One line naming the file and the key: unknown key (with the valid ones), wrong type,
        out of range, a template without its placeholders, unpaired terms, ...
    """
    from ..schema._errors import validate
    from ..schema.settings import AuditSettings, merge_settings, overridden_keys

    defaults = read_yaml_mapping(DEFAULT_SETTINGS, what=WHAT)
    if path is None:
        values = validate(AuditSettings, defaults, source=DEFAULT_SETTINGS).model_dump()
        return LoadedSettings(values, frozenset(), str(DEFAULT_SETTINGS))
    if isinstance(path, Mapping):
        override, path = dict(path), CONFIG_DICT
    else:
        override = read_yaml_mapping(path, what=WHAT)
    merged = merge_settings(defaults, override)
    values = validate(AuditSettings, merged, source=path).model_dump()
    return LoadedSettings(values, overridden_keys(override), str(path))


def load_settings(path: str | Path | None = None) -> dict[str, Any]:
    """The default settings, with ``path``'s values on top (see :func:`read_settings`), as a plain dict."""
    return read_settings(path).values
