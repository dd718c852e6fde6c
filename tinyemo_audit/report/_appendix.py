"""Sections (7)–(10) of the report: probe tables, dataset composition, CI gates, methods and model card."""

from __future__ import annotations

from collections.abc import Mapping

from . import _figures as figures
from ._format import DASH, count, dec, pct, q_cell, qval, shift
from ._html import Safe, esc, join, table, tag
from ._sections import MAX_TABLE_ROWS, Context, _dict, _not_run, _section
from ._text import FRAMEWORK_STATEMENT, GLOSSARY


# (7) text probes, association, skew -------------------------------------------------------------------------------

def probes(ctx: Context) -> Safe | None:
    parts = []
    tp = _dict(ctx.results.get("text_probes"))
    if tp:
        parts.append(tag("h3", "Text probes"))
        templates = tp.get("templates") or []
        if templates:
            parts.append(Safe(f"<p>Templates: {join((tag('code', t) for t in templates), ', ')}</p>"))
        for attr, block in _dict(tp.get("by_attribute")).items():
            block = _dict(block)
            terms = _dict(block.get("terms"))
            parts.append(tag("h4", attr))
            if terms:
                parts.append(Safe("<p>" + join((Safe(f"{tag('b', v)}: {esc(', '.join(map(str, t)))}")
                                                for v, t in terms.items()), "; ") + "</p>"))
            rows = sorted((s for s in block.get("shifts") or [] if isinstance(s, Mapping)),
                          key=lambda s: -abs(s.get("mean_shift") or 0))
            if rows:
                parts.append(table(["term group", "vs", "emotion in prompt", "label", "mean shift [95 % CI]",
                                    "q-value", "n"],
                                   [[s.get("value"), s.get("reference"),
                                     "any" if s.get("emotion") == "*" else s.get("emotion"), s.get("label"),
                                     Safe(f"{esc(shift(s.get('mean_shift')))} <span class=ref>["
                                          f"{esc(shift(s.get('ci_low')))}, {esc(shift(s.get('ci_high')))}]</span>"),
                                     q_cell(s, ctx.q_max), count(s.get("n"))] for s in rows[:MAX_TABLE_ROWS]],
                                   numeric=(4, 5, 6), caption=f"Largest shifts (top {min(len(rows), MAX_TABLE_ROWS)}"
                                                              f" of {len(rows)})."))
    assoc = [a for a in ctx.results.get("association") or [] if isinstance(a, Mapping)]
    if assoc:
        parts.append(tag("h3", "Associations (WEAT / iEAT)"))
        parts.append(table(
            ["attribute", "groups X vs Y", "labels A vs B", "effect size", "p-value", "q-value", "n X / n Y"],
            [[a.get("attribute"), f"{a.get('x_group')} vs {a.get('y_group')}",
              Safe(f"{esc(a.get('a_set'))} <span class=ref>({esc(', '.join(map(str, a.get('a_labels') or [])))})"
                   f"</span> vs {esc(a.get('b_set'))} <span class=ref>("
                   f"{esc(', '.join(map(str, a.get('b_labels') or [])))})</span>"),
              shift(a.get("effect_size")), qval(a.get("p_value")), q_cell(a, ctx.q_max),
              f"{count(a.get('n_x'))} / {count(a.get('n_y'))}"] for a in assoc],
            numeric=(3, 4, 5, 6), caption="Positive effect: group X sits closer to label set A than group Y does."))
    skew = _dict(ctx.results.get("skew"))
    rows = []
    for label, per_attr in _dict(skew.get("by_label")).items():
        for attr, s in _dict(per_attr).items():
            s = _dict(s)
            shares = ", ".join(f"{g} {pct(v)}" for g, v in _dict(s.get("top_k_shares")).items())
            raw = s.get("max_skew") if isinstance(s.get("max_skew"), (int, float)) else float("-inf")
            rows.append((raw, [label, attr, dec(s.get("max_skew"), 3), s.get("group", DASH), dec(s.get("ndkl"), 4),
                               q_cell(s, ctx.q_max), shares or DASH]))
    if rows:
        parts.append(tag("h3", f"Retrieval skew (top {skew.get('k', '?')})"))
        rows = [r for _, r in sorted(rows, key=lambda item: -item[0])]
        head = ["emotion label", "attribute", "MaxSkew@k", "most over-represented", "NDKL", "q-value",
                "shares in top k"]
        parts.append(table(head, rows[:MAX_TABLE_ROWS], numeric=(2, 4, 5)))
        if len(rows) > MAX_TABLE_ROWS:
            parts.append(Safe(f"<details><summary>all {len(rows)} rows</summary>"
                              f"{table(head, rows[MAX_TABLE_ROWS:], numeric=(2, 4, 5))}</details>"))
    if not parts:
        return _not_run(ctx, "probes", "probes", "Text probes, associations and retrieval skew")
    lead = "Probes in the label space itself: prompts that differ only in a group word, group-to-emotion " \
           "associations, and which groups dominate the images closest to each emotion."
    return _section("probes", "Text probes, associations and retrieval skew", lead, join(parts))


