"""A TinyEmo Table VIII-shaped results table (models × datasets, top-1 %, zero-shot marked) and its writers."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from ..user_text import visible
from .joint import dataset_label, short_labels
from .zero_shot import ZERO_SHOT

ZERO_SHOT_MARK = "*"
METRIC = "top-1 accuracy (%)"
FOOTNOTE = (
    f"{ZERO_SHOT_MARK} zero-shot: the model was not trained on this dataset. Every cell is {METRIC} "
    "over that dataset's own taxonomy."
)
TABLE_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json"}


@dataclass(frozen=True)
class TableColumn:
    """One dataset column: its spec, short name, taxonomy, size and the items loading left out."""

    spec: str
    label: str
    taxonomy: str | None
    n_classes: int
    n: int
    n_skipped: int = 0


@dataclass(frozen=True)
class TableCell:
    """One model × dataset result."""

    accuracy: float | None  # percent
    status: str  # "trained on" or "zero-shot"

    @property
    def text(self) -> str:
        if self.accuracy is None:
            return "n/a"
        return f"{self.accuracy:.2f}" + (ZERO_SHOT_MARK if self.status == ZERO_SHOT else "")


@dataclass(frozen=True)
class TableRow:
    """One model: its name, its training data and a cell per column spec."""

    model: str
    trained_on: tuple[str, ...]
    cells: dict[str, TableCell]

    @property
    def training_text(self) -> str:
        return ", ".join(dataset_label(s) for s in self.trained_on) or "unknown"


@dataclass(frozen=True)
class ResultsTable:
    """Rows = models (with their training data), columns = datasets, cells = top-1 accuracy in %."""

    split: str
    columns: tuple[TableColumn, ...]
    rows: tuple[TableRow, ...]

    def grid(self) -> list[list[str]]:
        """Header row then one row per model, every cell as text (zero-shot cells end in ``*``)."""
        header = ["model", "trained on", *(c.label for c in self.columns)]
        body = [[r.model, r.training_text, *(r.cells[c.spec].text for c in self.columns)] for r in self.rows]
        return [header, *body]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``: columns, rows with cells keyed by dataset spec, the footnote."""
        return {
            "metric": METRIC,
            "split": self.split,
            "columns": [asdict(c) for c in self.columns],
            "rows": [
                {
                    "model": r.model,
                    "trained_on": list(r.trained_on),
                    "cells": {spec: asdict(cell) for spec, cell in r.cells.items()},
                }
                for r in self.rows
            ],
            "zero_shot_mark": ZERO_SHOT_MARK,
            "note": FOOTNOTE,
        }


def results_table(evaluations: Sequence[dict[str, Any]]) -> ResultsTable:
    """Build the table from :func:`~tinyemo_audit.model.zero_shot.evaluate_grid` results.

    Parameters
    ----------
    evaluations : sequence of dict
        Each with ``model``, ``spec``, ``status``, ``trained_on``, ``accuracy``, ``labels``, ``n``,
        ``taxonomy``, ``split`` (``model_ref`` optional: it keeps two bundles of one name apart;
        ``n_skipped`` optional: items loading left out, shown in the column notes).

    Returns
    -------
    ResultsTable
        Columns in first-seen dataset order, rows in first-seen model order.
    """
    if not evaluations:
        raise InputError("no evaluations to tabulate")
    specs = list(dict.fromkeys(e["spec"] for e in evaluations))
    labels = short_labels(specs)
    columns = []
    for spec in specs:
        first = next(e for e in evaluations if e["spec"] == spec)
        columns.append(TableColumn(spec=spec, label=labels[spec], taxonomy=first.get("taxonomy"),
                                   n_classes=len(first["labels"]), n=int(first["n"]),
                                   n_skipped=int(first.get("n_skipped") or 0)))
    refs = list(dict.fromkeys(e.get("model_ref", e["model"]) for e in evaluations))
    names = {e.get("model_ref", e["model"]): e["model"] for e in evaluations}
    clash = len(set(names.values())) < len(names)
    rows = []
    for ref in refs:
        mine = [e for e in evaluations if e.get("model_ref", e["model"]) == ref]
        cells = {
            e["spec"]: TableCell(
                accuracy=None if e["accuracy"] is None else round(100.0 * e["accuracy"], 2), status=e["status"]
            )
            for e in mine
        }
        missing = [s for s in specs if s not in cells]
        if missing:
            raise InputError(f"model {names[ref]} has no result for {', '.join(missing)}")
        rows.append(TableRow(model=ref if clash else names[ref], trained_on=tuple(mine[0].get("trained_on") or ()),
                             cells=cells))
    return ResultsTable(split=evaluations[0].get("split", "test"), columns=tuple(columns), rows=tuple(rows))


def _column_notes(table: ResultsTable) -> list[str]:
    return [
        f"{c.label} = {c.spec}: {c.taxonomy or 'own taxonomy'}, {c.n_classes} classes, n {c.n}"
        + (f" ({c.n_skipped} skipped while loading)" if c.n_skipped else "")
        for c in table.columns
    ]


def format_table_text(table: ResultsTable) -> str:
    """Fixed-width text for the terminal, with the zero-shot footnote and what each column is."""
    grid = table.grid()
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    lines = [f"{METRIC}, {table.split} split"]
    for k, row in enumerate(grid):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:])]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return visible("\n".join([*lines, "", FOOTNOTE, *_column_notes(table)]))  # model and dataset names


def table_markdown(table: ResultsTable) -> str:
    """A GitHub-flavoured markdown table (numbers right-aligned) with the footnote below."""
    grid = table.grid()
    escape = [[cell.replace("|", "\\|") for cell in row] for row in grid]
    # A literal * in a cell would start emphasis in markdown.
    escape = [row[:2] + [cell.replace(ZERO_SHOT_MARK, "\\" + ZERO_SHOT_MARK) for cell in row[2:]] for row in escape]
    lines = ["| " + " | ".join(escape[0]) + " |", "|---|---|" + "---:|" * len(table.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in escape[1:]]
    notes = [f"- {note}" for note in _column_notes(table)]
    return visible("\n".join([*lines, "", f"{METRIC}, {table.split} split. {FOOTNOTE}", "", *notes]) + "\n")


def table_csv(table: ResultsTable) -> str:
    """CSV of the grid: ``model, trained on, <dataset>...``; zero-shot cells keep their ``*``."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(table.grid())
    return visible(buffer.getvalue())


def table_kind(path: str | Path) -> str:
    """The table format a file name asks for (markdown, csv or json, by suffix); UsageError otherwise."""
    from ..user_text import shown

    kind = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if kind is None:
        raise UsageError(f"table file {shown(Path(path).name)} must end in one of {', '.join(TABLE_SUFFIXES)}")
    return kind


def table_text(table: ResultsTable, path: str | Path) -> str:
    """``table`` as the file ``path`` holds it: markdown (.md), CSV (.csv) or JSON (.json), chosen by suffix."""
    import json

    return {
        "markdown": table_markdown,
        "csv": table_csv,
        "json": lambda t: json.dumps(t.to_dict(), indent=2) + "\n",
    }[table_kind(path)](table)


def write_table(table: ResultsTable, path: str | Path) -> Path:
    """Write ``table`` atomically as markdown (.md), CSV (.csv) or JSON (.json), chosen by suffix."""
    from .._io import atomic_write_text

    atomic_write_text(path, table_text(table, path))
    return Path(path)
