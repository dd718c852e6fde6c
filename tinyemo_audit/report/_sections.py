"""Report sections on group metrics, confusion matrices, counterfactual twins and the embedding map.

Each section reads the results and returns HTML, or None; :class:`Context` carries what they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _figures as figures
from . import _twin_figures as twin_figures
from ._charts import Chart, render
from ._format import DASH, count, dec, pct, points, pp, shift, with_ci
from ._html import Safe, esc, join, table, tag
from ._map import embedding_chart
from ._rules import Rules

# Probe names in run.skipped that explain why a section is empty (matched case-insensitively).
SKIP_ALIASES = {
    "performance": ("performance", "group", "accuracy"),
    "confusion": ("confusion", "performance"),
    "counterfactual": ("counterfactual", "twin", "image_probe"),
    "clusters": ("cluster", "discovery", "umap", "embedding"),
    "probes": ("text", "association", "weat", "ieat", "skew", "retrieval"),
    "dataset": ("dataset", "representation", "stereotype"),
    "findings": ("finding",),
    "gates": ("gate",),
}
MAX_TABLE_ROWS = 12


@dataclass
class Context:
    """What every section needs besides its own slice of the results."""

    results: Mapping[str, Any]
    thumbnails: Mapping[str, str]
    rules: Rules
    charts: list[str] = field(default_factory=list)

    @property
    def run(self) -> Mapping[str, Any]:
        return as_dict(self.results.get("run"))

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.run.get("classes") or []]

    def next_chart_id(self) -> str:
        """The id the next chart will get (deterministic: equal results give an identical file)."""
        return f"chart-{len(self.charts) + 1}"

    def chart(self, chart: Chart | None) -> Safe:
        """Render a chart (or nothing) and count it, so the page knows to embed plotly.js."""
        if chart is None:
            return Safe("")
        chart_id = self.next_chart_id()
        self.charts.append(chart_id)
        return render(chart, chart_id)

    def grid(self, charts: list[Chart | None]) -> Safe:
        """Several small charts side by side that wrap to one column on a phone."""
        html = [self.chart(c) for c in charts if c is not None]
        single = " single" if len(html) == 1 else ""
        return Safe(f'<div class="chart-grid{single}">{join(html)}</div>') if html else Safe("")

    @property
    def skipped_entries(self) -> list[Mapping[str, Any]]:
        return [s for s in self.run.get("skipped") or [] if isinstance(s, Mapping)]

    def skipped_reason(self, section: str) -> str | None:
        # Aliases in order of preference: a "confusion" entry explains the confusion section better
        # than the broader "performance" one.
        for alias in SKIP_ALIASES.get(section, (section,)):
            for entry in self.skipped_entries:
                if alias in str(entry.get("probe", "")).lower():
                    return str(entry.get("reason") or "no reason given")
        return None


def as_dict(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (results sections may be null or malformed)."""
    return value if isinstance(value, Mapping) else {}


