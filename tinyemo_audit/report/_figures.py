"""Plotly figures of the report as plain figure dicts, built from results data only.

Every user string goes through :func:`ptext` (plotly renders a subset of HTML in labels). Figures are dicts
rendered with ``validate=False``: graph_objects validation would cost seconds per report for no benefit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

PALETTE = ["#2f5bd3", "#e07b39", "#2a9d8f", "#c0392b", "#8e6bbf", "#8a6d3b", "#d46fa8", "#5b6474", "#b5a642",
           "#17becf"]
SMALL_N_COLOUR = "#b8bfcc"
CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["sendDataToCloud", "select2d", "lasso2d"]}
_AXIS = {"gridcolor": "#e9edf3", "linecolor": "#c9d0da", "zerolinecolor": "#d5dbe4", "automargin": True}
# Explicit scales: plotly.js's named ones differ from plotly.py's (its "Blues" runs dark to light).
BLUES = [[0, "#f7fbff"], [0.35, "#c6dbef"], [0.7, "#4292c6"], [1, "#08306b"]]
ORANGES = [[0, "#fff5eb"], [0.5, "#fdae6b"], [1, "#a63603"]]
DIVERGING = [[0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1, "#b2182b"]]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"


def ptext(value: Any) -> str:
    """Escape a user string for plotly, which renders a subset of HTML tags in labels and hover text.

    plotly decodes ``&amp;``/``&lt;``/``&gt;`` back to characters for display, so the label reads as typed.
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short(value: Any, limit: int = 22) -> str:
    """:func:`ptext` of a label cut to ``limit`` characters (for ticks and titles; hover keeps it whole)."""
    text = str(value)
    return ptext(text if len(text) <= limit else text[: limit - 1] + "…")


def categories(raw: Sequence[Any]) -> dict[str, Any]:
    """Axis settings for categorical labels: full escaped label as the value, shortened text on the tick."""
    return {"type": "category", "tickmode": "array", "tickvals": [ptext(c) for c in raw],
            "ticktext": [short(c) for c in raw]}


def _ptext_array(values: Sequence[Any]) -> np.ndarray:
    """Vectorised :func:`ptext` for per-point columns (escape each distinct value once)."""
    uniq, inverse = np.unique(np.asarray([str(v) for v in values], dtype=object), return_inverse=True)
    return np.asarray([ptext(u) for u in uniq], dtype=object)[inverse]


