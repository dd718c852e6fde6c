"""Loads one split of a dataset layout as a Dataset: labels matched to a taxonomy, attributes parsed, images decoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, UsageError
from ..input_files import shown_path
from ..user_text import shown, visible
from .dataset import UNLABELLED, Dataset
from .image_listing import ImageListing, no_usable_images
from .images import DEFAULT_MAX_PIXELS, DEFAULT_SIZE
from .layout_spec import DatasetLayout
from .layouts import MSG_OUTSIDE, READERS, Items, outside
from .user_fields import clean_labels, control_columns, control_rows
from .user_fields import skip_rows as _skip

UNKNOWN_VALUE = "unknown"  # attribute value where the source has none
MSG_ALL_UNKNOWN = "none of the {n} labels in {source} is a {taxonomy} class (found: {found}); valid: {valid}"
ROLE_COLUMNS = ("path", "label", "id")


def _classes(layout: DatasetLayout, items: Items, taxonomy: str | None) -> tuple[tuple[str, ...], str | None]:
    name = taxonomy or layout.taxonomy
    if name is not None:
        from ..taxonomy import get_taxonomy

        return get_taxonomy(name).classes, name
    if items.all_labels is not None:
        labels = _normalise(layout, pd.Series(items.all_labels, dtype=object)).dropna()
        # a label with a control character only ever names skipped items: it is no class
        return clean_labels(labels.unique()), None
    return (), None


def _text(value) -> str | None:
    """A stripped string, or None for NaN/None/empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _normalise(layout: DatasetLayout, raw: pd.Series) -> pd.Series:
    """Raw labels → label words: codes decoded, whitespace stripped, aliases applied; None where absent."""
    out = []
    for value in map(_text, raw):
        if value is not None and layout.label_codes:
            key = value[:-2] if value.endswith(".0") else value  # integer codes written as floats
            value = layout.label_codes.get(key, value)
        if value is not None:
            value = layout.label_aliases.get(value.lower(), value)
        out.append(value)
    return pd.Series(out, index=raw.index, dtype=object)


def _match_labels(layout, items, classes, taxonomy, skipped, problems) -> np.ndarray:
    table = items.table
    labels = _normalise(layout, table["label"])
    missing = labels.isna().to_numpy()
    if missing.all():
        problems.append(f"no item has a label in {items.source}; treated as unlabelled")
        return np.full(len(table), UNLABELLED, dtype=np.int64), classes
    if not classes:  # no taxonomy: the labels found are the classes
        classes = tuple(sorted(labels.dropna().unique()))
    lookup = {c.lower(): i for i, c in enumerate(classes)} if taxonomy else {c: i for i, c in enumerate(classes)}
    index = np.asarray([np.nan if v is None else lookup.get(v.lower() if taxonomy else v, np.nan) for v in labels],
                       dtype=float)
    unknown = ~missing & np.isnan(index)
    if unknown.any() and not (~missing & ~unknown).any():
        found = sorted(labels[unknown].unique())
        raise UsageError(MSG_ALL_UNKNOWN.format(
            n=int(unknown.sum()), source=shown_path(items.source), taxonomy=taxonomy or "dataset",
            found=", ".join(shown(f, limit=40)[1:-1] for f in found[:10]) + (" ..." if len(found) > 10 else ""),
            valid=", ".join(classes)))
    if unknown.any():
        counts = labels[unknown].value_counts()
        problems.append("unknown labels skipped: " + ", ".join(f"{shown(k, limit=40)} x{v}" for k, v in counts.items()))
        _skip(skipped, table, unknown, [f"unknown label {shown(v, limit=40)}" for v in labels[unknown]])
    if missing.any():
        problems.append(f"{int(missing.sum())} item(s) without a label skipped")
        _skip(skipped, table, missing, "missing label")
    return np.where(np.isnan(index), -2, index).astype(np.int64), classes  # -2: dropped below


