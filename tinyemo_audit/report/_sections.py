"""Report sections (1)–(6) and their shared context: each reads the results and returns HTML, or None."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _figures as figures
from ._format import DASH, count, dec, evidence_value, pct, pp, q_cell, qval, shift, with_ci
from ._html import Safe, esc, image_src, join, table, tag
from ._text import KIND_WORDS, STATUS_WORDS, VERDICT_HELP

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
    figures: list[str] = field(default_factory=list)

    @property
    def run(self) -> Mapping[str, Any]:
        return _dict(self.results.get("run"))

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.run.get("classes") or []]

    @property
    def q_max(self) -> float:
        q = self.run.get("q_max")
        return float(q) if isinstance(q, (int, float)) else 0.05

    @property
    def min_group_size(self) -> int:
        m = self.run.get("min_group_size")
        return int(m) if isinstance(m, (int, float)) else 0

    def figure(self, fig) -> Safe:
        """Render a figure with a deterministic div id (so equal results give an identical file)."""
        if fig is None:
            return Safe("")
        self.figures.append(f"chart-{len(self.figures) + 1}")
        return Safe(f'<div class="chart">{figures.to_div(fig, self.figures[-1])}</div>')

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


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _section(anchor: str, title: str, lead: Any, body: Any) -> Safe:
    lead_html = tag("p", lead, class_="lead") if lead else ""
    return Safe(f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{lead_html}{esc(body)}</section>')


def _not_run(ctx: Context, section: str, anchor: str, title: str) -> Safe | None:
    reason = ctx.skipped_reason(section)
    if reason is None:
        return None
    return _section(anchor, title, None, tag("p", f"not run: {reason}", class_="notrun"))


def _small_n(n: Any, ctx: Context) -> Safe:
    if isinstance(n, (int, float)) and n < ctx.min_group_size:
        return Safe('<span class="small-n">small n — not flagged</span>')
    return Safe("")


def _thumb(src: Any, caption: Any) -> Safe:
    uri = image_src(src)
    if uri is None:
        return Safe("")
    return Safe(f'<figure class="thumb"><img src="{esc(uri)}" alt="{esc(caption)}">'
                f"{tag('figcaption', caption)}</figure>")


# (1) header -------------------------------------------------------------------------------------------------------

def header(ctx: Context) -> Safe:
    run, verdict = ctx.run, _dict(ctx.results.get("verdict"))
    status = str(verdict.get("status") or "unknown")
    status_class = status if status in STATUS_WORDS else "unknown"
    headline = verdict.get("headline") or STATUS_WORDS.get(status, "No verdict in these results")
    findings = [f for f in ctx.results.get("findings") or [] if isinstance(f, Mapping)]
    n_findings = verdict.get("n_findings", ctx.results.get("findings_count", len(findings)))

    overall = _dict(_dict(_dict(ctx.results.get("performance")).get("overall")).get("accuracy"))
    unlabelled = run.get("labelled") is False
    kpis = [("Overall accuracy", esc(pct(overall.get("value"))) if overall else DASH,
             Safe(f"95 % CI {esc(pct(overall.get('ci_low')))} – {esc(pct(overall.get('ci_high')))}")
             if overall.get("ci_low") is not None else ("not measured: no labels" if unlabelled else "")),
            ("Images audited", count(run.get("n")), f"{run.get('dataset', '?')} / {run.get('split', '?')}"),
            ("Findings", count(n_findings), f"q < {ctx.q_max:g}, groups ≥ {ctx.min_group_size}")]
    gates = [g for g in ctx.results.get("gates") or [] if isinstance(g, Mapping)]
    if gates:
        tally = {s: sum(1 for g in gates if g.get("status") == s) for s in ("PASS", "WARN", "FAIL", "ERROR", "SKIP")}
        kpis.append(("CI gates", f"{tally['PASS']} / {len(gates)} pass",
                     ", ".join(f"{v} {k.lower()}" for k, v in tally.items() if v and k != "PASS") or "all passed"))
    kpi_html = join(Safe(f'<div class="kpi"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
                         f'<div class="s">{esc(s)}</div></div>') for k, v, s in kpis)

    top = ""
    ranked = sorted(findings, key=lambda f: (f.get("rank") if isinstance(f.get("rank"), (int, float)) else 1e9))
    if ranked:
        f = ranked[0]
        top = Safe(f'<div class="top-finding"><div class="label">Top finding</div>'
                   f'<div class="title">{esc(f.get("title"))}</div>{tag("p", f.get("summary"))}'
                   f'<a href="#finding-{esc(f.get("id"))}">See the evidence →</a></div>')
    n_skipped = len(ctx.skipped_entries)
    skipped_html = ""
    if n_skipped:
        skipped_html = Safe(f'<p class="skipped-note">{n_skipped} metric group{"s" if n_skipped != 1 else ""} '
                            f'skipped on this dataset; the next section says which, and why.</p>')
    skipped_html = join([skipped_html, _skipped_items_note(run)])
    kicker = (f"tinyemo-audit {run.get('tool_version', '')} · model {run.get('model', '?')} · "
              f"dataset {run.get('dataset', '?')} ({run.get('split', '?')}) · seed {run.get('seed', '?')}")
    body = Safe(f'<p class="header-kicker">{esc(kicker)}</p>'
                f'<div class="verdict status-{esc(status_class)}"><div class="status">'
                f'{esc(STATUS_WORDS.get(status, status))}</div><div class="headline">{esc(headline)}</div></div>'
                f'<div class="kpis">{kpi_html}</div>'
                f'{tag("p", VERDICT_HELP, class_="lead") if ranked else ""}{top}{skipped_html}')
    return Safe(f'<section id="verdict"><h2>Bias audit of {esc(run.get("model", "a model"))}</h2>{body}</section>')


def _skipped_items_note(run: Mapping[str, Any]) -> Safe:
    """One line: how many dataset items loading left out, and why (run.n_skipped_items, run.skipped_items)."""
    total = run.get("n_skipped_items")
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
        return Safe("")
    reasons = ", ".join(f"{n} {reason}" for reason, n in _dict(run.get("skipped_items")).items())
    text = f"{total} dataset item{'s' if total != 1 else ''} skipped while loading" + (f": {reasons}" if reasons else "")
    return tag("p", text + ". They are not in any figure of this report.", class_="skipped-note")


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
    return _section("skipped", "Skipped on this dataset", lead,
                    table(["skipped", "why", "results.json keys left out"], rows))


# (2) findings -----------------------------------------------------------------------------------------------------

def _finding_card(f: Mapping[str, Any], ctx: Context) -> Safe:
    fid = str(f.get("id", ""))
    sev = f.get("severity")
    sev_class = "sev-high" if isinstance(sev, (int, float)) and sev >= 0.66 else (
        "sev-low" if isinstance(sev, (int, float)) and sev < 0.33 else "")
    chips = [tag("span", KIND_WORDS.get(str(f.get("kind")), f.get("kind") or "finding"), class_="chip")]
    if f.get("attribute"):
        chips.append(tag("span", f"attribute: {f['attribute']}", class_="chip"))
    if f.get("groups"):
        chips.append(tag("span", " vs ".join(str(g) for g in f["groups"]), class_="chip"))
    if f.get("direction"):
        chips.append(tag("span", f.get("direction"), class_="chip"))
    if isinstance(sev, (int, float)):
        chips.append(tag("span", f"severity {sev:.2f}", class_="chip sev"))
    ev = _dict(f.get("evidence"))
    stat_name = ev.get("statistic", "value")
    ev_items = [Safe(f"{esc(stat_name)}: <b>{esc(evidence_value(stat_name, ev.get('value')))}</b>")]
    if ev.get("ci_low") is not None and ev.get("ci_high") is not None:
        ev_items.append(Safe(f"95 % CI <b>[{esc(evidence_value(stat_name, ev['ci_low']))}, "
                             f"{esc(evidence_value(stat_name, ev['ci_high']))}]</b>"))
    ev_items.append(Safe(f"q-value <b>{esc(qval(ev.get('q_value')))}</b>"))
    ev_items.append(Safe(f"n <b>{esc(count(ev.get('n')))}</b>{_small_n(ev.get('n'), ctx)}"))
    thumbs = join(_thumb(e.get("image"), e.get("caption") or e.get("label") or e.get("id"))
                  for e in f.get("examples") or [] if isinstance(e, Mapping))
    review = _dict(f.get("review"))
    checked = " checked" if review.get("status") == "confirmed" else ""
    return Safe(
        f'<article class="finding {sev_class}" id="finding-{esc(fid)}" data-finding-id="{esc(fid)}" '
        f'data-finding-title="{esc(f.get("title"))}">'
        f'<div class="finding-head"><span class="rank">#{esc(f.get("rank", ""))}</span>'
        f'{tag("h3", f.get("title"))}</div><div>{join(chips, " ")}</div>'
        f'{tag("p", f.get("summary"), class_="summary")}'
        f'<div class="evidence">{join(tag("span", i) for i in ev_items)}</div>'
        f'{Safe(f"<div class=examples>{thumbs}</div>") if thumbs else ""}'
        f'<div class="review"><label><input type="checkbox" class="review-confirm"{checked}> '
        f'Reviewer confirms this finding</label>'
        f'<textarea class="review-note" placeholder="Reviewer note (why confirmed or rejected)" '
        f'aria-label="Reviewer note for {esc(fid)}">{esc(review.get("note", ""))}</textarea></div></article>'
    )


def findings(ctx: Context) -> Safe | None:
    items = ctx.results.get("findings")
    if items is None:
        return _not_run(ctx, "findings", "findings", "Findings")
    items = sorted((f for f in items if isinstance(f, Mapping)),
                   key=lambda f: f.get("rank") if isinstance(f.get("rank"), (int, float)) else 1e9)
    if not items:
        return _section("findings", "Findings", "No result passed the flagging rules (q-value, effect size, "
                        "group size). The tables below still show every number.", "")
    bar = Safe('<div class="review-bar"><button type="button" id="review-export">Download review (JSON)</button>'
               '<span id="review-count" class="ref"></span></div>')
    lead = ("Ranked by severity. The tool proposes; a person confirms: tick the box when you agree, add a note, "
            "then download your review as a JSON file (it stays on this computer).")
    return _section("findings", "Findings", lead, join([bar, *(_finding_card(f, ctx) for f in items)]))


# (3) group metrics ------------------------------------------------------------------------------------------------

def _disparity_rows(attr: str, block: Mapping[str, Any], ctx: Context) -> list[list[Any]]:
    rows = []
    for key, label, fmt in (("accuracy_difference", "accuracy difference", pp),
                            ("accuracy_ratio", "accuracy ratio", lambda x: dec(x, 2))):
        s = block.get(key)
        if isinstance(s, Mapping):
            rows.append([label, f"{s.get('worst_group', DASH)} vs {s.get('best_group', DASH)}", with_ci(s, fmt),
                         q_cell(s, ctx.q_max)])
    eo = block.get("equalized_odds_difference")
    if isinstance(eo, Mapping):
        rows.append(["equalized-odds difference", f"largest at {eo.get('cls', DASH)}", esc(pp(eo.get("value"))),
                     q_cell(eo, ctx.q_max) if "q_value" in eo else DASH])
    for key, label in (("tpr_difference", "TPR difference"), ("fpr_difference", "FPR difference"),
                       ("selection_rate_difference", "selection-rate difference")):
        per_class = {c: s for c, s in _dict(block.get(key)).items() if isinstance(s, Mapping)}
        if not per_class:
            continue
        # The largest gap is the one a reader needs; all of them are in results.json.
        cls, s = max(per_class.items(), key=lambda kv: abs(kv[1].get("value") or 0))
        rows.append([f"{label} (largest: {cls})", f"{s.get('worst_group', DASH)} vs {s.get('best_group', DASH)}",
                     with_ci(s, pp), q_cell(s, ctx.q_max)])
    return rows


def group_metrics(ctx: Context) -> Safe | None:
    perf = _dict(ctx.results.get("performance"))
    by_attr = _dict(perf.get("by_attribute"))
    if not by_attr:
        return _not_run(ctx, "performance", "groups", "Per-group metrics")
    if ctx.run.get("labelled") is False:
        return _prediction_rates(ctx, by_attr)
    reference = _dict(ctx.run.get("reference_groups"))
    parts = [ctx.figure(figures.group_accuracy(by_attr, min_group_size=ctx.min_group_size, reference=reference))]
    disparities = _dict(ctx.results.get("disparities"))
    for attr, block in by_attr.items():
        groups = _dict(_dict(block).get("groups"))
        if not groups:
            continue
        parts.append(tag("h3", attr))
        rows = []
        for g, gb in groups.items():
            gb = _dict(gb)
            ref = Safe(' <span class="ref">(reference)</span>') if reference.get(attr) == g else ""
            rows.append([join([g, ref]), Safe(f"{esc(count(gb.get('n')))}{_small_n(gb.get('n'), ctx)}"),
                         with_ci(gb.get("accuracy"))])
        parts.append(table(["group", "n", "accuracy [95 % CI]"], rows, numeric=(1, 2)))
        d_rows = _disparity_rows(attr, _dict(disparities.get(attr)), ctx)
        if d_rows:
            parts.append(table(["disparity", "groups", "value [95 % CI]", "q-value"], d_rows, numeric=(2, 3),
                               caption="Gaps between groups (worst vs best); red q-values pass the audit threshold."))
        parts.append(ctx.figure(figures.class_rates(groups, ctx.classes, min_group_size=ctx.min_group_size)))
    lead = ("Accuracy for each group with 95 % confidence whiskers, then true- and false-positive rates per emotion "
            "(switch with the TPR / FPR buttons). Grey bars are groups too small to flag.")
    return _section("groups", "Per-group metrics", lead, join(parts))


def _prediction_rates(ctx: Context, by_attr: Mapping[str, Any]) -> Safe:
    """Label-free group metrics: how often each group is given each emotion, and the gaps between groups."""
    disparities = _dict(ctx.results.get("disparities"))
    parts = []
    for attr, block in by_attr.items():
        groups = _dict(_dict(block).get("groups"))
        if not groups:
            continue
        parts.append(tag("h3", attr))
        rows = [[g, Safe(f"{esc(count(_dict(gb).get('n')))}{_small_n(_dict(gb).get('n'), ctx)}"),
                 *(with_ci(_dict(_dict(gb).get("selection_rate")).get(c)) for c in ctx.classes)]
                for g, gb in groups.items()]
        parts.append(table(["group", "n", *ctx.classes], rows, numeric=tuple(range(1, 2 + len(ctx.classes))),
                           caption="Share of each group's images given each emotion [95 % CI]."))
        d_rows = _disparity_rows(attr, _dict(disparities.get(attr)), ctx)
        if d_rows:
            parts.append(table(["disparity", "groups", "value [95 % CI]", "q-value"], d_rows, numeric=(2, 3),
                               caption="Largest gap between groups; red q-values pass the audit threshold."))
        parts.append(ctx.figure(figures.class_rates(groups, ctx.classes, min_group_size=ctx.min_group_size,
                                                    metrics=("selection_rate",))))
    lead = ("No labels, so no accuracy: these are the prediction distributions per group, i.e. how often each "
            "group is given each emotion, with 95 % confidence intervals and a permutation test of the largest "
            "gap. Grey bars are groups too small to flag.")
    return _section("groups", "Per-group prediction rates", lead, join(parts))


# (4) confusion matrices -------------------------------------------------------------------------------------------

def confusion(ctx: Context) -> Safe | None:
    perf = _dict(ctx.results.get("performance"))
    parts = []
    overall = _dict(perf.get("overall")).get("confusion")
    if overall is not None:
        parts.append(ctx.figure(figures.confusion_grid([("all images", overall)], ctx.classes)))
    for attr, block in _dict(perf.get("by_attribute")).items():
        groups = _dict(_dict(block).get("groups"))
        panels = [(f"{g} (n={count(_dict(gb).get('n'))})", _dict(gb).get("confusion")) for g, gb in groups.items()]
        fig = figures.confusion_grid(panels, ctx.classes)
        if fig is not None:
            parts.extend([tag("h3", attr), ctx.figure(fig)])
    if not any(parts):
        return _not_run(ctx, "confusion", "confusion", "Confusion matrices")
    lead = "Rows are the annotated emotion, columns the prediction; each row sums to 100 %. Hover for counts."
    return _section("confusion", "Confusion matrices per group", lead, join(parts))


# (5) counterfactual twins -----------------------------------------------------------------------------------------

def counterfactual(ctx: Context) -> Safe | None:
    cf = _dict(ctx.results.get("counterfactual"))
    if not cf:
        return _not_run(ctx, "counterfactual", "twins", "Counterfactual twins")
    parts = []
    for attr, block in cf.items():
        block = _dict(block)
        values = [str(v) for v in block.get("values") or []]
        ref = block.get("reference")
        parts.append(tag("h3", attr))
        fr = block.get("flip_rate")
        parts.append(Safe(f"<p>{esc(count(block.get('n_identities')))} identities rendered with each of "
                          f"{esc(', '.join(values))} (reference {esc(ref)}). Pooled flip rate "
                          f"<b>{with_ci(fr)}</b>, q {q_cell(fr, ctx.q_max)}.</p>"))
        parts.append(ctx.figure(figures.flip_heatmap(values, _dict(block.get("pairs")))))
        shifts = [s for s in block.get("shifts") or [] if isinstance(s, Mapping)]
        others = [v for v in values if v != ref] or list(dict.fromkeys(str(s.get("value")) for s in shifts))
        fig = figures.shift_heatmaps(others, ctx.classes, shifts, q_max=ctx.q_max)
        if fig is not None:
            parts.append(tag("h4", f"Directional shifts vs {ref}: which labels do faces move toward?"))
            parts.append(ctx.figure(fig))
            top = sorted(shifts, key=lambda s: -abs(s.get("mean_shift") or 0))[:MAX_TABLE_ROWS]
            parts.append(table(
                ["value", "true class", "toward label", "mean shift [95 % CI]", "Δ probability", "q-value", "n"],
                [[s.get("value"), s.get("true_class"), s.get("label"),
                  Safe(f"{esc(shift(s.get('mean_shift')))} <span class=ref>[{esc(shift(s.get('ci_low')))}, "
                       f"{esc(shift(s.get('ci_high')))}]</span>"), pp(s.get("prob_shift")), q_cell(s, ctx.q_max),
                  count(s.get("n"))] for s in top],
                numeric=(3, 4, 5, 6), caption=f"Largest shifts (top {len(top)} of {len(shifts)})."))
        kl = {v: s for v, s in _dict(block.get("kl")).items() if isinstance(s, Mapping)}
        if kl:
            parts.append(table(["value", "KL(reference ‖ value) [95 % CI]"],
                               [[v, with_ci(s, lambda x: dec(x, 4))] for v, s in kl.items()], numeric=(1,)))
        examples = _dict(block.get("examples"))
        # An example is an item id (image looked up in ``thumbnails``) or an inline {"id", "image", "caption"}.
        thumbs = join(_thumb(e.get("image") or ctx.thumbnails.get(str(e.get("id"))), e.get("caption") or
                             f"{v}: {e.get('id')}") if isinstance(e, Mapping) else
                      _thumb(ctx.thumbnails.get(str(e)), f"{v}: {e}")
                      for v, ids in examples.items() for e in (ids or []))
        if thumbs:
            parts.append(Safe(f'<h4>Twins with the largest shift</h4><div class="examples">{thumbs}</div>'))
    lead = ("The same synthetic face rendered with only one attribute changed. A fair model gives twins the same "
            "emotion: flips should be rare and shifts near 0. Red cells: the face moves toward that label; "
            "★ marks shifts that pass the audit's q threshold.")
    return _section("twins", "Counterfactual twins", lead, join(parts))


# (6) embedding map ------------------------------------------------------------------------------------------------

def embedding(ctx: Context) -> Safe | None:
    cl = _dict(ctx.results.get("clusters"))
    if not cl:
        return _not_run(ctx, "clusters", "map", "Embedding map and clusters")
    items = [c for c in cl.get("items") or [] if isinstance(c, Mapping)]
    names = {c.get("id"): str(c.get("name") or f"cluster {c.get('id')}") for c in items}
    fig = figures.embedding_map(_dict(cl.get("points")), names, list(ctx.run.get("protected_attributes") or []))
    parts = [ctx.figure(fig)]
    if items:
        rows = []
        for c in sorted(items, key=lambda c: -(c.get("error_ratio") or 0)):
            tokens = ", ".join(str(t[0]) if isinstance(t, (list, tuple)) and t else str(t)
                               for t in c.get("top_tokens") or [])
            flag = Safe('<span class="small-n">small n — not flagged</span>') if c.get("flaggable") is False else ""
            rows.append([join([c.get("name"), flag]), count(c.get("size")), pct(c.get("error_rate")),
                         dec(c.get("error_ratio"), 2), dec(c.get("sliceline_score"), 3),
                         ", ".join(str(o) for o in c.get("over_represented") or []) or DASH, tokens or DASH])
        parts.append(table(["cluster", "size", "error rate", "error ratio", "SliceLine score", "over-represented",
                            "nearest words"], rows, numeric=(1, 2, 3, 4),
                           caption=f"Clusters ({cl.get('method', '?')}), highest error ratio first."))
    lead = ("Each dot is an image, placed by UMAP so that images the model sees as similar sit together. Use the "
            "menu to colour by cluster, by a protected attribute or by whether the prediction was wrong.")
    return _section("map", "Embedding map and clusters", lead, join(parts))
