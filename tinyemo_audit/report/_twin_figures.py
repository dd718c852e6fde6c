"""Counterfactual-twin charts: flip rate per pair of values and the change of P(label) per true class.

One colour scale per chart family: every flip-rate matrix shares one range and every shift heatmap one
symmetric range, so a small effect never looks as alarming as a large one. Cells carry their numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._charts import DIVERGING, ORANGES, Chart, categories, figure, num, ptext
from ._format import count, pct, points, shift
from ._html import Safe, table
from ._rules import Rules

ALL_CLASSES = "*"  # a shift row pooled over every true class


def flip_range(blocks: Sequence[Mapping[str, Any]]) -> float:
    """The upper end of the flip-rate colour scale shared by every attribute."""
    values = [num(s.get("value")) for b in blocks for s in (b.get("pairs") or {}).values() if isinstance(s, Mapping)]
    values = [v for v in values if not np.isnan(v)]
    return max([0.05, *values])


def flip_matrix(attr: str, values: Sequence[str], pairs: Mapping[str, Any], *, zmax: float) -> Chart | None:
    """Flip rate for every pair of attribute values (symmetric; blank diagonal)."""
    index = {v: i for i, v in enumerate(values)}
    z = np.full((len(values), len(values)), np.nan)
    text = np.full(z.shape, "", dtype=object)
    rows = []
    for key, stat in pairs.items():
        a, _, b = str(key).partition("|")
        if a in index and b in index and isinstance(stat, Mapping):
            value = num(stat.get("value"))
            z[index[a], index[b]] = z[index[b], index[a]] = value
            text[index[a], index[b]] = text[index[b], index[a]] = "" if np.isnan(value) else f"{value:.1%}"
            rows.append([f"{a} ↔ {b}", pct(value), pct(stat.get("ci_low")), pct(stat.get("ci_high")),
                         count(stat.get("n"))])
    if np.isnan(z).all():
        return None
    labels = [ptext(v) for v in values]
    data = [{"type": "heatmap", "z": z, "x": labels, "y": labels, "colorscale": ORANGES, "zmin": 0, "zmax": zmax,
             "text": text, "texttemplate": "%{text}", "xgap": 2, "ygap": 2,
             "colorbar": {"tickformat": ".0%", "title": {"text": "flip rate"}, "thickness": 10},
             "hovertemplate": "%{y} ↔ %{x}<br>flip rate %{z:.1%}<extra></extra>"}]
    layout = {"xaxis": {**categories(values), "title": {"text": f"{ptext(attr)} of one twin"}},
              "yaxis": {**categories(values), "autorange": "reversed", "title": {"text": f"{ptext(attr)} of the other"}}}
    top = max(((k, num(s.get("value"))) for k, s in pairs.items() if isinstance(s, Mapping)),
              key=lambda kv: -np.inf if np.isnan(kv[1]) else kv[1])
    summary = (f"Flip rate between twins that differ only in {attr}: share of pairs whose predicted emotion "
               f"changes. Highest: {top[0].replace('|', ' ↔ ')} {pct(top[1])}. Colour scale 0–{pct(zmax)}, "
               f"shared by every attribute.")
    return Chart(figure(data, layout, height=170 + 55 * len(values)), summary,
                 table(["pair", "flip rate", "CI low", "CI high", "twin pairs"], rows, numeric=(1, 2, 3, 4)))


def effect_of(row: Mapping[str, Any]) -> float:
    """The change a shift row reports: P(label) when the audit recorded it, else the similarity shift."""
    p = num(row.get("prob_shift"))
    return p if not np.isnan(p) else num(row.get("mean_shift"))


def magnitude(row: Mapping[str, Any]) -> float:
    """``|effect_of(row)|`` for ranking (-1 when the row has no number)."""
    effect = effect_of(row)
    return -1.0 if np.isnan(effect) else abs(effect)


def shift_range(blocks: Sequence[Mapping[str, Any]]) -> float:
    """The symmetric colour range shared by every shift heatmap (largest |change| of any attribute)."""
    values = [abs(effect_of(r)) for b in blocks for r in b.get("shifts") or [] if isinstance(r, Mapping)]
    values = [v for v in values if not np.isnan(v)]
    return max([1e-3, *values])


def shift_heatmap(attr: str, value: str, reference: Any, classes: Sequence[str],
                  rows: Sequence[Mapping[str, Any]], *, rules: Rules, zmax: float, data_table: Safe) -> Chart | None:
    """Change of P(label) (points) from ``reference`` to ``value``, true class × label; ★ = significant and over
    the minimum effect. ``data_table`` is the full table of these rows (the section builds it once)."""
    has_prob = any(not np.isnan(num(r.get("prob_shift"))) for r in rows)
    true_classes = ([ALL_CLASSES] if any(r.get("true_class") == ALL_CLASSES for r in rows) else []) + list(classes)
    ti = {c: i for i, c in enumerate(true_classes)}
    li = {c: i for i, c in enumerate(classes)}
    z = np.full((len(true_classes), len(classes)), np.nan)
    text = np.full(z.shape, "", dtype=object)
    hover = np.full(z.shape, "", dtype=object)
    for row in rows:
        t, lab = row.get("true_class"), row.get("label")
        if t not in ti or lab not in li:
            continue
        effect = effect_of(row)
        if np.isnan(effect):
            continue
        i, j = ti[t], li[lab]
        z[i, j] = effect
        star = "★" if rules.significant(row) and rules.over_bar("counterfactual", effect) else ""
        shown = round(100 * effect, 1) + 0.0 if has_prob else round(effect, 3) + 0.0
        text[i, j] = ("0" if shown == 0 else f"{shown:+.1f}" if has_prob else f"{shown:+.3f}") + star
        hover[i, j] = f"q = {num(row.get('q_value')):.2g}, n = {count(row.get('n'))}"
    if np.isnan(z).all():
        return None
    scale = 100 if has_prob else 1
    ticks = ["all classes" if c == ALL_CLASSES else c for c in true_classes]
    unit = "P(label), points" if has_prob else "similarity shift"
    data = [{"type": "heatmap", "z": z * scale, "x": [ptext(c) for c in classes],
             "y": [ptext(c) for c in ticks], "zmid": 0, "zmin": -zmax * scale, "zmax": zmax * scale,
             "colorscale": DIVERGING, "text": text, "texttemplate": "%{text}", "textfont": {"size": 10},
             "customdata": hover, "xgap": 1, "ygap": 1,
             "colorbar": {"title": {"text": "points" if has_prob else "shift"}, "thickness": 10},
             "hovertemplate": "true %{y} → label %{x}<br>change %{z:+.1f}<br>%{customdata}<extra></extra>"}]
    layout = {"xaxis": {**categories(classes), "tickangle": -45, "title": {"text": f"toward label ({unit})"}},
              "yaxis": {**categories(ticks), "autorange": "reversed", "title": {"text": "true class"}}}
    flat = [(abs(z[i, j]), true_classes[i], classes[j], z[i, j]) for i in range(z.shape[0]) for j in range(z.shape[1])
            if not np.isnan(z[i, j])]
    _, t_top, l_top, v_top = max(flat)
    summary = (f"Change from {reference} to {value} ({attr}) for each true class and label, "
               f"{'in probability points' if has_prob else 'as cosine similarity shift'}. Largest: true "
               f"{'all classes' if t_top == ALL_CLASSES else t_top} toward {l_top} "
               f"{points(v_top) if has_prob else shift(v_top)}. ★ marks cells that are significant and over the "
               f"minimum effect. One colour scale for every twin heatmap (±{points(zmax) if has_prob else shift(zmax)}).")
    return Chart(figure(data, layout, height=300 + 24 * len(true_classes)), summary, data_table)