def section(anchor: str, title: str, lead: Any, body: Any) -> Safe:
    """A top-level report section with its h2."""
    lead_html = tag("p", lead, class_="lead") if lead else ""
    return Safe(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{lead_html}{esc(body)}</section>')


def not_run(ctx: Context, name: str, anchor: str, title: str) -> Safe | None:
    """A section that only says why it was not run, when ``run.skipped`` says so."""
    reason = ctx.skipped_reason(name)
    if reason is None:
        return None
    return section(anchor, title, None, tag("p", f"not run: {reason}", class_="notrun"))


def small_n(n: Any, ctx: Context) -> Safe:
    """A marker for a table's n column when a group is below the minimum size (never inside a finding)."""
    if isinstance(n, (int, float)) and not isinstance(n, bool) and n < ctx.rules.min_group_size:
        return Safe(f'<span class="small-n">n &lt; {esc(ctx.rules.min_group_size)}: not flagged</span>')
    return Safe("")


def skipped(ctx: Context) -> Safe | None:
    """What the audit could not compute on this dataset, and why: shown open, right after the verdict."""
    entries = ctx.skipped_entries
    if not entries:
        return None
    rows = [[tag("b", s.get("probe") or "?"), s.get("reason") or "no reason given",
             join((tag("code", m) for m in s.get("metrics") or []), ", ") or DASH] for s in entries]
    lead = ("These metrics were not computed on this dataset, so they are neither passed nor failed: "
            "read the rest of the report without them. Gates on them show as SKIP.")
    if ctx.run.get("labelled") is False:
        lead = ("This dataset has no labels: every metric that compares a prediction with the true emotion is "
                "skipped. The label-free probes (prediction rates per group, text probes, associations, "
                "retrieval skew, discovery) ran as usual. " + lead)
    return section("skipped", "Skipped on this dataset", lead,
                   table(["skipped", "why", "results.json keys left out"], rows))


# group metrics ----------------------------------------------------------------------------------------------------

def _disparity_rows(block: Mapping[str, Any], ctx: Context) -> list[list[Any]]:
    rules = ctx.rules
    rows = []
    for key, label, fmt in (("accuracy_difference", "accuracy difference", pp),
                            ("accuracy_ratio", "accuracy ratio", lambda x: dec(x, 2))):
        s = block.get(key)
        if isinstance(s, Mapping):
            effect = s.get("value") if key == "accuracy_difference" else None
            rows.append([label, f"{s.get('worst_group', DASH)} vs {s.get('best_group', DASH)}", with_ci(s, fmt),
                         rules.q_cell(s, "disparity", effect)])
    eo = block.get("equalized_odds_difference")
    if isinstance(eo, Mapping):
        rows.append(["equalized-odds difference", f"largest at {eo.get('cls', DASH)}", esc(pp(eo.get("value"))),
                     rules.q_cell(eo, "disparity", eo.get("value"))])
    for key, label in (("tpr_difference", "TPR difference"), ("fpr_difference", "FPR difference"),
                       ("selection_rate_difference", "selection-rate difference")):
        per_class = {c: s for c, s in as_dict(block.get(key)).items() if isinstance(s, Mapping)}
        if not per_class:
            continue
        # The largest gap is the one a reader needs; all of them are in results.json.
        cls, s = max(per_class.items(), key=lambda kv: abs(kv[1].get("value") or 0))
        rows.append([f"{label} (largest: {cls})", f"{s.get('worst_group', DASH)} vs {s.get('best_group', DASH)}",
                     with_ci(s, pp), rules.q_cell(s, "disparity", s.get("value"))])
    return rows


def _group_table(groups: Mapping[str, Any], ctx: Context, reference: Any) -> Safe:
    rows = []
    for g, gb in groups.items():
        gb = as_dict(gb)
        ref = Safe(' <span class="ref">(reference)</span>') if reference == g else ""
        rows.append([join([g, ref]), Safe(f"{esc(count(gb.get('n')))}{small_n(gb.get('n'), ctx)}"),
                     with_ci(gb.get("accuracy"))])
    return table(["group", "n", "accuracy [95 % CI]"], rows, numeric=(1, 2))


def group_metrics(ctx: Context) -> Safe | None:
    """Per-group metrics: accuracy, TPR and FPR charts per attribute, groups and gaps."""
    perf = as_dict(ctx.results.get("performance"))
    by_attr = as_dict(perf.get("by_attribute"))
    if not by_attr:
        return not_run(ctx, "performance", "groups", "Per-group metrics")
    labelled = ctx.run.get("labelled") is not False
    reference = as_dict(ctx.run.get("reference_groups"))
    overall = as_dict(as_dict(perf.get("overall")).get("accuracy"))
    disparities = as_dict(ctx.results.get("disparities"))
    caption = f"Gaps between groups (worst vs best). {ctx.rules.legend()}"
    parts = []
    for attr, block in by_attr.items():
        groups = as_dict(as_dict(block).get("groups"))
        if not groups:
            continue
        parts.append(tag("h3", attr))
        ref = reference.get(attr)
        charts = [figures.group_accuracy(attr, groups, overall=overall, reference=ref,
                                         min_group_size=ctx.rules.min_group_size)] if labelled else []
        charts += [figures.class_rates(attr, groups, ctx.classes, m, reference=ref,
                                       min_group_size=ctx.rules.min_group_size)
                   for m in (("tpr", "fpr") if labelled else ("selection_rate",))]
        parts.append(ctx.grid(charts))
        if labelled:
            parts.append(_group_table(groups, ctx, ref))
        d_rows = _disparity_rows(as_dict(disparities.get(attr)), ctx)
        if d_rows:
            parts.append(table(["disparity", "groups", "value [95 % CI]", "q-value"], d_rows, numeric=(2, 3),
                               caption=caption))
    if labelled:
        lead = ("Accuracy per group with 95 % confidence whiskers on an axis zoomed to the data (the dashed line is "
                "accuracy over all images), then true- and false-positive rates per emotion. Open circles and "
                "diamonds: the reference group and groups too small to flag.")
        return section("groups", "Per-group metrics", lead, join(parts))
    lead = ("No labels, so no accuracy: these are the prediction distributions per group, i.e. how often each "
            "group is given each emotion, with 95 % confidence intervals and a permutation test of the largest "
            "gap.")
    return section("groups", "Per-group prediction rates", lead, join(parts))


# confusion matrices -----------------------------------------------------------------------------------------------

def confusion(ctx: Context) -> Safe | None:
    """Confusion matrices: all images, then one per group, in a grid that wraps."""
    perf = as_dict(ctx.results.get("performance"))
    parts = []
    overall = as_dict(perf.get("overall")).get("confusion")
    if overall is not None:
        parts.append(ctx.grid([figures.confusion("all images", overall, ctx.classes)]))
    for attr, block in as_dict(perf.get("by_attribute")).items():
        groups = as_dict(as_dict(block).get("groups"))
        charts = [figures.confusion(f"{attr} {g} (n = {count(as_dict(gb).get('n'))})", as_dict(gb).get("confusion"),
                                    ctx.classes) for g, gb in groups.items()]
        if any(c is not None for c in charts):
            parts.extend([tag("h3", attr), ctx.grid(charts)])
    if not any(parts):
        return not_run(ctx, "confusion", "confusion", "Confusion matrices")
    lead = ("Rows are the annotated emotion, columns the prediction. Cells show image counts; the colour is the "
            "share of the row (one scale, 0–100 %, for every matrix).")
    return section("confusion", "Confusion matrices per group", lead, join(parts))


# counterfactual twins ---------------------------------------------------------------------------------------------

def _shift_table(rows: list[Mapping[str, Any]], ctx: Context, caption: str) -> Safe:
    rules = ctx.rules
    over = [twin_figures.effect_of(s) for s in rows]
    return table(
        ["value", "true class", "toward label", "Δ P(label)", "mean similarity shift [95 % CI]", "q-value", "n"],
        [[s.get("value"), "all classes" if s.get("true_class") == twin_figures.ALL_CLASSES else s.get("true_class"),
          s.get("label"), points(s.get("prob_shift")) if s.get("prob_shift") is not None else DASH,
          Safe(f"{esc(shift(s.get('mean_shift')))} <span class=ref>[{esc(shift(s.get('ci_low')))}, "
               f"{esc(shift(s.get('ci_high')))}]</span>"), rules.q_cell(s, "counterfactual", e), count(s.get("n"))]
         for s, e in zip(rows, over)],
        numeric=(3, 4, 5, 6), caption=caption,
        row_classes=["over-bar" if rules.over_bar("counterfactual", e) else None for e in over])


def _shifts(block: Mapping[str, Any], attr: str, ctx: Context, zmax: float) -> list[Any]:
    rules = ctx.rules
    shifts = [s for s in block.get("shifts") or [] if isinstance(s, Mapping)]
    if not shifts:
        return []
    ref = block.get("reference")
    values = [str(v) for v in block.get("values") or []]
    others = [v for v in values if v != ref] or list(dict.fromkeys(str(s.get("value")) for s in shifts))
    ranked = sorted(shifts, key=lambda s: -twin_figures.magnitude(s))
    bar = rules.bar_text("counterfactual")
    over = [s for s in ranked if rules.over_bar("counterfactual", twin_figures.effect_of(s))]
    charts = []
    for v in others:
        mine = [s for s in ranked if str(s.get("value")) == v]
        full = _shift_table(mine, ctx, f"All {len(mine)} cells for {v}, largest change first. {rules.legend()}")
        charts.append(twin_figures.shift_heatmap(attr, v, ref, ctx.classes, mine, rules=rules, zmax=zmax,
                                                 data_table=full))
    parts: list[Any] = [tag("h4", f"Which labels do faces move toward when only {attr} changes (vs {ref})?"),
                        ctx.grid(charts)]
    if bar is None:
        parts.append(_shift_table(ranked[:MAX_TABLE_ROWS], ctx, f"Largest changes (top {min(len(ranked), MAX_TABLE_ROWS)}"
                                                                 f" of {len(ranked)}). {rules.legend()}"))
    elif over:
        parts.append(_shift_table(over, ctx, f"The {len(over)} of {len(ranked)} cells that move a probability by at "
                                             f"least the {bar} bar. {rules.legend()}"))
    else:
        parts.append(tag("p", f"No cell moves a probability by {bar} or more ({len(ranked)} cells tested)."))
    return parts


def counterfactual(ctx: Context) -> Safe | None:
    """Counterfactual twins: flip rates, shift heatmaps on one scale, tables, KL, thumbnails."""
    cf = {a: as_dict(b) for a, b in as_dict(ctx.results.get("counterfactual")).items() if isinstance(b, Mapping)}
    if not cf:
        return not_run(ctx, "counterfactual", "twins", "Counterfactual twins")
    flip_max = twin_figures.flip_range(list(cf.values()))
    shift_max = twin_figures.shift_range(list(cf.values()))
    parts = []
    for attr, block in cf.items():
        values = [str(v) for v in block.get("values") or []]
        ref = block.get("reference")
        parts.append(tag("h3", attr))
        fr = block.get("flip_rate")
        q = ctx.rules.q_cell(fr, "flip_rate", as_dict(fr).get("value")) if "q_value" in as_dict(fr) else ""
        parts.append(Safe(f"<p>{esc(count(block.get('n_identities')))} identities rendered with each of "
                          f"{esc(', '.join(values))} (reference {esc(ref)}). Pooled flip rate "
                          f"<b>{with_ci(fr)}</b>{f', q {q}' if q else ''}.</p>"))
        parts.append(ctx.grid([twin_figures.flip_matrix(attr, values, as_dict(block.get("pairs")), zmax=flip_max)]))
        parts.extend(_shifts(block, attr, ctx, shift_max))
        kl = {v: s for v, s in as_dict(block.get("kl")).items() if isinstance(s, Mapping)}
        if kl:
            has_ci = any(s.get("ci_low") is not None and s.get("ci_high") is not None for s in kl.values())
            head = "KL(reference ‖ value)" + (" [95 % CI]" if has_ci else "")
            parts.append(table(["value", head, "twin pairs"],
                               [[v, with_ci(s, lambda x: dec(x, 4)), count(s.get("n"))] for v, s in kl.items()],
                               numeric=(1, 2), caption="Mean KL divergence between the label distributions of twins."
                               + ("" if has_ci else " No confidence interval was computed for it.")))
        thumbs = _twin_thumbs(block, ctx)
        if thumbs:
            parts.append(Safe(f'<h4>Twins with the largest shift</h4><div class="examples">{thumbs}</div>'))
    lead = ("The same synthetic face rendered with only one attribute changed. A fair model gives twins the same "
            "emotion: flips should be rare and changes near 0. Red cells: the face moves toward that label. The "
            "tables show first the cells over the minimum effect; every cell is behind “Data table”.")
    return section("twins", "Counterfactual twins", lead, join(parts))


def _twin_thumbs(block: Mapping[str, Any], ctx: Context) -> Safe:
    from ._evidence import thumb

    examples = as_dict(block.get("examples"))
    # An example is an item id (image looked up in ``thumbnails``) or an inline {"id", "image", "caption"}.
    return join(thumb(e.get("image") or ctx.thumbnails.get(str(e.get("id"))), e.get("caption") or f"{v}: {e.get('id')}")
                if isinstance(e, Mapping) else thumb(ctx.thumbnails.get(str(e)), f"{v}: {e}")
                for v, ids in examples.items() for e in (ids or []))


# embedding map ----------------------------------------------------------------------------------------------------

def over_represented(values: Any) -> str:
    """``["gender=masculine", "skin_group=light"]`` as ``"gender masculine, skin group light"`` (not a comparison)."""
    out = []
    for item in values or []:
        attr, sep, value = str(item).partition("=")
        out.append(f"{attr.replace('_', ' ')} {value}" if sep else str(item))
    return ", ".join(out)


def embedding(ctx: Context) -> Safe | None:
    """The embedding map (one copy of every point) and the cluster table."""
    cl = as_dict(ctx.results.get("clusters"))
    if not cl:
        return not_run(ctx, "clusters", "map", "Embedding map and clusters")
    items = [c for c in cl.get("items") or [] if isinstance(c, Mapping)]
    rows = []
    for c in sorted(items, key=lambda c: -(c.get("error_ratio") or 0)):
        tokens = ", ".join(str(t[0]) if isinstance(t, (list, tuple)) and t else str(t) for t in c.get("top_tokens") or [])
        rows.append([f"#{c.get('id')}", c.get("name"), count(c.get("size")), pct(c.get("error_rate")),
                     dec(c.get("error_ratio"), 2), ctx.rules.q_cell(c, "cluster", c.get("error_ratio")),
                     over_represented(c.get("over_represented")) or DASH, tokens or DASH])
    cluster_table = table(["", "cluster", "size", "error rate", "error ratio", "q-value", "over-represented",
                           "nearest words"], rows, numeric=(2, 3, 4, 5),
                          caption=f"Clusters ({cl.get('method', '?')}), highest error ratio first. {ctx.rules.legend()}")
    n_points = len(as_dict(cl.get("points")).get("x") or [])
    summary = (f"UMAP map of {n_points:,} projected images in {len(items)} clusters; the menu colours it by cluster, "
               "by each protected attribute or by whether the prediction was wrong. The cluster table below "
               "holds the numbers.")
    chart = embedding_chart(as_dict(cl.get("points")), items, list(ctx.run.get("protected_attributes") or []),
                            summary=summary, data_table=cluster_table, chart_id=ctx.next_chart_id())
    parts = [ctx.chart(chart)]
    if items:
        parts.append(cluster_table)
    lead = ("Each dot is an image, placed by UMAP so that images the model sees as similar sit together. "
            "“Over-represented” lists the attribute values a cluster holds more of than the data overall.")
    return section("map", "Embedding map and clusters", lead, join(parts))