def _attributes(layout: DatasetLayout, table: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    columns = [c for c in table.columns if c not in ("path", "label", "id") and c not in layout.drop]
    out = {}
    for column in columns:
        values = pd.Series([_text(v) for v in table[column]], index=table.index, dtype=object)
        if column in layout.bins:
            values = _bin(layout, column, values, problems)
        if column in layout.value_maps:
            mapping = layout.value_maps[column]
            values = pd.Series([None if v is None else mapping.get(v, v) for v in values], index=values.index, dtype=object)
        n_missing = int(values.isna().sum())
        if n_missing:
            problems.append(f"{n_missing} missing value(s) in attribute {column!r} set to {UNKNOWN_VALUE!r}")
        out[column] = values.fillna(UNKNOWN_VALUE).astype(str).to_numpy()
    return pd.DataFrame(out, index=pd.RangeIndex(len(table)))


def _bin(layout: DatasetLayout, column: str, values: pd.Series, problems: list[str]) -> pd.Series:
    rule = layout.bins[column]
    edges, names = list(rule.get("edges") or ()), list(rule.get("labels") or ())
    if len(edges) != len(names) or not edges:
        raise InputError(f"dataset layout {layout.name!r}: bins.{column} needs as many labels as edges")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        problems.append(f"{int(bad.sum())} non-numeric value(s) in attribute {column!r}")
    binned = pd.cut(numbers, bins=[*edges, np.inf], labels=names, right=False)
    return binned.astype(object).where(binned.notna(), None)


def _outside_rows(table: pd.DataFrame, root, skipped: list[dict], problems: list[str]) -> np.ndarray:
    """Rows whose file resolves outside the dataset folder ``root``: skipped, never opened."""
    if root is None or "path" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    out = outside([None if not isinstance(p, str) else p for p in table["path"]], root)
    if out.any():
        problems.append(f"{int(out.sum())} item(s) skipped: path leaves the dataset folder")
        _skip(skipped, table, out, MSG_OUTSIDE.format(root=shown_path(root)))
    return out


def _clean_columns(table: pd.DataFrame, problems: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """``table`` without attribute columns whose names hold a control character, and a record of each."""
    attributes = [c for c in table.columns if c not in ROLE_COLUMNS]
    kept, dropped = control_columns(attributes)
    problems.extend(f"attribute column left out: {record['reason']}" for record in dropped)
    return (table.drop(columns=[c for c in attributes if c not in kept]) if dropped else table), dropped


def _dedupe(table: pd.DataFrame, skipped: list[dict], problems: list[str]) -> np.ndarray:
    duplicate = table["id"].duplicated(keep="first").to_numpy()
    if duplicate.any():
        problems.append(f"{int(duplicate.sum())} duplicate id(s) skipped (first kept): "
                        + ", ".join(visible(i, one_line=True) for i in sorted(set(table["id"][duplicate]))[:5]))
        _skip(skipped, table, duplicate, "duplicate id (first kept)")
    return duplicate


def _listed(items: Items, layout: DatasetLayout, *, name: str, split: str, taxonomy: str | None):
    """The cheap checks of one split's items: the kept table, its labels, the classes, skip records and problems."""
    skipped, problems = list(items.skipped), list(items.problems)
    if items.skipped:
        problems.append(f"{len(items.skipped)} item(s) skipped while reading {Path(items.source).name}")
    table, skipped_attributes = _clean_columns(items.table.reset_index(drop=True), problems)
    classes, taxonomy = _classes(layout, items, taxonomy)
    drop = _outside_rows(table, items.root, skipped, problems)
    drop[~drop] = _dedupe(table[~drop], skipped, problems)
    control = np.zeros(len(table), dtype=bool)
    control[~drop] = control_rows(table[~drop], skipped, problems)
    drop = drop | control
    if items.labelled:
        labels, classes = _match_labels(layout, Items(table[~drop], True, items.source), classes, taxonomy,
                                        skipped, problems) if (~drop).any() else (np.zeros(0, np.int64), classes)
        full = np.full(len(table), -2, dtype=np.int64)
        full[~drop] = labels
        labels = full
    else:
        labels = np.where(drop, -2, UNLABELLED).astype(np.int64)
    keep = labels != -2
    if not keep.any() and not skipped:
        raise InputError(f"no items in {name} ({split} split): {items.source} lists none")
    meta = {"source": items.source, "layout": layout.kind, "taxonomy": taxonomy,
            # tuples, not lists: Dataset.subset indexes per-item lists and these are per-split
            "skipped": tuple(skipped), "skipped_attributes": tuple(skipped_attributes), "problems": tuple(problems)}
    return table[keep].reset_index(drop=True), labels[keep], keep, tuple(classes), meta


def list_items(items: Items, layout: DatasetLayout, *, name: str, split: str, size: int, fit: str = "crop",
               max_pixels: int = DEFAULT_MAX_PIXELS, taxonomy: str | None = None) -> ImageListing:
    """One split's image files listed (labels matched, attributes parsed, bad rows left out), not decoded.

    Raises
    ------
    InputError
        No item is listed.
    """
    table, labels, _, classes, meta = _listed(items, layout, name=name, split=split, taxonomy=taxonomy)
    if not len(table):
        raise no_usable_images(name, split, items.source, list(meta["skipped"]))
    problems = list(meta["problems"])
    attributes = _attributes(layout, table, problems)
    return ImageListing(name=name, split=split, classes=classes, labels=labels, ids=table["id"].to_numpy(str),
                        attributes=attributes, paths=[str(p) for p in table["path"]], size=size, fit=fit,
                        max_pixels=max_pixels, meta={**meta, "problems": tuple(problems)})


def items_to_dataset(items: Items, layout: DatasetLayout, *, name: str, split: str, size: int,
                     fit: str = "crop", max_pixels: int = DEFAULT_MAX_PIXELS, workers: int | None = None,
                     taxonomy: str | None = None, cache: bool = True) -> Dataset:
    """Match labels, parse attributes, drop duplicates and decode images of one split's items."""
    if items.images is None:  # files: listed, then decoded here (engines decode a listing's ranges elsewhere)
        listing = list_items(items, layout, name=name, split=split, size=size, fit=fit, max_pixels=max_pixels,
                             taxonomy=taxonomy)
        if cache:
            from .image_cache import cached_read_images

            images, _, reasons = cached_read_images(listing.paths, size, fit=fit, max_pixels=max_pixels,
                                                    workers=workers)
        else:
            images, _, reasons = listing.decode(0, len(listing), workers=workers)
        return listing.dataset(images, reasons)
    table, labels, keep, classes, meta = _listed(items, layout, name=name, split=split, taxonomy=taxonomy)
    images = items.images[keep]
    if images.shape[1] != size:
        images = _resize(images, size)
    if not len(table):
        raise no_usable_images(name, split, items.source, list(meta["skipped"]))
    problems = list(meta["problems"])
    attributes = _attributes(layout, table, problems)
    return Dataset(name=name, split=split, classes=classes, labels=labels, ids=table["id"].to_numpy(str),
                   attributes=attributes, images=images,
                   meta={**meta, "problems": tuple(problems), "paths": [None if p is None else str(p)
                                                                        for p in table["path"]]})


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))
    return out


