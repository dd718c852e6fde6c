"""The schema of the tables people bring: a predictions file and a counterfactual manifest (docs/bring-your-own.md).

Both are CSV or Parquet tables; what is checked here is their header (which columns, what they
name), one model per file type, so that a wrong header is one line naming the file and the
problem: ``preds.csv: columns: no 'prediction' column (columns: id, label, ...)``. The values of
the rows are checked, vectorised, by their readers (:mod:`tinyemo_audit.data.predictions`,
:mod:`tinyemo_audit.data.counterfactuals`) with the messages below, each naming the first bad row.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from ..user_text import shown
from ._base import Section, problem

PROB_PREFIX = "prob_"
SCORE_PREFIX = "score_"
PREDICTION_ROLES = ("id", "label", "prediction")
COUNTERFACTUAL_ROLES = ("set_id", "attribute", "value", "path", "id", "label")
MAX_COLUMNS = 10_000
# A row's probabilities must sum to 1 within this (rounded CSV values of a softmax still pass).
PROB_SUM_TOLERANCE = 0.01

PROBLEM_MISSING = "no {column} column (columns: {present})"
PROBLEM_EMPTY_CLASS = "column {column} names no class (write prob_<class>, e.g. prob_happy)"
PROBLEM_SCORES_WITHOUT_PROBS = ("score_ columns ({scores}) need the prob_ columns of the same classes "
                                "(the probabilities are what a twin's shift and flip are read from)")
PROBLEM_SCORE_CLASSES = "score_ columns name {scores} but prob_ columns name {probs}: they must name the same classes"
PROBLEM_DUPLICATE = "column {column} appears twice"
PROBLEM_CELL = "needs a path column (images to encode) or an id column (items of the audited data)"

MSG_ROW = "{source}: row {row} (id {id}): {problem}"
MSG_PREDICTION_CLASS = ("prediction {prediction} is not a class of the prob_ columns (classes: {classes}); "
                        "add its prob_ column or fix the prediction")
MSG_PROB_RANGE = "{column} is {value}; probabilities must be numbers from 0 to 1"
MSG_PROB_SUM = ("its probabilities sum to {total}, not 1 (within {tolerance:g}); give one prob_ column per "
                "class of the model")
MSG_SCORE = "{column} is {value}; scores must be finite numbers"
MSG_DUPLICATE_ID = "{source}: id {id} appears on rows {first} and {second}; every row needs its own id"
MSG_NO_ROWS = "{source} has no rows to audit{why}"
MSG_EMBEDDING_ROWS = ("{embeddings} has {got:,} rows but {source} has {want:,}; embeddings are aligned by row "
                      "(or by an id column in a Parquet file)")
MSG_EMBEDDING_SHAPE = "{embeddings} must be a 2-D array [rows, dimensions] of finite numbers; {problem}"
MSG_EMBEDDING_IDS = "{embeddings}: {problem}"
MSG_MIXED_ATTRIBUTES = ("{source}: set {set_id} mixes attributes {first} and {second}; every row of a set shows "
                        "the same person or scene with only one attribute changed")
MSG_IMAGES_WITHOUT_MODEL = ("{source} names images (path) but a predictions-only audit has no model to encode "
                            "them; give an id column naming rows of the predictions file")


def _listed(columns: list[str]) -> str:
    shown_columns = [shown(c, limit=40)[1:-1] for c in columns[:20]]
    return ", ".join(shown_columns) + (f" and {len(columns) - 20} more" if len(columns) > 20 else "") or "none"


def _check_unique(columns: list[str]) -> None:
    seen = set()
    for column in columns:
        if column in seen:
            raise problem(PROBLEM_DUPLICATE.format(column=shown(column, limit=40)))
        seen.add(column)


Columns = Annotated[list[str], Field(min_length=1, max_length=MAX_COLUMNS)]


class PredictionsColumns(Section):
    """The header of a predictions file: ``id``, ``prediction``, optional ``label``, ``prob_<class>``,
    ``score_<class>``; every other column is an attribute."""

    columns: Columns

    @field_validator("columns")
    @classmethod
    def _roles(cls, columns: list[str]) -> list[str]:
        _check_unique(columns)
        for column in ("id", "prediction"):
            if column not in columns:
                raise problem(PROBLEM_MISSING.format(column=shown(column), present=_listed(columns)))
        probs = [c[len(PROB_PREFIX):] for c in columns if c.startswith(PROB_PREFIX)]
        scores = [c[len(SCORE_PREFIX):] for c in columns if c.startswith(SCORE_PREFIX)]
        for prefix, names in ((PROB_PREFIX, probs), (SCORE_PREFIX, scores)):
            if any(not name.strip() for name in names):
                raise problem(PROBLEM_EMPTY_CLASS.format(column=shown(prefix)))
        if scores and not probs:
            raise problem(PROBLEM_SCORES_WITHOUT_PROBS.format(scores=_listed(scores)))
        if scores and set(scores) != set(probs):
            raise problem(PROBLEM_SCORE_CLASSES.format(scores=_listed(scores), probs=_listed(probs)))
        return columns


class CounterfactualColumns(Section):
    """The header of a counterfactual manifest: ``set_id``, ``attribute``, ``value`` and ``path`` or ``id``."""

    columns: Columns

    @field_validator("columns")
    @classmethod
    def _roles(cls, columns: list[str]) -> list[str]:
        _check_unique(columns)
        for column in ("set_id", "attribute", "value"):
            if column not in columns:
                raise problem(PROBLEM_MISSING.format(column=shown(column), present=_listed(columns)))
        return columns

    @model_validator(mode="after")
    def _cells(self) -> CounterfactualColumns:
        if "path" not in self.columns and "id" not in self.columns:
            raise problem(PROBLEM_CELL)
        return self
