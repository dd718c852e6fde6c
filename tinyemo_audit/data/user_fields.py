"""Control characters in what a dataset names: an item field skips the item, a column name drops the column.

One rule for every dataset reader (layouts, CSV manifests, feature folders, ``embed`` caches). A
control or bidirectional character (:data:`~tinyemo_audit.user_text.CONTROL_CHARACTERS`) can
corrupt a terminal, a CSV or an XML file and make a page show other text than it holds, so:

- an item whose id (file name), label (a label folder's name too) or attribute value holds one
  is skipped, with the field named in its reason; a label seen only on such items is no class;
- a column (attribute) whose *name* holds one is left out of the dataset: the name would reach
  every output that lists attributes. It is recorded in ``meta["skipped_attributes"]`` (the
  audit lists it in ``run.skipped``) with the name shown with visible ``\\uXXXX`` escapes.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"path": ["a.png", "b.png"], "id": ["a", "b"], "label": ["happy", "s\\x1bad"]})
>>> skipped, problems = [], []
>>> control_rows(table, skipped, problems).tolist()
[False, True]
>>> skipped[0]["reason"]
'control character in label'
>>> kept, dropped = control_columns(["age", "ge\\u202ender"])
>>> kept, dropped[0]["attribute"]
(['age'], "'ge\\\\u202Ender'")
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..user_text import CONTROL_CHARACTERS, CONTROL_CODEPOINTS, has_control, visible

MSG_FIELD = "control character in {field}"
MSG_COLUMN = "control character in the attribute name {name}"
FIELD_NAMES = {"id": "file name or id", "label": "label", "prediction": "prediction", "set_id": "set_id",
               "item_id": "id"}


def skip_rows(skipped: list[dict], table: pd.DataFrame, mask: np.ndarray, reasons) -> None:
    """Append ``{"id", "path", "reason"}`` records for the rows ``mask`` of ``table`` to ``skipped``."""
    rows = table[mask]
    reasons = [reasons] * len(rows) if isinstance(reasons, str) else list(reasons)
    paths = rows["path"] if "path" in rows.columns else [None] * len(rows)
    skipped.extend(
        {"id": str(i), "path": None if p is None or (isinstance(p, float) and np.isnan(p)) else str(p), "reason": r}
        for i, p, r in zip(rows["id"], paths, reasons)
    )


def field_name(column: str) -> str:
    """How a reason names a column: ``file name or id``, ``label`` or ``attribute 'x'``."""
    return FIELD_NAMES.get(column, f"attribute {column!r}")


def control_rows(table: pd.DataFrame, skipped: list[dict], problems: list[str], *, strip: bool = True) -> np.ndarray:
    """Rows whose id (file name), label or an attribute value holds a control character; each skipped once.

    ``path`` is not looked at: the id is the file name that outputs show, and a path is never shown
    raw. The reason names the first field found. ``strip``: the readers that trim surrounding
    whitespace from the values they keep check the trimmed value; readers that keep values as
    they are (a feature store) pass False, so that a value of only "\r" is caught.
    """
    bad = np.zeros(len(table), dtype=bool)
    for column in (c for c in table.columns if c != "path"):
        text = table[column].astype("string")
        text = text.str.strip() if strip else text
        hit = text.str.contains(CONTROL_CHARACTERS, regex=True, na=False).to_numpy(bool) & ~bad
        if hit.any():
            field = field_name(column)
            problems.append(f"{int(hit.sum())} item(s) skipped: {MSG_FIELD.format(field=field)}")
            skip_rows(skipped, table, hit, MSG_FIELD.format(field=field))
            bad |= hit
    return bad


def control_columns(columns: Iterable[Any]) -> tuple[list[Any], list[dict[str, str]]]:
    """Columns whose names are clean, and ``{"attribute", "reason"}`` records for those left out."""
    kept, dropped = [], []
    for column in columns:
        if has_control(str(column)):
            name = f"'{visible(str(column), one_line=True)}'"
            dropped.append({"attribute": name, "reason": MSG_COLUMN.format(name=name)})
        else:
            kept.append(column)
    return kept, dropped


def clean_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """``labels`` without those that hold a control character (such a label names no class)."""
    return tuple(label for label in labels if not has_control(str(label)))


def clean_dataset(data):
    """``data`` (a :class:`~tinyemo_audit.data.dataset.Dataset`) with the rule above applied.

    For readers that get a whole split at once (an ``embed`` cache): attribute columns named with
    a control character are dropped (``meta["skipped_attributes"]``), classes named with one are
    removed (their items skipped), and items whose id or attribute value holds one are skipped
    (``meta["skipped"]``).
    """
    from dataclasses import replace

    from .dataset import UNLABELLED

    if _clean_already(data):  # the common case, decided without a Python string per item
        return data
    problems: list[str] = list(data.meta.get("problems", ()))
    skipped: list[dict] = list(data.meta.get("skipped", ()))
    kept_columns, dropped = control_columns(data.attributes.columns)
    problems.extend(f"attribute column left out: {record['reason']}" for record in dropped)
    classes = clean_labels(data.classes)
    new_index = np.full(len(data.classes) + 1, UNLABELLED, dtype=np.int64)  # last slot: UNLABELLED stays
    new_index[[data.classes.index(c) for c in classes]] = np.arange(len(classes))
    bad_class = np.asarray([has_control(c) for c in data.classes] + [False], dtype=bool)[data.labels]
    table = pd.DataFrame({"id": data.ids.astype(str),
                          **{str(c): data.attributes[c].astype(str).to_numpy() for c in kept_columns}})
    table["path"] = None
    bad = np.zeros(len(data), dtype=bool)
    if bad_class.any():
        problems.append(f"{int(bad_class.sum())} item(s) skipped: {MSG_FIELD.format(field='label')}")
        skip_rows(skipped, table, bad_class, MSG_FIELD.format(field="label"))
        bad |= bad_class
    # Values here are kept as they are (not trimmed), so they are checked as they are.
    bad[~bad] = control_rows(table[~bad].reset_index(drop=True), skipped, problems, strip=False)
    if not dropped and not bad.any() and classes == data.classes:
        return data
    kept = data.subset(np.flatnonzero(~bad))
    return replace(kept, classes=classes, labels=new_index[kept.labels],
                   attributes=kept.attributes[list(kept_columns)],
                   meta={**kept.meta, "skipped": tuple(skipped), "problems": tuple(problems),
                         "skipped_attributes": tuple(dropped)})


def _has_control_codepoint(values: np.ndarray) -> bool:
    """Whether any string of the unicode array ``values`` holds a control character (vectorised)."""
    values = np.asarray(values)
    if values.dtype.kind != "U":
        values = values.astype(str)
    if not values.size or values.dtype.itemsize == 0:
        return False
    points = values.reshape(-1).view(np.uint32).reshape(values.size, -1)
    # NUL is numpy's padding (a real trailing NUL is dropped by numpy itself); tab and newline count.
    if np.isin(points, np.asarray(CONTROL_POINTS, dtype=np.uint32)).any():
        return True
    # A NUL with a character after it in the same string is no padding: it is a control character.
    filled = points != 0
    later = np.zeros_like(filled)
    later[:, :-1] = np.logical_or.accumulate(filled[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return bool((~filled & later).any())


# CONTROL_CHARACTERS as code points: the sanitiser's list plus tab and newline, without NUL (padding).
CONTROL_POINTS = tuple(sorted({*CONTROL_CODEPOINTS, 0x09, 0x0A} - {0x00}))


def _clean_already(data) -> bool:
    """True when no class, column name, id or attribute value of ``data`` holds a control character."""
    if any(has_control(str(c)) for c in (*data.classes, *data.attributes.columns)):
        return False
    if _has_control_codepoint(np.asarray(data.ids)):
        return False
    for column in data.attributes.columns:
        values = data.attributes[column]
        distinct = values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype) else pd.unique(values)
        if any(has_control(str(v)) for v in distinct):
            return False
    return True
