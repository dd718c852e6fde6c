"""A markdown summary of gate outcomes for CI job summaries (e.g. ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..user_text import visible
from ._evaluate import SKIP, STATUS_ORDER, GateOutcome, gates_counts, gates_exit_code, gates_summary_line

# Characters that markdown or the HTML it may contain would interpret; a gate name is text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|#])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _cell(text: object) -> str:
    # control and bidi characters as visible escapes; whitespace collapsed: a newline would end the row
    text = " ".join(visible(str(text)).split())
    text = "".join(_HTML.get(c, c) for c in text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text) or " "


def _observed(o: GateOutcome) -> str:
    return "n/a" if o.observed is None else f"{o.observed:.4g}"


def gates_markdown(outcomes: Iterable[GateOutcome], *, title: str = "tinyemo-audit gates") -> str:
    """A markdown summary of a gate run: verdict line first, then one table row per check.

    Parameters
    ----------
    outcomes : iterable of GateOutcome
    title : str, default "tinyemo-audit gates"
        Heading of the summary.

    Returns
    -------
    str
        A heading, a bold verdict line (``**FAIL** ...``), the exit code it implies, a line on
        skipped checks when there are any, and a table with columns Status, Gate, Attribute,
        Metric, Observed, Bound, Details; worst outcomes first (SKIP just above PASS), file order
        otherwise. A SKIP row's details give the gate's reason and the missing key. Statuses are
        plain words; every cell is escaped so gate names and attribute values show as text.

    Examples
    --------
    >>> print(gates_markdown([]).splitlines()[2])
    **PASS**: no gates were checked
    """
    outcomes = list(outcomes)
    verdict, _, rest = gates_summary_line(outcomes).partition(": ")
    exit_code = gates_exit_code(outcomes)
    lines = [
        f"### {_cell(title)}",
        "",
        f"**{verdict}**: {rest}",
        "",
        f"Exit code {exit_code}"
        + (" (a FAIL or an ERROR fails the run; ERROR means a gate could not be checked)." if exit_code else "."),
    ]
    skipped = gates_counts(outcomes)[SKIP]
    if skipped:
        lines += ["", f"{skipped} check{'s' if skipped != 1 else ''} skipped: the metric is absent from these "
                      "results and its gate allows that (`when_missing: skip`); the reason is in Details."]
    if not outcomes:
        return "\n".join(lines) + "\n"
    rank = {status: i for i, status in enumerate(STATUS_ORDER)}
    ordered = sorted(outcomes, key=lambda o: rank[o.status])  # stable: file order within a status
    lines += [
        "",
        "| Status | Gate | Attribute | Metric | Observed | Bound | Details |",
        "|---|---|---|---|---:|---|---|",
    ]
    for o in ordered:
        cells = [o.status, o.gate, o.attribute or "-", o.path, _observed(o), o.bound, o.details]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["gates_markdown"]