# (8) dataset ------------------------------------------------------------------------------------------------------

def dataset(ctx: Context) -> Safe | None:
    db = _dict(ctx.results.get("dataset_bias"))
    rep, ster = _dict(db.get("representation")), _dict(db.get("stereotype"))
    if not rep and not ster:
        return _not_run(ctx, "dataset", "dataset", "Dataset composition")
    parts = [ctx.figure(figures.composition_bars(rep))]
    if rep:
        parts.append(table(["attribute", "groups", "ENS", "Simpson", "imbalance ratio"],
                           [[a, len(_dict(_dict(b).get("counts"))) or DASH, dec(_dict(b).get("ens"), 2),
                             dec(_dict(b).get("simpson"), 2), dec(_dict(b).get("imbalance_ratio"), 2)]
                            for a, b in rep.items()], numeric=(1, 2, 3, 4),
                           caption="Representation: ENS equal to the number of groups means an even split."))
    if ster:
        parts.append(table(["attribute", "Cramér's V", "NMI", "Theil's U"],
                           [[a, dec(_dict(s).get("cramers_v")), dec(_dict(s).get("nmi"), 4),
                             dec(_dict(s).get("theils_u"), 4)] for a, s in ster.items()], numeric=(1, 2, 3),
                           caption="Stereotype: association between attribute and emotion label in the data (0 = none)."))
    lead = "How the audited data itself is composed: a skewed dataset can explain, or hide, a model's bias."
    return _section("dataset", "Dataset composition", lead, join(parts))


# (9) gates --------------------------------------------------------------------------------------------------------

def gates(ctx: Context) -> Safe | None:
    items = [g for g in ctx.results.get("gates") or [] if isinstance(g, Mapping)]
    if not items:
        return None
    # results["gates"] names the gate "gate" and writes the bound as text (gates_to_json).
    rows = [[Safe(f'<span class="badge badge-{esc(g.get("status"))}">{esc(g.get("status"))}</span>'),
             g.get("gate") or g.get("name"), tag("code", g.get("path")), g.get("attribute") or DASH,
             dec(g.get("observed"), 3), g.get("bound") if isinstance(g.get("bound"), str) else dec(g.get("bound"), 3),
             g.get("details") or ""] for g in items]
    return _section("gates", "CI gates", "Bounds set by the team; a FAIL or an ERROR makes the CI job fail, "
                    "a SKIP (a metric this dataset cannot have) does not.",
                    table(["status", "gate", "metric", "attribute", "observed", "bound", "details"], rows,
                          numeric=(4, 5)))


# (10) methods -----------------------------------------------------------------------------------------------------

def methods(ctx: Context) -> Safe:
    run = ctx.run
    given = _dict(_dict(ctx.results.get("methods")).get("metrics"))
    entries = [(title, given.get(key, text)) for key, (title, text) in GLOSSARY.items()]
    entries += [(key.replace("_", " "), text) for key, text in given.items() if key not in GLOSSARY]
    framework = _dict(ctx.results.get("methods")).get("bias_framework")
    params = [("bootstrap resamples", run.get("n_boot")), ("permutations", run.get("n_perm")),
              ("q threshold", run.get("q_max")), ("minimum group size", run.get("min_group_size")),
              ("seed", run.get("seed")), ("schema", ctx.results.get("schema_version"))]
    parts = [Safe(f'<div class="callout">{tag("p", FRAMEWORK_STATEMENT)}'
                  f'{tag("p", framework) if framework else ""}</div>'),
             tag("p", "Run settings: " + "; ".join(f"{k} {v}" for k, v in params if v is not None)),
             Safe('<dl class="glossary">' + join(Safe(f"{tag('dt', t)}{tag('dd', d)}") for t, d in entries)
                  + "</dl>")]
    card = run.get("model_card")
    if card:
        parts.append(tag("h3", "Model card"))
        parts.append(tag("pre", card, class_="model-card"))
    return _section("methods", "Methods and model card", "What each number means and how it was tested.",
                    join(parts))
