"""The embedding map's data, every point once: coordinates, then each colouring as a category table plus an
index array (the page's script builds the traces of the colouring chosen in the menu).

Before, every point was copied once per colouring and its cluster name repeated in every copy; now a point is
two coordinates and one small integer per colouring, and each name is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._charts import Chart, distinct_colours, figure, ptext
from ._html import Safe, esc, join, tag

NOISE = "noise"
ERROR_COLOURS = {"correct": "#9aa4b2", "misclassified": "#c0392b"}
NOISE_COLOUR = "#c7ccd4"
COORD_DECIMALS = 3


def _codes(values: Sequence[Any], order=None) -> tuple[list[str], np.ndarray]:
    """Distinct values (sorted, or by ``order``) and each point's index into them."""
    text = np.asarray([str(v) for v in values], dtype=object)
    cats, inverse = np.unique(text, return_inverse=True)
    cats = list(cats)
    if order is not None:
        ranked = sorted(range(len(cats)), key=lambda i: order(cats[i]))
        remap = np.empty(len(cats), dtype=int)
        remap[ranked] = np.arange(len(cats))
        return [cats[i] for i in ranked], remap[inverse]
    return cats, inverse


Legend = tuple[str, list[str], list[str]]  # colouring name, its categories, their colours


def map_chart(points: Mapping[str, Sequence[Any]], clusters: Sequence[Mapping[str, Any]],
              attributes: Sequence[str]) -> tuple[dict, list[Legend]] | None:
    """The map spec and, per colouring, its (name, categories, colours) for the HTML legend; None without points."""
    x = np.asarray(points.get("x") or [], dtype=float)
    y = np.asarray(points.get("y") or [], dtype=float)
    n = len(x)
    if n == 0 or len(y) != n or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None

    def column(key: str, default: Any) -> list[Any]:
        values = points.get(key)
        return list(values) if values is not None and len(values) == n else [default] * n

    names = {str(c.get("id")): f"#{c.get('id')} {c.get('name') or ''}".strip() for c in clusters}
    cluster = [names.get(str(c), NOISE if str(c) == "-1" else f"#{c}") for c in column("cluster", -1)]
    error = ["misclassified" if bool(e) else "correct" for e in column("error", False)]
    colourings = []

    def add(name: str, values: Sequence[Any], colours=None, order=None) -> None:
        cats, index = _codes(values, order)
        palette = distinct_colours(len(cats))
        cols = [colours(c, palette[i]) if colours else palette[i] for i, c in enumerate(cats)]
        colourings.append({"name": ptext(name), "categories": [ptext(c) for c in cats], "colours": cols,
                           "index": index.tolist(), "raw": cats})

    def cluster_order(c: str) -> tuple:
        if c == NOISE:
            return (1, 0, c)
        head = c[1:].split(" ", 1)[0]
        return (0, int(head) if head.lstrip("-").isdigit() else 0, c)

    add("cluster", cluster, lambda c, col: NOISE_COLOUR if c == NOISE else col, cluster_order)
    for attr in attributes:
        if points.get(attr) is not None and len(points[attr]) == n:
            add(attr, points[attr])
    if points.get("error") is not None:
        add("error", error, lambda c, col: ERROR_COLOURS.get(c, col))
    hover: list[dict[str, Any]] = []
    if points.get("item") is not None:
        hover.append({"name": "item", "values": [ptext(v) for v in column("item", "")]})
    for key in ("label", "prediction"):
        if points.get(key) is not None:
            cats, index = _codes(column(key, ""))
            hover.append({"name": key, "categories": [ptext(c) for c in cats], "index": index.tolist()})
    hover += [{"name": c["name"], "colouring": k} for k, c in enumerate(colourings)]
    legends = [(c["name"], c.pop("raw"), c["colours"]) for c in colourings]
    spec = {"map": {"x": np.round(x, COORD_DECIMALS).tolist(), "y": np.round(y, COORD_DECIMALS).tolist(),
                    "colourings": colourings, "hover": hover},
            **figure([], {"xaxis": {"showticklabels": False, "title": {"text": "UMAP 1"}, "zeroline": False},
                          "yaxis": {"showticklabels": False, "title": {"text": "UMAP 2"}, "zeroline": False},
                          "showlegend": False, "margin": {"l": 30, "r": 8, "t": 8, "b": 30}}, height=None)}
    spec.pop("data")
    return spec, legends


def map_controls(chart_id: str, legends: Sequence[Legend]) -> Safe:
    """The colouring menu and one HTML legend per colouring (legends reflow on a phone; plotly's would not)."""
    options = join(tag("option", f"colour by {name}", value=str(k), selected=k == 0)
                   for k, (name, _, _) in enumerate(legends))
    menu = Safe(f'<div class="map-controls"><label for="{esc(chart_id)}-colour">Colour:</label>'
                f'<select id="{esc(chart_id)}-colour">{options}</select></div>')
    blocks = []
    for k, (name, cats, colours) in enumerate(legends):
        items = join(Safe(f'<li><span class="swatch" style="background:{esc(col)}"></span>{esc(short_text(cat))}</li>')
                     for cat, col in zip(cats, colours))
        blocks.append(Safe(f'<ul class="map-legend" data-colouring="{k}"{"" if k == 0 else " hidden"} '
                           f'aria-label="legend: {esc(name)}">{items}</ul>'))
    return join([menu, *blocks])


def short_text(value: str, limit: int = 60) -> str:
    """A legend entry cut to ``limit`` characters."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def embedding_chart(points: Mapping[str, Sequence[Any]], clusters: Sequence[Mapping[str, Any]],
                    attributes: Sequence[str], *, summary: str, data_table: Safe, chart_id: str) -> Chart | None:
    """The map as a :class:`Chart` (controls and legends included) or None without points."""
    built = map_chart(points, clusters, attributes)
    if built is None:
        return None
    spec, legends = built
    return Chart(spec, summary, data_table, height=None, controls=map_controls(chart_id, legends), css_class="map")
