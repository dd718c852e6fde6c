"""Charts of group metrics, confusion matrices and dataset composition, built from results data only.

Every user string goes through :func:`ptext` (plotly renders a subset of HTML in labels). Rates are dots with
95 % CI whiskers on an axis zoomed to the data, with the reference marked, because bars on a 0–100 % axis hide
gaps between groups that all sit at 96–100 %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._charts import (BLUES, PALETTE, Chart, categories, figure, num, percent_axis, ptext, short)
from ._format import count, pct
from ._html import table

SMALL_N_COLOUR = "#9aa4b2"
RATE_TITLES = {"tpr": "TPR (true-positive rate)", "fpr": "FPR (false-positive rate)",
               "selection_rate": "share predicted"}


def _ci(stat: Any) -> tuple[float, float, float]:
    if not isinstance(stat, Mapping):
        return np.nan, np.nan, np.nan
    return num(stat.get("value")), num(stat.get("ci_low")), num(stat.get("ci_high"))


def _whiskers(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict:
    return {"type": "data", "symmetric": False, "array": np.where(np.isnan(hi), 0, hi - v),
            "arrayminus": np.where(np.isnan(lo), 0, v - lo), "thickness": 1.4, "width": 4, "color": "#1d2433"}


def _extent(*arrays: np.ndarray) -> tuple[float, float] | None:
    values = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.array([])
    values = values[~np.isnan(values)]
    return (float(values.min()), float(values.max())) if values.size else None


def _ci_text(stat: Any) -> str:
    v, lo, hi = _ci(stat)
    if np.isnan(v):
        return "—"
    return pct(v) if np.isnan(lo) or np.isnan(hi) else f"{pct(v)} [{pct(lo)}, {pct(hi)}]"


def group_accuracy(attr: str, groups: Mapping[str, Any], *, overall: Any, reference: Any,
                   min_group_size: int) -> Chart | None:
    """Accuracy per group of one attribute: dots with CI whiskers, overall accuracy as a dashed line."""
    names = [g for g, b in groups.items() if isinstance(b, Mapping)]
    stats = [groups[g].get("accuracy") for g in names]
    v, lo, hi = (np.array(a) for a in zip(*[_ci(s) for s in stats])) if names else (np.array([]),) * 3
    if not names or np.isnan(v).all():
        return None
    n = np.array([num(groups[g].get("n")) for g in names])
    small = n < min_group_size
    ref_value = _ci(overall)[0]
    extent = _extent(v, lo, hi, np.array([ref_value]))
    ticks = [f"{g} (ref.)" if g == reference else g for g in names]
    layout = {"xaxis": {**categories(names, ticks), "title": {"text": ptext(attr)}},
              "yaxis": {**percent_axis(*extent), "title": {"text": "accuracy"}}, "showlegend": False}
    if not np.isnan(ref_value):
        layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": ref_value, "y1": ref_value,
                             "line": {"dash": "dash", "color": "#5b6474", "width": 1.2}}]
        layout["annotations"] = [{"xref": "paper", "x": 1, "y": ref_value, "xanchor": "right", "yanchor": "bottom",
                                  "text": f"all images {pct(ref_value)}", "showarrow": False,
                                  "font": {"size": 11, "color": "#5b6474"}}]
    data = [{"type": "scatter", "mode": "markers", "x": [ptext(g) for g in names], "y": v,
             "error_y": _whiskers(v, lo, hi),
             "marker": {"size": 11, "color": np.where(small, SMALL_N_COLOUR, PALETTE[0]).tolist(),
                        "symbol": ["circle-open" if s else "circle" for s in small], "line": {"width": 2}},
             "customdata": [[count(a), " — small n, not flagged" if s else ""] for a, s in zip(n, small)],
             "hovertemplate": "%{x}<br>accuracy %{y:.1%}<br>n = %{customdata[0]}%{customdata[1]}<extra></extra>"}]
    lowest = names[int(np.nanargmin(v))]
    summary = (f"Accuracy by {attr}: " + "; ".join(f"{g} {_ci_text(s)}" for g, s in zip(names, stats))
               + (f"; all images {pct(ref_value)}" if not np.isnan(ref_value) else "")
               + f". Lowest: {lowest}. The axis is zoomed to {pct(layout['yaxis']['range'][0])}–"
                 f"{pct(min(1.0, layout['yaxis']['range'][1]))}.")
    rows = [[g + (" (reference)" if g == reference else ""), count(a), pct(s_v), pct(s_lo), pct(s_hi)]
            for g, a, s_v, s_lo, s_hi in zip(names, n, v, lo, hi)]
    return Chart(figure(data, layout, height=300), summary,
                 table(["group", "n", "accuracy", "CI low", "CI high"], rows, numeric=(1, 2, 3, 4)))


def class_rates(attr: str, groups: Mapping[str, Any], classes: Sequence[str], metric: str, *, reference: Any,
                min_group_size: int) -> Chart | None:
    """One rate (TPR, FPR or share predicted) per emotion and group: grouped dots with CI whiskers."""
    names = [g for g, b in groups.items() if isinstance(b, Mapping) and isinstance(b.get(metric), Mapping)]
    if not names or not classes:
        return None
    title = RATE_TITLES.get(metric, metric)
    data, all_values, rows = [], [], []
    for g_i, g in enumerate(names):
        per_class = groups[g][metric]
        v, lo, hi = (np.array(a) for a in zip(*[_ci(per_class.get(c)) for c in classes]))
        all_values += [v, lo, hi]
        small = num(groups[g].get("n")) < min_group_size
        is_ref = g == reference
        label = short(g, 30) + (" (reference)" if is_ref else "") + (" (small n)" if small else "")
        data.append({"type": "scatter", "mode": "markers", "x": [ptext(c) for c in classes], "y": v, "name": label,
                     "error_y": {**_whiskers(v, lo, hi), "color": PALETTE[g_i % len(PALETTE)]},
                     "marker": {"size": 9, "color": PALETTE[g_i % len(PALETTE)],
                                "symbol": "diamond-open" if is_ref or small else "circle", "line": {"width": 2}},
                     "hovertemplate": f"{ptext(g)}<br>%{{x}}: {title} %{{y:.1%}}<extra></extra>"})
        rows += [[g, c, pct(a), pct(b), pct(d)] for c, a, b, d in zip(classes, v, lo, hi)]
    extent = _extent(*all_values)
    if extent is None:
        return None
    layout = {"scattermode": "group", "scattergap": 0.5,
              "xaxis": {**categories(classes), "title": {"text": "emotion"}},
              "yaxis": {**percent_axis(*extent), "title": {"text": title.split(" (")[0]}},
              "legend": {"orientation": "h", "y": -0.32, "x": 0}}
    spread = {c: (min(r_v), max(r_v)) for c, r_v in
              ((c, [num(groups[g][metric].get(c, {}).get("value")) if isinstance(groups[g][metric].get(c), Mapping)
                    else np.nan for g in names]) for c in classes)}
    widest = max(classes, key=lambda c: (np.nan_to_num(spread[c][1] - spread[c][0], nan=-1.0)))
    summary = (f"{title} by {attr} for each emotion, with 95 % CIs. Widest gap between groups at {widest}: "
               f"{pct(spread[widest][0])} to {pct(spread[widest][1])}. Axis zoomed to "
               f"{pct(layout['yaxis']['range'][0])}–{pct(min(1.0, layout['yaxis']['range'][1]))}.")
    return Chart(figure(data, layout, height=340), summary,
                 table(["group", "emotion", title.split(" (")[0], "CI low", "CI high"], rows, numeric=(2, 3, 4)))


def confusion(title: str, matrix: Any, classes: Sequence[str]) -> Chart | None:
    """A confusion matrix: counts in the cells, colour by share of the row (rows true, columns predicted)."""
    k = len(classes)
    counts = np.asarray(matrix, dtype=float) if matrix is not None else np.zeros((0, 0))
    if not k or counts.shape != (k, k):
        return None
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)
    labels = [ptext(c) for c in classes]
    text = [[f"{int(c):,}" for c in row] for row in counts]
    data = [{"type": "heatmap", "z": share, "x": labels, "y": labels, "zmin": 0, "zmax": 1, "colorscale": BLUES,
             "text": text, "texttemplate": "%{text}", "textfont": {"size": 11}, "customdata": counts,
             "xgap": 1, "ygap": 1, "colorbar": {"tickformat": ".0%", "title": {"text": "of row"}, "thickness": 10},
             "hovertemplate": "true %{y}<br>predicted %{x}<br>%{z:.1%} of row (%{customdata:,} images)<extra></extra>"}]
    layout = {"xaxis": {**categories(classes), "tickangle": -45, "title": {"text": "predicted"}},
              "yaxis": {**categories(classes), "autorange": "reversed", "title": {"text": "true"}}}
    diag = np.diag(counts)
    off = counts - np.diag(diag)
    worst = np.unravel_index(int(np.argmax(off)), off.shape) if off.size and off.max() > 0 else None
    summary = (f"Confusion matrix, {title}: {int(diag.sum()):,} of {int(counts.sum()):,} images on the diagonal"
               + (f"; most common error: true {classes[worst[0]]} predicted {classes[worst[1]]} "
                  f"({int(off[worst]):,} images)." if worst is not None else "; no errors."))
    rows = [[f"true {c}", *(f"{int(x):,}" for x in counts[i])] for i, c in enumerate(classes)]
    return Chart(figure(data, layout, height=330 + 8 * k), summary,
                 table(["", *(f"→ {c}" for c in classes)], rows, numeric=tuple(range(1, k + 1))))


def composition(attr: str, block: Mapping[str, Any]) -> Chart | None:
    """Item counts per value of one attribute."""
    counts = block.get("counts") if isinstance(block.get("counts"), Mapping) else {}
    if not counts:
        return None
    names = list(counts)
    values = [num(counts[v]) for v in names]
    data = [{"type": "bar", "x": [ptext(v) for v in names], "y": values, "marker": {"color": PALETTE[0]},
             "text": [count(v) for v in values], "textposition": "outside", "cliponaxis": False,
             "hovertemplate": "%{x}: %{y:,} images<extra></extra>"}]
    layout = {"xaxis": {**categories(names), "title": {"text": ptext(attr)}},
              "yaxis": {"title": {"text": "images"}, "rangemode": "tozero", "tickformat": ",d"}, "showlegend": False}
    summary = f"Images per {attr}: " + ", ".join(f"{v} {count(c)}" for v, c in zip(names, values)) + "."
    rows = [[v, count(c)] for v, c in zip(names, values)]
    return Chart(figure(data, layout, height=260), summary, table(["group", "images"], rows, numeric=(1,)))

