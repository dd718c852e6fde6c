"""A predictions file (``run --predictions``) read into the audit's items and the model's answers about them.

The table (CSV or Parquet, :mod:`.tables`) has one row per item: ``id``, ``prediction`` (the class
the model chose), optional ``label`` (the true class), optional ``prob_<class>`` columns (the
model's probability of each class), optional ``score_<class>`` columns (its raw score of each
class, e.g. a cosine similarity or a logit) and any attribute columns. Embeddings (optional) are an
``[N, D]`` array aligned by row, or a Parquet file with an ``id`` column and one number column per
dimension. The header is checked by :class:`tinyemo_audit.schema.predictions.PredictionsColumns`.

Rules (docs/bring-your-own.md):

- **classes**: the ``prob_`` columns' classes, in column order; without them, the classes named by
  predictions and labels, in the order of the smallest known taxonomy that holds them all
  (:func:`~tinyemo_audit.taxonomy.taxonomy_of`), else sorted.
- **exit 2** (one line naming the first bad row): a prediction that is no ``prob_`` class, a
  probability that is not a number from 0 to 1, a row whose probabilities do not sum to 1 within
  :data:`~tinyemo_audit.schema.predictions.PROB_SUM_TOLERANCE`, a score that is not finite, a
  duplicate id, embeddings with the wrong number of rows or non-finite values.
- **skipped and counted** (``run.skipped_items``): a row without an id or a prediction, a row whose
  label is missing (while others have one) or names no class, a row with a control character in its
  id, label, prediction or an attribute value (:mod:`.user_fields`). An attribute column whose
  name holds a control character is left out.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"id": ["a", "b"], "prediction": ["happy", "sad"], "label": ["happy", "happy"],
...                       "site": ["x", "y"]})
>>> data, preds = read_predictions(table)
>>> data.classes, data.labels.tolist(), preds.predicted.tolist()
(('happy', 'sad'), [0, 0], [0, 1])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..input_files import shown_path
from ..model.classifier import Predictions
from ..schema.predictions import (
    MSG_DUPLICATE_ID,
    MSG_EMBEDDING_IDS,
    MSG_EMBEDDING_ROWS,
    MSG_EMBEDDING_SHAPE,
    MSG_NO_ROWS,
    MSG_PREDICTION_CLASS,
    MSG_PROB_RANGE,
    MSG_PROB_SUM,
    MSG_ROW,
    MSG_SCORE,
    PREDICTION_ROLES,
    PROB_PREFIX,
    PROB_SUM_TOLERANCE,
    SCORE_PREFIX,
    PredictionsColumns,
)
from ..user_text import shown
from .dataset import UNLABELLED, Dataset
from .tables import PARQUET_SUFFIXES, read_table, source_name, text_cells
from .user_fields import control_columns, control_rows, skip_rows

WHAT = "predictions file"
EMBEDDINGS = "embeddings"
NAME = "predictions"
IN_MEMORY = "<predictions DataFrame>"


def _row_error(source: str, frame: pd.DataFrame, row: int, problem: str) -> InputError:
    """An InputError naming row ``row`` (0-based, of ``frame``) as a person counts it: the CSV's line number."""
    line = int(frame.index[row]) + 2  # header on line 1
    return InputError(MSG_ROW.format(source=source, row=line, id=shown(frame["id"].iloc[row], limit=60),
                                     problem=problem))


def _classes(frame: pd.DataFrame, probs: list[str], labelled: bool) -> tuple[str, ...]:
    if probs:
        return tuple(probs)
    from ..taxonomy import taxonomy_of

    names = set(frame["prediction"].dropna()) | (set(frame["label"].dropna()) if labelled else set())
    known = taxonomy_of(names)
    # A class no row names has no rate to compare: only the classes present, in the taxonomy's order.
    return tuple(c for c in known.classes if c in names) if known is not None else tuple(sorted(names))


def _numbers(frame: pd.DataFrame, columns: list[str], source: str, *, probabilities: bool) -> np.ndarray:
    """The ``columns`` as a float64 matrix; a row error for the first cell that breaks the rule."""
    matrix = np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64) for c in columns])
    bad = ~np.isfinite(matrix)
    if probabilities:
        bad |= (matrix < 0) | (matrix > 1)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = shown(frame[columns[col]].iloc[row], limit=40)
        template = MSG_PROB_RANGE if probabilities else MSG_SCORE
        raise _row_error(source, frame, int(row), template.format(column=shown(columns[col], limit=40), value=value))
    if probabilities:
        total = matrix.sum(axis=1)
        off = np.flatnonzero(np.abs(total - 1.0) > PROB_SUM_TOLERANCE)
        if len(off):
            row = int(off[0])
            raise _row_error(source, frame, row, MSG_PROB_SUM.format(total=f"{total[row]:.4g}",
                                                                      tolerance=PROB_SUM_TOLERANCE))
    return matrix


