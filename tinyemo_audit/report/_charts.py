"""A chart of the report: a plotly figure (or the embedding map's compact data), a text alternative and a data table.

Each chart is rendered as ``<figure>``: a caption that summarises it, the plot's div (``role="img"`` with the
same summary as its label), its JSON spec in a ``<script type="application/json">`` drawn by the page's own
script, and the numbers behind it as a table in a ``<details>`` disclosure. Layouts never fix a width, so every
chart follows its container (plotly's ``responsive`` config).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._format import as_number
from ._html import Safe, details, esc, script_safe

PALETTE = ["#2f5bd3", "#e07b39", "#2a9d8f", "#c0392b", "#8e6bbf", "#8a6d3b", "#d46fa8", "#5b6474", "#b5a642",
           "#17becf"]
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["sendDataToCloud", "select2d", "lasso2d", "autoScale2d"]}
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
AXIS = {"gridcolor": "#e9edf3", "linecolor": "#c9d0da", "zerolinecolor": "#d5dbe4", "automargin": True}
# Explicit scales: plotly.js's named ones differ from plotly.py's (its "Blues" runs dark to light).
BLUES = [[0, "#f7fbff"], [0.35, "#c6dbef"], [0.7, "#4292c6"], [1, "#08306b"]]
ORANGES = [[0, "#fff5eb"], [0.5, "#fdae6b"], [1, "#a63603"]]
DIVERGING = [[0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1, "#b2182b"]]


@dataclass
class Chart:
    """One chart: ``spec`` is ``{"data", "layout"}`` (or ``{"map", "layout"}``); ``summary`` its text alternative."""

    spec: dict
    summary: str
    table: Safe
    height: int | None = 340
    controls: Safe = Safe("")
    css_class: str = ""


def distinct_colours(n: int) -> list[str]:
    """``n`` colours that stay apart: the palette first, then hues spread by the golden angle."""
    if n <= len(PALETTE):
        return PALETTE[:n]
    extra = [f"hsl({(i * 137.508) % 360:.0f}, {62 if i % 2 else 48}%, {42 if i % 3 else 56}%)"
             for i in range(n - len(PALETTE))]
    return PALETTE + extra


def ptext(value: Any) -> str:
    """Escape a user string for plotly, which renders a subset of HTML tags in labels and hover text.

    plotly decodes ``&amp;``/``&lt;``/``&gt;`` back to characters for display, so the label reads as typed.
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short(value: Any, limit: int = 22) -> str:
    """:func:`ptext` of a label cut to ``limit`` characters (for ticks and titles; hover keeps it whole)."""
    text = str(value)
    return ptext(text if len(text) <= limit else text[: limit - 1] + "…")


def categories(raw: Sequence[Any], ticks: Sequence[Any] | None = None) -> dict[str, Any]:
    """Axis settings for categorical labels: full escaped label as the value, shortened text on the tick."""
    return {"type": "category", "tickmode": "array", "tickvals": [ptext(c) for c in raw],
            "ticktext": [short(c) for c in (ticks if ticks is not None else raw)]}


def percent_axis(low: float, high: float, *, floor: float = 0.0, ceiling: float = 1.0) -> dict[str, Any]:
    """A percent axis zoomed to ``[low, high]`` with ticks whose decimals fit the span (no "1%, 1%, 1%")."""
    span = max(high - low, 1e-4)
    pad = max(0.12 * span, 0.002)
    lo, hi = max(floor, low - pad), min(ceiling + min(pad / 2, 0.005), high + pad)
    step = (hi - lo) * 100 / 5  # about five ticks, in percent
    decimals = 0 if step >= 1 else 1 if step >= 0.1 else 2
    # "~" trims trailing zeros: 96 %, 96.5 %, 97 % rather than 96.0 %, 96.5 %, 97.0 %
    return {"range": [lo, hi], "tickformat": f".{decimals}~%" if decimals else ".0%", "nticks": 7}


def figure(data: list[dict], layout: Mapping[str, Any], *, height: int | None) -> dict:
    """A figure dict with the report's look; axes get gridlines and automatic margins; no fixed width."""
    base: dict[str, Any] = {"paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "colorway": PALETTE,
                            "margin": {"l": 56, "r": 14, "t": 30, "b": 56}, "font": {"family": FONT, "size": 12},
                            "hoverlabel": {"align": "left"}, "autosize": True}
    if height is not None:
        base["height"] = height
    for key, value in layout.items():
        base[key] = {**AXIS, **value} if key.startswith(("xaxis", "yaxis")) else value
    for key in ("xaxis", "yaxis"):
        base.setdefault(key, dict(AXIS))
    return {"data": data, "layout": base}


def num(x: Any) -> float:
    """``x`` as a float for arrays: NaN when :func:`as_number` finds no number."""
    value = as_number(x)
    return np.nan if value is None else value


def render(chart: Chart, chart_id: str) -> Safe:
    """``chart`` as a ``<figure>`` with caption, plot div, JSON spec and data-table disclosure."""
    from plotly.io.json import to_json_plotly

    style = f' style="height:{chart.height}px"' if chart.height else ""
    spec = script_safe(to_json_plotly(chart.spec))
    return Safe(
        f'<figure class="chart"><figcaption>{esc(chart.summary)}</figcaption>{chart.controls}'
        f'<div id="{esc(chart_id)}" class="plot plotly-graph-div {esc(chart.css_class)}" role="img" '
        f'aria-label="{esc(chart.summary)}"{style}></div>'
        f'<script type="application/json" class="chart-spec" data-chart="{esc(chart_id)}">{spec}</script>'
        f"{details('Data table', chart.table, class_='data-table')}</figure>"
    )
