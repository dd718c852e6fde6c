"""Number formatting for the report: rates as percent, shifts with 3 decimals, small q-values in e-notation."""

from __future__ import annotations

import math
from typing import Any

from ._html import Safe, esc

DASH = "—"


def as_number(x: Any) -> float | None:
    """``x`` as a finite float, or None (bools, strings, NaN and infinities are not numbers here)."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def pct(x: Any) -> str:
    """A proportion in [0, 1] as ``"81.3 %"``."""
    v = as_number(x)
    return DASH if v is None else f"{100 * v:.1f} %"


def pp(x: Any) -> str:
    """A difference of proportions as percentage points: ``"+7.1 pp"``."""
    v = as_number(x)
    if v is None:
        return DASH
    v = round(100 * v, 1) + 0.0  # a gap that rounds to zero reads 0.0, never +0.0 or -0.0
    return "0.0 pp" if v == 0 else f"{v:+.1f} pp"


def points(x: Any) -> str:
    """A change of a probability as signed points: ``"+11.8 points"`` (``"0 points"`` when it rounds to 0)."""
    v = as_number(x)
    if v is None:
        return DASH
    v = round(100 * v, 1) + 0.0
    return "0 points" if v == 0 else f"{v:+.1f} points"


def shift(x: Any) -> str:
    """A similarity shift or effect size with sign and 3 decimals."""
    v = as_number(x)
    # round first so that -0.0004 reads +0.000, not -0.000
    return DASH if v is None else f"{round(v, 3) + 0.0:+.3f}"


def dec(x: Any, digits: int = 3) -> str:
    """A plain number with ``digits`` decimals."""
    v = as_number(x)
    return DASH if v is None else f"{v:.{digits}f}"


def qval(x: Any) -> str:
    """A p- or q-value; scientific notation below 0.001."""
    v = as_number(x)
    if v is None:
        return DASH
    return f"{v:.1e}" if 0 < v < 1e-3 else f"{v:.3f}"


def count(x: Any) -> str:
    """An integer count with thousands separators."""
    v = as_number(x)
    return DASH if v is None else f"{int(round(v)):,}"


def with_ci(stat: Any, fmt=pct) -> Safe:
    """``value [low, high]`` of a stat dict; its ``note`` (why it is null) as a tooltip."""
    if not isinstance(stat, dict):
        return Safe(DASH)
    value = fmt(stat.get("value"))
    if value == DASH:
        note = stat.get("note")
        return Safe(f'<span title="{esc(note)}">{DASH}</span>') if note else Safe(DASH)
    low, high = fmt(stat.get("ci_low")), fmt(stat.get("ci_high"))
    if low == DASH or high == DASH:
        return esc(value)
    return Safe(f'{esc(value)} <span class="ref">[{esc(low)}, {esc(high)}]</span>')


def evidence_value(statistic: Any, x: Any) -> str:
    """Format a finding's evidence value by what its statistic measures."""
    name = str(statistic or "").lower()
    if "ratio" in name:
        return dec(x, 2)
    if "difference" in name or "gap" in name:
        return pp(x)
    if any(word in name for word in ("rate", "accuracy", "tpr", "fpr", "share", "probability")):
        return pct(x)
    return shift(x) if "shift" in name else dec(x, 3)