def _embeddings_by_id(path: Path, ids: np.ndarray) -> np.ndarray:
    """Rows of a Parquet embeddings file (``id`` plus one number column per dimension) in the order of ``ids``.

    A row of the table without an id (None in ``ids``) gets zeros: it is skipped before anything reads them.
    """
    name = shown_path(path)
    table = read_table(path, what=EMBEDDINGS)
    if "id" not in table.columns:
        raise InputError(MSG_EMBEDDING_IDS.format(embeddings=name, problem="a Parquet embeddings file needs an id column"))
    keys = text_cells(table["id"])
    if keys.duplicated().any():
        first = keys[keys.duplicated()].iloc[0]
        raise InputError(MSG_EMBEDDING_IDS.format(embeddings=name, problem=f"id {shown(first, limit=60)} appears twice"))
    has_id = pd.notna(ids)  # a row without an id is skipped later: it needs no embedding
    position = pd.Index(keys.to_numpy()).get_indexer(ids[has_id])
    missing = ids[has_id][position < 0]
    if len(missing):
        raise InputError(MSG_EMBEDDING_IDS.format(
            embeddings=name, problem=f"no row for id {shown(missing[0], limit=60)} ({len(missing)} ids have none)"))
    values = table.drop(columns=["id"])
    if len(values.columns) == 1 and values.iloc[:, 0].map(lambda v: isinstance(v, (list, np.ndarray))).all():
        matrix = np.stack([np.asarray(v, dtype=np.float64) for v in values.iloc[:, 0]])
    else:
        matrix = np.column_stack([pd.to_numeric(values[c], errors="coerce").to_numpy(np.float64) for c in values.columns])
    rows = np.zeros((len(ids), matrix.shape[1]), dtype=matrix.dtype)
    rows[has_id] = matrix[position]
    return rows


def _check_matrix(matrix: np.ndarray, name: str) -> np.ndarray:
    if matrix.ndim != 2 or matrix.shape[1] < 1:
        raise InputError(MSG_EMBEDDING_SHAPE.format(embeddings=name, problem=f"got shape {tuple(matrix.shape)}"))
    if not np.issubdtype(matrix.dtype, np.number):
        raise InputError(MSG_EMBEDDING_SHAPE.format(embeddings=name, problem=f"got dtype {matrix.dtype}"))
    finite = np.isfinite(matrix)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise InputError(MSG_EMBEDDING_SHAPE.format(embeddings=name, problem=f"row {row} holds a NaN or infinite value"))
    return matrix


def _embeddings(embeddings, n_rows: int, ids_all: np.ndarray, source: str) -> np.ndarray:
    """The embeddings of every row of the table (before rows are skipped), as float32."""
    if isinstance(embeddings, (str, os.PathLike)) and Path(embeddings).suffix.lower() in PARQUET_SUFFIXES:
        matrix = _embeddings_by_id(Path(embeddings), ids_all)
        name = shown_path(embeddings)
    elif isinstance(embeddings, (str, os.PathLike)):
        from .arrays import load_npy

        matrix = np.asarray(load_npy(embeddings, what=EMBEDDINGS))
        name = shown_path(embeddings)
    else:
        matrix = np.asarray(embeddings)
        name = "the embeddings array"
    if matrix.ndim == 2 and len(matrix) != n_rows:
        raise InputError(MSG_EMBEDDING_ROWS.format(embeddings=name, got=len(matrix), source=source, want=n_rows))
    return _check_matrix(matrix, name).astype(np.float32)