def load_layout(layout: DatasetLayout, root: str | Path, split: str, *, name: str | None = None,
                size: int | None = None, fit: str = "crop", max_pixels: int = DEFAULT_MAX_PIXELS,
                workers: int | None = None, taxonomy: str | None = None, cache: bool = True,
                listing: bool = False) -> Dataset | ImageListing:
    """Load ``split`` of the dataset at ``root`` laid out as ``layout``.

    Parameters
    ----------
    layout : DatasetLayout
        See :mod:`tinyemo_audit.data.layout_spec`.
    root : path
        The dataset's root folder (or, for ``csv`` / ``fer2013``, the CSV file itself).
    split : {"train", "val", "test"}
    name : str, optional
        Recorded as ``Dataset.name`` (default ``"<layout>:<root>"``).
    size : int, optional
        Side of the square uint8 RGB images (default: the layout's, else 224).
    fit : {"crop", "pad", "stretch"}
        How images are brought to a square.
    max_pixels : int
        Decompression-bomb guard: larger images are skipped.
    workers : int, optional
        Image decoding threads.
    taxonomy : str, optional
        Overrides the layout's taxonomy.
    cache : bool
        Keep decoded images in the on-disk cache and memory-map them (default), so a large split
        does not have to fit in RAM and a second load does not decode again; False decodes into RAM.
    listing : bool
        Return the split's files listed but not decoded (an :class:`ImageListing`) when its items are
        files; a layout whose pixels come in the table itself still returns a Dataset.

    Returns
    -------
    Dataset or ImageListing
        ``meta["skipped"]`` lists every item left out as ``{"id", "path", "reason"}``;
        ``meta["problems"]`` summarises them in one line each.

    Raises
    ------
    MissingSplitError
        If the dataset has no such split (an :class:`~tinyemo_audit.errors.InputError`).
    InputError
        If the root, a manifest or a required column is missing, or no image is usable.
    UsageError
        If every label is outside the taxonomy.
    """
    if not str(root):
        raise UsageError(f"{layout.name}: needs its location, e.g. {layout.name}:/data/{layout.name}")
    root = Path(root).expanduser()
    if not root.exists():
        raise InputError(f"{layout.name}: {root} not found")
    if root.is_file() and layout.kind not in ("manifest", "pixels"):
        raise InputError(f"{layout.name}: {root} is a file; give the dataset's folder")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise UsageError(f"image size must be a positive integer, not {size!r}")
    items = READERS[layout.kind](layout, root, split)
    name, size = name or f"{layout.name}:{root}", size or layout.size or DEFAULT_SIZE
    if listing and items.images is None:
        return list_items(items, layout, name=name, split=split, size=size, fit=fit, max_pixels=max_pixels,
                          taxonomy=taxonomy)
    return items_to_dataset(items, layout, name=name, split=split, size=size, fit=fit, max_pixels=max_pixels,
                            workers=workers, taxonomy=taxonomy, cache=cache)