def _num(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else np.nan


def _figure(data: list[dict], layout: dict, *, height: int) -> dict:
    base = {"paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "colorway": PALETTE, "height": height,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 60}, "font": {"family": FONT, "size": 13},
            "hoverlabel": {"align": "left"}}
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            value = {**_AXIS, **value}
        base[key] = value
    for key in ("xaxis", "yaxis"):
        base.setdefault(key, dict(_AXIS))
    return {"data": data, "layout": base}


def _panels(n: int, titles: Sequence[str], *, gap: float = 0.05, shared_y: bool = True,
            x: dict | None = None, y: dict | None = None) -> tuple[dict, list[tuple[str, str]]]:
    """Layout of ``n`` side-by-side panels (x/y axis pairs and titles); returns it and each panel's axis ids."""
    width = (1 - gap * (n - 1)) / n
    layout: dict[str, Any] = {"annotations": []}
    refs = []
    for i in range(n):
        sx, sy = ("", "") if i == 0 else (str(i + 1), str(i + 1))
        x0 = i * (width + gap)
        layout[f"xaxis{sx}"] = {**(x or {}), "domain": [x0, x0 + width], "anchor": f"y{sy}"}
        layout[f"yaxis{sy}"] = {**(y or {}), "anchor": f"x{sx}"}
        if shared_y and i:
            layout[f"yaxis{sy}"].update(matches="y", showticklabels=False, title=None)
        refs.append((f"x{sx}", f"y{sy}"))
        if i < len(titles):
            layout["annotations"].append({"text": titles[i], "x": x0 + width / 2, "y": 1.0, "xref": "paper",
                                          "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                                          "showarrow": False, "font": {"size": 14}})
    return layout, refs


def to_div(fig: dict, div_id: str) -> str:
    """The figure as an HTML fragment; plotly.js itself is included once by the page."""
    import plotly.io as pio

    return pio.to_html(fig, full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config=CONFIG, default_width="100%", validate=False)


def _ci_arrays(stats: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.array([_num(s.get("value")) if isinstance(s, Mapping) else np.nan for s in stats])
    lo = np.array([_num(s.get("ci_low")) if isinstance(s, Mapping) else np.nan for s in stats])
    hi = np.array([_num(s.get("ci_high")) if isinstance(s, Mapping) else np.nan for s in stats])
    return v, np.where(np.isnan(hi), 0, hi - v), np.where(np.isnan(lo), 0, v - lo)


def group_accuracy(by_attribute: Mapping[str, Any], *, min_group_size: int, reference: Mapping[str, Any]):
    """Accuracy per group with 95 % CI whiskers, one panel per attribute; small groups greyed."""
    attrs = [a for a, block in by_attribute.items() if isinstance(block, Mapping) and block.get("groups")]
    if not attrs:
        return None
    layout, refs = _panels(len(attrs), [short(a, 30) for a in attrs],
                           y={"tickformat": ".0%", "rangemode": "tozero"})
    layout["yaxis"]["title"] = {"text": "accuracy"}
    data = []
    for i, (attr, (xref, yref)) in enumerate(zip(attrs, refs)):
        groups = {g: b for g, b in by_attribute[attr]["groups"].items() if isinstance(b, Mapping)}
        names = list(groups)
        v, up, down = _ci_arrays([groups[g].get("accuracy") for g in names])
        n = np.array([_num(groups[g].get("n")) for g in names])
        small = n < min_group_size
        layout["xaxis" + xref[1:]].update(categories(names))
        data.append({
            "type": "bar", "x": [ptext(g) for g in names], "y": v, "xaxis": xref, "yaxis": yref, "showlegend": False,
            "marker": {"color": np.where(small, SMALL_N_COLOUR, PALETTE[i % len(PALETTE)]).tolist()},
            "error_y": {"type": "data", "symmetric": False, "array": up, "arrayminus": down, "color": "#1d2433",
                        "thickness": 1.4},
            "text": np.where(small, "small n", "").tolist(), "textposition": "inside",
            "customdata": [[None if np.isnan(a) else int(a), " (reference)" if g == reference.get(attr) else "",
                            "<br><b>small n — not flagged</b>" if s else ""] for g, a, s in zip(names, n, small)],
            "hovertemplate": "%{x}%{customdata[1]}<br>accuracy %{y:.1%}<br>n = %{customdata[0]:,}"
                             "%{customdata[2]}<extra></extra>",
        })
    return _figure(data, layout, height=360)


RATE_TITLES = {"tpr": "TPR", "fpr": "FPR", "selection_rate": "share predicted"}


def class_rates(groups: Mapping[str, Any], classes: Sequence[str], *, min_group_size: int,
                metrics: Sequence[str] = ("tpr", "fpr")):
    """Rates per emotion (TPR and FPR by default), one bar per group with CI whiskers; buttons switch rates."""
    names = [g for g, block in groups.items() if isinstance(block, Mapping)]
    metrics = [m for m in metrics if any(isinstance(groups[g].get(m), Mapping) for g in names)]
    if not names or not classes or not metrics:
        return None
    data = []
    for m_i, metric in enumerate(metrics):
        for g_i, g in enumerate(names):
            per_class = groups[g].get(metric) if isinstance(groups[g].get(metric), Mapping) else {}
            v, up, down = _ci_arrays([per_class.get(c) for c in classes])
            small = _num(groups[g].get("n")) < min_group_size
            data.append({
                "type": "bar", "x": [ptext(c) for c in classes], "y": v,
                "name": short(g, 30) + (" (small n)" if small else ""), "legendgroup": ptext(g),
                "visible": m_i == 0, "opacity": 0.45 if small else 1.0, "marker": {"color": PALETTE[g_i % len(PALETTE)]},
                "error_y": {"type": "data", "symmetric": False, "array": up, "arrayminus": down, "thickness": 1.2,
                            "width": 3},
                "hovertemplate": f"{ptext(g)}<br>%{{x}}: {RATE_TITLES.get(metric, metric)} %{{y:.1%}}<extra></extra>",
            })
    n_g = len(names)
    titles = [RATE_TITLES.get(m, m) for m in metrics]
    buttons = [{"label": t, "method": "update",
                "args": [{"visible": [i // n_g == m_i for i in range(len(data))]}, {"yaxis.title.text": t}]}
               for m_i, t in enumerate(titles)]
    layout = {"barmode": "group", "xaxis": categories(classes),
              "yaxis": {"tickformat": ".0%", "rangemode": "tozero", "title": {"text": titles[0]}},
              "legend": {"orientation": "h", "y": -0.25},
              "updatemenus": [{"buttons": buttons, "direction": "right", "type": "buttons", "x": 0, "y": 1.18,
                               "xanchor": "left", "showactive": True}] if len(metrics) > 1 else []}
    return _figure(data, layout, height=420)


def confusion_grid(panels: Sequence[tuple[str, Any]], classes: Sequence[str]):
    """Row-normalised confusion matrices side by side (rows true, columns predicted)."""
    k = len(classes)
    panels = [(t, np.asarray(m, dtype=float)) for t, m in panels
              if m is not None and np.asarray(m).shape == (k, k)]
    if not panels or not k:
        return None
    layout, refs = _panels(len(panels), [short(t, 30) for t, _ in panels], gap=0.04,
                           x={**categories(classes), "tickangle": -45},
                           y={**categories(classes), "autorange": "reversed"})
    layout["yaxis"]["title"] = {"text": "true"}
    labels = [ptext(c) for c in classes]
    data = []
    for col, ((_, counts), (xref, yref)) in enumerate(zip(panels, refs)):
        totals = counts.sum(axis=1, keepdims=True)
        share = np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)
        data.append({
            "type": "heatmap", "z": share, "x": labels, "y": labels, "xaxis": xref, "yaxis": yref, "zmin": 0,
            "zmax": 1, "colorscale": BLUES, "showscale": col == len(panels) - 1, "customdata": counts,
            "xgap": 1, "ygap": 1, "colorbar": {"tickformat": ".0%", "len": 0.9},
            "hovertemplate": "true %{y}<br>predicted %{x}<br>%{z:.1%} of row (%{customdata:,} images)<extra></extra>",
        })
    return _figure(data, layout, height=300 + 14 * k if len(panels) > 1 else 340 + 18 * k)


def flip_heatmap(values: Sequence[str], pairs: Mapping[str, Any]):
    """Flip rate for every pair of attribute values (symmetric; blank diagonal)."""
    index = {v: i for i, v in enumerate(values)}
    z = np.full((len(values), len(values)), np.nan)
    text = np.full(z.shape, "", dtype=object)
    for key, stat in pairs.items():
        a, _, b = str(key).partition("|")
        if a in index and b in index and isinstance(stat, Mapping):
            value = _num(stat.get("value"))
            z[index[a], index[b]] = z[index[b], index[a]] = value
            text[index[a], index[b]] = text[index[b], index[a]] = "" if np.isnan(value) else f"{value:.1%}"
    if np.isnan(z).all():
        return None
    labels = [ptext(v) for v in values]
    data = [{"type": "heatmap", "z": z, "x": labels, "y": labels, "colorscale": ORANGES, "zmin": 0,
             "zmax": max(0.05, float(np.nanmax(z))), "text": text, "texttemplate": "%{text}", "xgap": 2, "ygap": 2,
             "colorbar": {"tickformat": ".0%"}, "hovertemplate": "%{y} ↔ %{x}<br>flip rate %{z:.1%}<extra></extra>"}]
    layout = {"xaxis": categories(values), "yaxis": {**categories(values), "autorange": "reversed"},
              "width": min(900, 320 + 150 * len(values))}
    return _figure(data, layout, height=150 + 60 * len(values))


def shift_heatmaps(values: Sequence[str], classes: Sequence[str], shifts: Sequence[Mapping[str, Any]],
                   *, q_max: float):
    """Mean similarity shift per (true class × label), one panel per non-reference value; ★ = significant."""
    if not values or not classes or not shifts:
        return None
    vi = {v: i for i, v in enumerate(values)}
    ci = {c: i for i, c in enumerate(classes)}
    z = np.full((len(values), len(classes), len(classes)), np.nan)
    hover = np.full(z.shape, "", dtype=object)
    mark = np.full(z.shape, "", dtype=object)
    for row in shifts:
        v, t, lab = row.get("value"), row.get("true_class"), row.get("label")
        if v not in vi or t not in ci or lab not in ci:
            continue
        idx = (vi[v], ci[t], ci[lab])
        z[idx] = _num(row.get("mean_shift"))
        q = _num(row.get("q_value"))
        mark[idx] = "★" if q < q_max and row.get("flaggable", True) is not False else ""
        hover[idx] = (f"CI [{_num(row.get('ci_low')):+.3f}, {_num(row.get('ci_high')):+.3f}]"
                      f"<br>q = {q:.2g}, n = {ptext(row.get('n'))}")
    if np.isnan(z).all():
        return None
    lim = float(np.nanmax(np.abs(z))) or 1.0
    layout, refs = _panels(len(values), [short(v, 30) for v in values], gap=0.04,
                           x={**categories(classes), "tickangle": -45, "title": {"text": "toward label"}},
                           y={**categories(classes), "autorange": "reversed"})
    layout["yaxis"]["title"] = {"text": "true class"}
    labels = [ptext(c) for c in classes]
    data = [{"type": "heatmap", "z": z[i], "x": labels, "y": labels, "xaxis": xref, "yaxis": yref, "zmid": 0,
             "zmin": -lim, "zmax": lim, "colorscale": DIVERGING,
             "showscale": i == len(values) - 1, "text": mark[i], "texttemplate": "%{text}",
             "customdata": hover[i], "xgap": 1, "ygap": 1, "colorbar": {"title": {"text": "shift"}},
             "hovertemplate": "true %{y} → label %{x}<br>shift %{z:+.3f}<br>%{customdata}<extra></extra>"}
            for i, (xref, yref) in enumerate(refs)]
    return _figure(data, layout, height=340 + 18 * len(classes))


def embedding_map(points: Mapping[str, Sequence[Any]], cluster_names: Mapping[Any, str],
                  attributes: Sequence[str]):
    """UMAP scatter; a menu recolours it by cluster, by each attribute, or by error."""
    x, y = np.asarray(points.get("x", []), dtype=float), np.asarray(points.get("y", []), dtype=float)
    n = len(x)
    if n == 0 or len(y) != n:
        return None

    def column(key, default=""):
        values = points.get(key)
        return list(values) if values is not None and len(values) == n else [default] * n

    cluster = np.asarray([str(c) for c in column("cluster", "-1")], dtype=object)
    names = {str(k): v for k, v in cluster_names.items()}
    cluster_label = np.asarray([names.get(c, "noise" if c == "-1" else f"cluster {c}") for c in cluster], dtype=object)
    error = np.asarray([bool(e) for e in column("error", False)])
    error_label = np.where(error, "misclassified", "correct").astype(object)
    hover_cols = [("item", _ptext_array(column("item")))]
    hover_cols += [(key, _ptext_array(column(key))) for key in ("label", "prediction") if points.get(key) is not None]
    hover_cols += [("cluster", _ptext_array(cluster_label)), ("error", error_label)]
    colourings: list[tuple[str, np.ndarray]] = [("cluster", cluster_label)]
    for attr in attributes:
        if points.get(attr) is not None and len(points[attr]) == n:
            col = np.asarray([str(v) for v in points[attr]], dtype=object)
            colourings.append((attr, col))
            hover_cols.append((attr, _ptext_array(col)))
    colourings.append(("error", error_label))
    custom = np.stack([c for _, c in hover_cols], axis=1)
    template = "<br>".join(f"{ptext(k)}: %{{customdata[{i}]}}" for i, (k, _) in enumerate(hover_cols))

    data, spans = [], []
    for c_i, (name, values) in enumerate(colourings):
        start = len(data)
        for k_i, cat in enumerate(sorted(set(values.tolist()), key=lambda c: (c == "noise", c))):
            mask = values == cat
            colour = ("#c0392b" if cat == "misclassified" else "#9aa4b2") if name == "error" else (
                "#c7ccd4" if name == "cluster" and cat == "noise" else PALETTE[k_i % len(PALETTE)])
            data.append({"type": "scatter", "mode": "markers", "x": x[mask], "y": y[mask], "name": short(cat, 40),
                         "visible": c_i == 0, "customdata": custom[mask], "hovertemplate": template + "<extra></extra>",
                         "marker": {"size": 6, "color": colour, "opacity": 0.8, "line": {"width": 0}}})
        spans.append((name, start, len(data)))
    buttons = [{"label": f"colour by {short(name, 30)}", "method": "update",
                "args": [{"visible": [start <= i < stop for i in range(len(data))]}]} for name, start, stop in spans]
    layout = {"updatemenus": [{"buttons": buttons, "direction": "down", "x": 0, "y": 1.12, "xanchor": "left",
                               "showactive": True}],
              "xaxis": {"showticklabels": False, "title": {"text": "UMAP 1"}, "zeroline": False},
              "yaxis": {"showticklabels": False, "title": {"text": "UMAP 2"}, "zeroline": False},
              "legend": {"itemsizing": "constant"}}
    return _figure(data, layout, height=560)


def composition_bars(representation: Mapping[str, Any]):
    """Item counts per attribute value, one panel per attribute."""
    attrs = [a for a, block in representation.items() if isinstance(block, Mapping)
             and isinstance(block.get("counts"), Mapping) and block["counts"]]
    if not attrs:
        return None
    layout, refs = _panels(len(attrs), [short(a, 30) for a in attrs], gap=0.06, shared_y=False)
    layout["yaxis"]["title"] = {"text": "images"}
    data = []
    for i, (attr, (xref, yref)) in enumerate(zip(attrs, refs)):
        counts = representation[attr]["counts"]
        layout["xaxis" + xref[1:]].update(categories(list(counts)))
        data.append({"type": "bar", "x": [ptext(v) for v in counts], "y": [_num(c) for c in counts.values()],
                     "xaxis": xref, "yaxis": yref, "showlegend": False, "marker": {"color": PALETTE[i % len(PALETTE)]},
                     "hovertemplate": "%{x}: %{y:,} images<extra></extra>"})
    return _figure(data, layout, height=320)