def _attributes(frame: pd.DataFrame, columns: list[str], problems: list[str]) -> pd.DataFrame:
    from .layout_loader import UNKNOWN_VALUE

    out = {}
    for column in columns:
        values = text_cells(frame[column])
        missing = int(values.isna().sum())
        if missing:
            problems.append(f"{missing} missing value(s) in attribute {column!r} set to {UNKNOWN_VALUE!r}")
        out[column] = values.fillna(UNKNOWN_VALUE).astype(str).to_numpy()
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def read_predictions(source, *, embeddings=None) -> tuple[Dataset, Predictions]:
    """Read a predictions table (and its embeddings) as the audited items and the model's predictions.

    Parameters
    ----------
    source : path or DataFrame
        A ``.csv`` or ``.parquet`` predictions file, or a DataFrame with the same columns.
    embeddings : path, ndarray or None
        ``[N, D]`` numbers aligned with the table's rows (a ``.npy`` file or an array), or a
        Parquet file with an ``id`` column; None: no embeddings (the probes that need them are
        skipped, with the reason).

    Returns
    -------
    data : Dataset
        ``name="predictions"``, split ``"test"``; ``features`` are the embeddings (``[N, 0]`` without
        them); ``meta`` lists skipped rows and problems as the dataset loaders do.
    preds : Predictions
        ``predicted`` always; ``probabilities`` from the ``prob_`` columns (None without them);
        ``similarities`` are the ``score_`` columns, else the probabilities; ``embeddings`` or None.

    Raises
    ------
    InputError
        The rules in the module docstring (one line, the first bad row named).
    """
    from ..schema._errors import validate

    name = source_name(source, IN_MEMORY)
    frame = read_table(source, what=WHAT)
    validate(PredictionsColumns, {"columns": [str(c) for c in frame.columns]}, source=name)
    probs = [c[len(PROB_PREFIX):] for c in frame.columns if c.startswith(PROB_PREFIX)]
    score_columns = [f"{SCORE_PREFIX}{c}" for c in probs if f"{SCORE_PREFIX}{c}" in frame.columns]
    labelled = "label" in frame.columns
    attributes = [c for c in frame.columns if c not in PREDICTION_ROLES and not c.startswith((PROB_PREFIX, SCORE_PREFIX))]
    kept_attributes, dropped = control_columns(attributes)
    problems = [f"attribute column left out: {record['reason']}" for record in dropped]
    n_rows = len(frame)
    ids_all = text_cells(frame["id"]).to_numpy()
    matrix = None if embeddings is None else _embeddings(embeddings, n_rows, ids_all, name)

    table = pd.DataFrame({"id": ids_all, "prediction": text_cells(frame["prediction"]).to_numpy()}, index=frame.index)
    if labelled:
        table["label"] = text_cells(frame["label"]).to_numpy()
    for column in kept_attributes:
        table[column] = frame[column].to_numpy(object)
    skipped: list[dict[str, Any]] = []
    drop = np.zeros(n_rows, dtype=bool)
    for column, reason in (("id", "missing id"), ("prediction", "missing prediction")):
        empty = table[column].isna().to_numpy() & ~drop
        if empty.any():
            problems.append(f"{int(empty.sum())} row(s) skipped: {reason}")
            skip_rows(skipped, table.assign(id=table["id"].fillna("?")), empty, reason)
            drop |= empty
    drop[~drop] = control_rows(table[~drop], skipped, problems)
    if labelled:
        missing = table["label"].isna().to_numpy()
        if missing[~drop].all():
            labelled = False  # no row has a label: the audit is label-free
        elif (missing & ~drop).any():
            problems.append(f"{int((missing & ~drop).sum())} row(s) without a label skipped")
            skip_rows(skipped, table, missing & ~drop, "missing label")
            drop |= missing
    kept = frame[~drop]
    table = table[~drop]
    if not len(table):
        why = f" ({len(skipped)} skipped; first: {skipped[0]['reason']})" if skipped else ""
        raise InputError(MSG_NO_ROWS.format(source=name, why=why))
    duplicate = table["id"].duplicated(keep="first").to_numpy()
    if duplicate.any():
        second = int(np.flatnonzero(duplicate)[0])
        first = int(np.flatnonzero(table["id"].to_numpy() == table["id"].iloc[second])[0])
        raise InputError(MSG_DUPLICATE_ID.format(source=name, id=shown(table["id"].iloc[second], limit=60),
                                                 first=int(table.index[first]) + 2, second=int(table.index[second]) + 2))

    classes = _classes(table, probs, labelled)
    lookup = {c: i for i, c in enumerate(classes)}
    predicted = table["prediction"].map(lookup)
    if predicted.isna().any():
        row = int(np.flatnonzero(predicted.isna().to_numpy())[0])
        raise _row_error(name, table, row, MSG_PREDICTION_CLASS.format(
            prediction=shown(table["prediction"].iloc[row], limit=40), classes=", ".join(classes)))
    probabilities = _numbers(kept.assign(id=table["id"]), [f"{PROB_PREFIX}{c}" for c in probs], name,
                             probabilities=True) if probs else None
    scores = _numbers(kept.assign(id=table["id"]), score_columns, name, probabilities=False) if score_columns else None

    keep = np.ones(len(table), dtype=bool)
    labels = np.full(len(table), UNLABELLED, dtype=np.int64)
    if labelled:
        index = table["label"].map(lookup)
        unknown = index.isna().to_numpy()
        if unknown.any():
            counts = table["label"][unknown].value_counts()
            problems.append("unknown labels skipped: " + ", ".join(f"{shown(k, limit=40)} x{v}" for k, v in counts.items()))
            skip_rows(skipped, table, unknown, [f"unknown label {shown(v, limit=40)}" for v in table["label"][unknown]])
            keep = ~unknown
            if not keep.any():
                raise InputError(MSG_NO_ROWS.format(source=name, why=f" (every label is unknown; classes: {', '.join(classes)})"))
        labels = index.fillna(UNLABELLED).to_numpy(np.int64)

    rows = np.flatnonzero(~drop)[keep]
    table = table[keep]
    embedded = None if matrix is None else matrix[rows]
    data = Dataset(
        name=NAME, split="test", classes=tuple(classes), labels=labels[keep], ids=table["id"].to_numpy(str),
        attributes=_attributes(table, kept_attributes, problems),
        features=embedded if embedded is not None else np.zeros((len(table), 0), dtype=np.float32),
        meta={"skipped": tuple(skipped), "problems": tuple(problems), "skipped_attributes": tuple(dropped),
              "source": name},
    )
    probabilities = None if probabilities is None else probabilities[keep].astype(np.float32)
    scores = None if scores is None else scores[keep].astype(np.float32)
    preds = Predictions(
        classes=tuple(classes), embeddings=embedded,
        similarities=scores if scores is not None else probabilities,
        probabilities=probabilities, predicted=predicted.to_numpy(np.int64)[keep],
    )
    return data, preds
