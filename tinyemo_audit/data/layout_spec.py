"""Declarative dataset layouts (resources/datasets.yaml): how a dataset's files map to items, labels and attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ..errors import InputError, UnknownNameError, UsageError
from ..paths import RESOURCES_DIR

DATASETS_FILE = RESOURCES_DIR / "datasets.yaml"
KINDS = ("imagefolder", "split_lists", "filenames", "manifest", "votes", "label_list", "pixels")
SPLIT_NAMES = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class DatasetLayout:
    """How one dataset lies on disk. Every field can be overridden per call (``load_dataset(..., field=...)``).

    Attributes
    ----------
    name : str
        The spec scheme, e.g. ``"webemo"`` (``webemo:<root>``).
    kind : str
        One of :data:`KINDS`: ``imagefolder`` (``<split>/<label>/[<attr>/...]<file>``), ``split_lists``
        (text/JSON lists of files per split), ``filenames`` (label/attributes parsed from file names),
        ``manifest`` (CSV: path, label, id, attribute columns), ``votes`` (CSV of per-class vote counts,
        majority vote), ``label_list`` (``<file> <code>`` lines, split by file-name prefix),
        ``pixels`` (CSV of pixel strings, FER2013).
    taxonomy : str or None
        Taxonomy name (see :mod:`tinyemo_audit.taxonomy`); None: classes are the labels found.
    splits : mapping of split -> tuple of str
        Candidates per split, first existing wins: folders (``"."`` = the root itself), list files,
        manifests, split-column values or file-name prefixes, depending on ``kind``.
    label_aliases : mapping
        Folder/column label → taxonomy class (misspellings, plural forms, capitalisation).
    label_codes : mapping
        Numeric label code (as a string) → label.
    columns : mapping
        Role (``path``, ``label``, ``id``, ``split``, ``pixels``) → column name in the CSV.
    attributes : tuple of str or None
        Attribute columns / regex groups to keep; None keeps every column not used for a role.
    path_attributes : tuple of str
        ``imagefolder``: names of the folder levels between the label folder and the file.
    pattern : str or None
        ``filenames``: regex with named groups (``label`` and attributes) matched on the file name.
    value_maps : mapping of attribute -> mapping
        Raw attribute value → readable value (codes such as UTKFace's ``0`` → ``male``).
    bins : mapping of attribute -> {"edges": [...], "labels": [...]}
        Numeric attributes binned into groups (``edges`` are left-closed bin starts).
    drop : tuple of str
        Attributes parsed but not kept (dates, annotator ids).
    image_dir : str
        Folder (relative to the root or the manifest's folder) that image paths are relative to.
    manifest : str or None
        The CSV/list file for kinds that read one file for all splits.
    image_name : str
        ``label_list``: the image file name from the listed one, with ``{stem}`` and ``{suffix}``.
    votes : mapping
        ``votes``: vote column → label.
    attribute_files : str or None
        ``label_list``: per-image attribute file pattern (RAF-DB's ``manual/{stem}_manu_attri.txt``).
    attribute_lines : tuple of str
        Names of the last non-empty lines of each attribute file.
    size : int or None
        Default image side for this dataset (FER2013's native 48); None: the loader's default.
    description : str
        One line for ``datasets list``.
    """

    name: str
    kind: str
    taxonomy: str | None = None
    splits: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    label_aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    label_codes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    columns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    attributes: tuple[str, ...] | None = None
    path_attributes: tuple[str, ...] = ()
    pattern: str | None = None
    value_maps: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    bins: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    drop: tuple[str, ...] = ()
    image_dir: str = "."
    manifest: str | None = None
    image_name: str = "{stem}{suffix}"
    votes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    attribute_files: str | None = None
    attribute_lines: tuple[str, ...] = ()
    size: int | None = None
    description: str = ""

    def column(self, role: str) -> str:
        """The CSV column playing ``role`` (the role's own name unless renamed)."""
        return self.columns.get(role, role)

    def with_overrides(self, **overrides) -> DatasetLayout:
        """A copy with some fields replaced (validated like the YAML)."""
        if not overrides:
            return self
        raw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        raw.update(overrides)
        name = raw.pop("name")
        return _freeze(name, raw, where=f"dataset {name!r} options")


FIELDS = tuple(f.name for f in dataclasses.fields(DatasetLayout))


def _strings(value, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return (str(value),)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    raise InputError(f"{where}: {field} must be a string or a list of strings")


def _mapping(value, where: str, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: {field} must be a mapping")
    return dict(value)


def _freeze(name: str, raw: Mapping, where: str) -> DatasetLayout:
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(unknown)}; valid fields: {', '.join(FIELDS[1:])}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    splits = {}
    for split, candidates in _mapping(raw.get("splits"), where, "splits").items():
        if split not in SPLIT_NAMES:
            raise InputError(f"{where}: unknown split {split!r} in splits; valid: {', '.join(SPLIT_NAMES)}")
        splits[split] = _strings(candidates, where, f"splits.{split}")
    attributes = raw.get("attributes")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise InputError(f"{where}: size must be a positive integer")
    return DatasetLayout(
        name=name,
        kind=kind,
        taxonomy=None if raw.get("taxonomy") is None else str(raw["taxonomy"]),
        splits=splits,
        label_aliases={str(k).lower(): str(v) for k, v in _mapping(raw.get("label_aliases"), where, "label_aliases").items()},
        label_codes={str(k): str(v) for k, v in _mapping(raw.get("label_codes"), where, "label_codes").items()},
        columns={str(k): str(v) for k, v in _mapping(raw.get("columns"), where, "columns").items()},
        attributes=None if attributes is None else _strings(attributes, where, "attributes"),
        path_attributes=_strings(raw.get("path_attributes"), where, "path_attributes"),
        pattern=None if raw.get("pattern") is None else str(raw["pattern"]),
        value_maps={
            str(a): {str(k): str(v) for k, v in _mapping(m, where, f"value_maps.{a}").items()}
            for a, m in _mapping(raw.get("value_maps"), where, "value_maps").items()
        },
        bins={str(a): dict(_mapping(b, where, f"bins.{a}")) for a, b in _mapping(raw.get("bins"), where, "bins").items()},
        drop=_strings(raw.get("drop"), where, "drop"),
        image_dir=str(raw.get("image_dir") or "."),
        manifest=None if raw.get("manifest") is None else str(raw["manifest"]),
        image_name=str(raw.get("image_name") or "{stem}{suffix}"),
        votes={str(k): str(v) for k, v in _mapping(raw.get("votes"), where, "votes").items()},
        attribute_files=None if raw.get("attribute_files") is None else str(raw["attribute_files"]),
        attribute_lines=_strings(raw.get("attribute_lines"), where, "attribute_lines"),
        size=size,
        description=str(raw.get("description") or ""),
    )


@lru_cache(maxsize=1)
def _load_all() -> dict[str, DatasetLayout]:
    import yaml

    raw = yaml.safe_load(DATASETS_FILE.read_text(encoding="utf-8")) or {}
    return {str(name): _freeze(str(name), spec or {}, f"{DATASETS_FILE.name}: {name}") for name, spec in raw.items()}


def list_layouts() -> list[str]:
    """Names of the shipped dataset layouts, sorted (also ``csv`` and ``imagefolder``)."""
    return sorted(_load_all())


def get_layout(name: str) -> DatasetLayout:
    """The shipped layout called ``name`` (raises UnknownNameError listing the names)."""
    layouts = _load_all()
    if name not in layouts:
        raise UnknownNameError("dataset layout", name, layouts)
    return layouts[name]
