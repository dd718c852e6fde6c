"""Counterfactual sets: the one interface through which a dataset offers them, and the user manifest behind it.

A **counterfactual set** shows one person or scene once per value of one attribute, with nothing
else changed. A dataset offers its sets through a :class:`CounterfactualSource` (its
``counterfactuals`` field): which of the audited attributes it has sets for, and the
:class:`~tinyemo_audit.data.dataset.TwinSet` of one attribute. The faces corpus renders its twins
(:class:`~tinyemo_audit.data.faces.FacesTwins`); a manifest a user brings (``--counterfactuals
FILE``) is read by :func:`read_counterfactuals` into a :class:`ManifestSets`. The audit runner asks
the source and never the dataset's name, so both go through the same twin probes.

Manifest (CSV or Parquet, one row per image or item; header checked by
:class:`tinyemo_audit.schema.predictions.CounterfactualColumns`):

``set_id``
    The set the row belongs to: every row of a set shows the same person or scene.
``attribute``, ``value``
    The attribute that changes within the set, and its value on this row. A set that mixes
    attributes is refused (exit 2).
``path`` or ``id``
    The image (relative to the manifest's folder; a bundle encodes it) or the id of an audited item
    (a row of ``--predictions``, or an item of the dataset). A predictions-only audit needs ``id``.
``label`` (optional)
    The true emotion shown in the set; without it, a set whose items all carry the same label
    takes that label.

Skipped and counted (``counterfactual.<attribute>.skipped_rows`` / ``skipped_sets``): a row with an
empty field, a control character in a field, a path leaving the manifest's folder, an unreadable
image, an unknown id, a repeated value in a set (first kept); a set left with a single value.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..errors import InputError
from ..input_files import shown_path
from ..schema.predictions import MSG_IMAGES_WITHOUT_MODEL, MSG_MIXED_ATTRIBUTES, CounterfactualColumns
from ..user_text import shown
from .dataset import UNLABELLED, TwinSet
from .tables import read_table, source_name, text_cells

WHAT = "counterfactual manifest"
IN_MEMORY = "<counterfactual DataFrame>"
SINGLE_VALUE = "the set has a single usable value"
REPEATED_VALUE = "the set repeats a value (first kept)"
UNKNOWN_ID = "unknown id (not among the audited items)"


class CounterfactualSource(Protocol):
    """What a dataset offers of counterfactual sets."""

    description: str

    def attributes(self, audited: Sequence[str]) -> tuple[str, ...]:
        """The attributes it has sets for, given the attributes the audit compares."""

    def twin_set(self, attribute: str, *, n_identities: int) -> TwinSet | None:
        """The sets of ``attribute`` (``n_identities`` caps rendered ones); None when none is usable."""


@dataclass
class ManifestSets:
    """A user's counterfactual manifest, checked, as a :class:`CounterfactualSource`.

    Attributes
    ----------
    rows : DataFrame
        Usable rows: ``set_id``, ``attribute``, ``value``, ``cell`` (image path or item id), ``label``.
    cells : {"images", "items"}
        What a cell is: an image to encode, or an audited item's id.
    classes : tuple of str
        The audit's classes (labels are matched to them).
    image_size : int
        Images are read at this size (the audited dataset's, so that twins and items match).
    item_labels : dict
        Audited item id → label index (items cells only).
    skipped_rows : Counter
        Rows left out, by reason, per attribute.
    description : str
    """

    rows: pd.DataFrame
    cells: str
    classes: tuple[str, ...]
    image_size: int
    item_labels: dict[str, int] = field(default_factory=dict)
    skipped_rows: dict[str, Counter] = field(default_factory=dict)
    description: str = "counterfactual manifest"

    def attributes(self, audited: Sequence[str]) -> tuple[str, ...]:
        """Every attribute of the manifest, in order of first appearance (the audited ones do not limit it)."""
        return tuple(dict.fromkeys(self.rows["attribute"]))

    def twin_set(self, attribute: str, *, n_identities: int) -> TwinSet | None:
        """The sets of ``attribute``: values in order of first appearance; cells a set lacks are absent."""
        rows = self.rows[self.rows["attribute"] == attribute]
        skipped_rows = Counter(self.skipped_rows.get(attribute, Counter()))
        images, ok = None, np.ones(len(rows), dtype=bool)
        if self.cells == "images" and len(rows):
            images, ok, reasons = _read_images(rows["cell"].tolist(), self.image_size)
            skipped_rows.update(r for r in reasons if r is not None)
        rows = rows[ok]
        values = tuple(dict.fromkeys(rows["value"]))
        set_ids = list(dict.fromkeys(rows["set_id"]))
        n_values = rows.groupby("set_id", sort=False)["value"].nunique()
        single = n_values[n_values < 2].index
        skipped_sets = Counter({SINGLE_VALUE: len(single)}) if len(single) else Counter()
        set_ids = [s for s in set_ids if s not in set(single)]
        meta = {"skipped_rows": dict(skipped_rows), "skipped_sets": dict(skipped_sets), "source": self.description}
        if not set_ids:
            return TwinSet(attribute=attribute, values=values, classes=self.classes, images=None,
                           labels=np.zeros(0, np.int64), ids=np.zeros(0, str), attributes=pd.DataFrame(),
                           meta=meta, present=np.zeros((0, len(values)), bool), item_ids=None)
        keep = rows["set_id"].isin(set_ids).to_numpy()
        rows, kept_images = rows[keep], None if images is None else images[keep]
        values = tuple(dict.fromkeys(rows["value"]))
        set_index = {s: i for i, s in enumerate(set_ids)}
        value_index = {v: j for j, v in enumerate(values)}
        i = rows["set_id"].map(set_index).to_numpy()
        j = rows["value"].map(value_index).to_numpy()
        present = np.zeros((len(set_ids), len(values)), dtype=bool)
        present[i, j] = True
        item_ids, grid = None, None
        if kept_images is None:
            item_ids = np.full((len(set_ids), len(values)), "", dtype=object)
            item_ids[i, j] = rows["cell"].to_numpy()
            item_ids = item_ids.astype(str)
        else:
            grid = np.zeros((len(set_ids), len(values), *kept_images.shape[1:]), dtype=np.uint8)
            grid[i, j] = kept_images
        return TwinSet(
            attribute=attribute, values=values, classes=self.classes, images=grid,
            labels=self._labels(rows, set_ids, set_index), ids=np.asarray(set_ids, dtype=str),
            attributes=pd.DataFrame(index=pd.RangeIndex(len(set_ids))), meta=meta, present=present,
            item_ids=item_ids,
        )

    def _labels(self, rows: pd.DataFrame, set_ids: list[str], set_index: dict[str, int]) -> np.ndarray:
        """Each set's true label: its ``label`` column, else the one label its items share; else unlabelled."""
        labels = np.full(len(set_ids), UNLABELLED, dtype=np.int64)
        lookup = {c: k for k, c in enumerate(self.classes)}
        if "label" in rows.columns and rows["label"].notna().any():
            first = rows.dropna(subset=["label"]).groupby("set_id", sort=False)["label"].first()
            for set_id, label in first.items():
                labels[set_index[set_id]] = lookup.get(label, UNLABELLED)
        elif self.cells == "items":
            item = rows["cell"].map(self.item_labels)
            shared = item.groupby(rows["set_id"].to_numpy(), sort=False).agg(lambda v: v.iloc[0] if v.nunique() == 1 else UNLABELLED)
            for set_id, label in shared.items():
                labels[set_index[set_id]] = int(label)
        return labels


def _read_images(paths: list[str], size: int) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    from .image_cache import cached_read_images
    from .images import DEFAULT_MAX_PIXELS

    return cached_read_images(paths, size, fit="crop", max_pixels=DEFAULT_MAX_PIXELS)


def read_counterfactuals(source, *, classes: Sequence[str], cells: str, image_size: int,
                         item_ids: Sequence[str] = (), item_labels: Sequence[int] = ()) -> ManifestSets:
    """Read and check a counterfactual manifest (see the module docstring).

    Parameters
    ----------
    source : path or DataFrame
        A ``.csv`` or ``.parquet`` manifest, or a DataFrame with its columns.
    classes : sequence of str
        The audit's classes.
    cells : {"images", "items", "auto"}
        ``"items"``: cells are ids of audited items (a predictions-only audit: the manifest needs an
        ``id`` column). ``"auto"``: images when the manifest has a ``path`` column, else items.
    image_size : int
        Side of the square images are read at.
    item_ids, item_labels : sequences
        The audited items' ids and label indices (for ``id`` cells).

    Raises
    ------
    InputError
        A bad header, a set that mixes attributes, images named for a predictions-only audit.
    """
    from ..schema._errors import validate
    from .layouts import MSG_OUTSIDE, outside
    from .user_fields import control_rows

    name = source_name(source, IN_MEMORY)
    frame = read_table(source, what=WHAT)
    validate(CounterfactualColumns, {"columns": [str(c) for c in frame.columns]}, source=name)
    if cells == "items" and "id" not in frame.columns:
        raise InputError(MSG_IMAGES_WITHOUT_MODEL.format(source=name))
    cells = "images" if cells == "auto" and "path" in frame.columns else ("items" if cells == "auto" else cells)
    cell_column = "path" if cells == "images" else "id"
    table = pd.DataFrame({c: text_cells(frame[c]).to_numpy() for c in ("set_id", "attribute", "value", cell_column)})
    table["label"] = text_cells(frame["label"]).to_numpy() if "label" in frame.columns else None
    table = table.rename(columns={cell_column: "cell"})
    skipped: dict[str, Counter] = {}

    def skip(mask: np.ndarray, reason: str) -> np.ndarray:
        for attribute in table.loc[mask, "attribute"].fillna("?"):
            skipped.setdefault(attribute, Counter())[reason] += 1
        return mask

    drop = np.zeros(len(table), dtype=bool)
    for column in ("set_id", "attribute", "value", "cell"):
        drop |= skip(table[column].isna().to_numpy() & ~drop, f"missing {cell_column if column == 'cell' else column}")
    # The one control-character rule (user_fields): on every field but a path, which is never shown raw.
    checked = table.drop(columns=["cell", "label"] if table["label"].isna().all() else ["cell"])
    if cells == "items":
        checked["item_id"] = table["cell"]
    checked["id"] = [str(k) for k in range(len(table))]  # the row, to count each skip under its attribute
    records: list[dict] = []
    bad = np.zeros(len(table), dtype=bool)
    bad[~drop] = control_rows(checked[~drop], records, [])
    for record in records:
        attribute = table["attribute"].iloc[int(record["id"])]
        skipped.setdefault(str(attribute), Counter())[record["reason"]] += 1
    drop |= bad
    _check_one_attribute(table[~drop], name)
    if cells == "images":
        folder = Path(os.fspath(source)).parent if not isinstance(source, pd.DataFrame) else Path.cwd()
        # Only rows still kept have a path: a skipped row's cell may be missing (NaN once in the frame).
        paths = [None if d else str(folder / p) for p, d in zip(table["cell"], drop)]
        table["cell"] = paths
        drop |= skip(outside(paths, folder), MSG_OUTSIDE.format(root=shown_path(folder)))
    else:
        known = set(map(str, item_ids))
        drop |= skip(~drop & ~table["cell"].isin(known).to_numpy(), UNKNOWN_ID)
    repeated = np.zeros(len(table), dtype=bool)
    repeated[~drop] = table[~drop].duplicated(subset=["set_id", "value"], keep="first").to_numpy()
    drop |= skip(repeated, REPEATED_VALUE)
    return ManifestSets(
        rows=table[~drop].reset_index(drop=True), cells=cells, classes=tuple(classes), image_size=image_size,
        item_labels=dict(zip(map(str, item_ids), map(int, item_labels))), skipped_rows=skipped,
        description=f"counterfactual manifest {name}",
    )


def _check_one_attribute(table: pd.DataFrame, source: str) -> None:
    """Every set changes one attribute; a set that names two is refused (exit 2)."""
    per_set = table.groupby("set_id", sort=False)["attribute"].agg(lambda v: list(dict.fromkeys(v)))
    mixed = per_set[per_set.map(len) > 1]
    if len(mixed):
        set_id, attributes = mixed.index[0], mixed.iloc[0]
        raise InputError(MSG_MIXED_ATTRIBUTES.format(source=source, set_id=shown(set_id, limit=60),
                                                     first=shown(attributes[0], limit=40),
                                                     second=shown(attributes[1], limit=40)))


def counterfactual_counts(twins: TwinSet) -> dict[str, Any]:
    """What a set source left out for one attribute, for results.json (empty for rendered twins)."""
    meta = twins.meta or {}
    out: dict[str, Any] = {}
    if "skipped_rows" in meta:
        out["skipped_rows"] = dict(meta["skipped_rows"])
        out["skipped_sets"] = dict(meta["skipped_sets"])
        out["n_sets_skipped"] = int(sum(meta["skipped_sets"].values()))
    return out
