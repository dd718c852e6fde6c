"""Later sections of the report: probe tables, dataset composition, CI gates, methods and model card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _figures as figures
from ._format import DASH, as_number, count, dec, pct, qval, shift
from ._html import Safe, details, esc, join, table, tag
from ._markdown import render_markdown
from ._sections import MAX_TABLE_ROWS, Context, as_dict, not_run, section
from ._text import FRAMEWORK_STATEMENT, GLOSSARY


def _magnitude(value: Any) -> float:
    v = as_number(value)
    return -1.0 if v is None else abs(v)


def _filtered(ctx: Context, family: str, rows: list[tuple[Any, list[Any]]], head: list[str], numeric: tuple,
              noun: str) -> list[Safe]:
    """Rows over the family's minimum effect first (or the largest few); every row behind a disclosure."""
    rules = ctx.rules
    rows = sorted(rows, key=lambda r: -_magnitude(r[0]))
    bar = rules.bar_text(family)
    marks = ["over-bar" if rules.over_bar(family, e) else None for e, _ in rows]
    cells = [r for _, r in rows]
    out = []
    if bar is None:
        top = cells[:MAX_TABLE_ROWS]
        out.append(table(head, top, numeric=numeric, row_classes=marks[:MAX_TABLE_ROWS],
                         caption=f"Largest {noun} (top {len(top)} of {len(cells)}). {rules.legend()}"))
    else:
        over = [c for c, m in zip(cells, marks) if m]
        if over:
            out.append(table(head, over, numeric=numeric, caption=f"The {len(over)} of {len(cells)} {noun} at or over "
                                                                  f"the {bar} bar. {rules.legend()}"))
        else:
            out.append(tag("p", f"No {noun[:-1] if noun.endswith('s') else noun} reaches the {bar} bar "
                                f"({len(cells)} tested)."))
    if len(cells) > (0 if bar is not None else MAX_TABLE_ROWS):
        out.append(details(f"All {len(cells)} {noun}", table(head, cells, numeric=numeric, row_classes=marks,
                                                            caption=rules.legend())))
    return out


def _text_probes(ctx: Context) -> list[Any]:
    tp = as_dict(ctx.results.get("text_probes"))
    if not tp:
        return []
    parts: list[Any] = [tag("h3", "Text probes (label-word geometry)")]
    templates = tp.get("templates") or []
    if templates:
        parts.append(Safe(f"<p>Templates: {join((tag('code', t) for t in templates), ', ')}</p>"))
    head = ["term group", "vs", "emotion in prompt", "label", "mean shift [95 % CI]", "q-value", "n"]
    for attr, block in as_dict(tp.get("by_attribute")).items():
        block = as_dict(block)
        terms = as_dict(block.get("terms"))
        parts.append(tag("h4", attr))
        if terms:
            parts.append(Safe("<p>" + join((Safe(f"{tag('b', v)}: {esc(', '.join(map(str, t)))}")
                                            for v, t in terms.items()), "; ") + "</p>"))
        rows = [(s.get("mean_shift"),
                 [s.get("value"), s.get("reference"), "any" if s.get("emotion") == "*" else s.get("emotion"),
                  s.get("label"), Safe(f"{esc(shift(s.get('mean_shift')))} <span class=ref>["
                                       f"{esc(shift(s.get('ci_low')))}, {esc(shift(s.get('ci_high')))}]</span>"),
                  ctx.rules.q_cell(s, "text_probe", s.get("mean_shift")), count(s.get("n"))])
                for s in block.get("shifts") or [] if isinstance(s, Mapping)]
        if rows:
            parts.extend(_filtered(ctx, "text_probe", rows, head, (4, 5, 6), "shifts"))
    return parts


def _associations(ctx: Context) -> list[Any]:
    assoc = [a for a in ctx.results.get("association") or [] if isinstance(a, Mapping)]
    if not assoc:
        return []
    head = ["attribute", "groups X vs Y", "labels A vs B", "effect size", "p-value", "q-value", "n X / n Y"]
    rows = [(a.get("effect_size"),
             [a.get("attribute"), f"{a.get('x_group')} vs {a.get('y_group')}",
              Safe(f"{esc(a.get('a_set'))} <span class=ref>({esc(', '.join(map(str, a.get('a_labels') or [])))})"
                   f"</span> vs {esc(a.get('b_set'))} <span class=ref>("
                   f"{esc(', '.join(map(str, a.get('b_labels') or [])))})</span>"),
              shift(a.get("effect_size")), qval(a.get("p_value")),
              ctx.rules.q_cell(a, "association", a.get("effect_size")),
              f"{count(a.get('n_x'))} / {count(a.get('n_y'))}"]) for a in assoc]
    return [tag("h3", "Associations (WEAT / iEAT)"),
            tag("p", "Positive effect: group X sits closer to label set A than group Y does.", class_="ref"),
            *_filtered(ctx, "association", rows, head, (3, 4, 5, 6), "associations")]


def _skew(ctx: Context) -> list[Any]:
    skew = as_dict(ctx.results.get("skew"))
    rows = []
    for label, per_attr in as_dict(skew.get("by_label")).items():
        for attr, s in as_dict(per_attr).items():
            s = as_dict(s)
            shares = ", ".join(f"{g} {pct(v)}" for g, v in as_dict(s.get("top_k_shares")).items())
            rows.append((s.get("max_skew"), [label, attr, dec(s.get("max_skew"), 3), s.get("group", DASH),
                                             dec(s.get("ndkl"), 4), ctx.rules.q_cell(s, "skew", s.get("max_skew")),
                                             shares or DASH]))
    if not rows:
        return []
    head = ["emotion label", "attribute", "MaxSkew@k", "most over-represented", "NDKL", "q-value", "shares in top k"]
    return [tag("h3", f"Retrieval skew (top {skew.get('k', '?')})"),
            *_filtered(ctx, "skew", rows, head, (2, 4, 5), "label–attribute pairs")]


def probes(ctx: Context) -> Safe | None:
    """Text probes, associations and retrieval skew: rows over each probe's minimum effect first."""
    parts = _text_probes(ctx) + _associations(ctx) + _skew(ctx)
    if not parts:
        return not_run(ctx, "probes", "probes", "Text probes, associations and retrieval skew")
    lead = ("Probes of the metric space itself: prompts that differ only in a group word, group-to-emotion "
            "associations, and which groups dominate the images closest to each emotion. Each table first shows the "
            "rows at or over the probe's minimum effect; every row is behind the disclosure.")
    return section("probes", "Text probes, associations and retrieval skew", lead, join(parts))


def dataset(ctx: Context) -> Safe | None:
    """Dataset composition: counts per group, representation and stereotype indices."""
    db = as_dict(ctx.results.get("dataset_bias"))
    rep, ster = as_dict(db.get("representation")), as_dict(db.get("stereotype"))
    if not rep and not ster:
        return not_run(ctx, "dataset", "dataset", "Dataset composition")
    parts = [ctx.grid([figures.composition(a, as_dict(b)) for a, b in rep.items()])]
    if rep:
        # The audit writes Simpson's index as "simpson_reciprocal" (earlier drafts: "simpson").
        parts.append(table(["attribute", "groups", "ENS", "Simpson (inverse)", "imbalance ratio"],
                           [[a, len(as_dict(as_dict(b).get("counts"))) or DASH, dec(as_dict(b).get("ens"), 2),
                             dec(as_dict(b).get("simpson_reciprocal", as_dict(b).get("simpson")), 2),
                             dec(as_dict(b).get("imbalance_ratio"), 2)] for a, b in rep.items()], numeric=(1, 2, 3, 4),
                           caption="Representation: ENS and inverse Simpson equal to the number of groups mean an "
                                   "even split."))
    if ster:
        parts.append(table(["attribute", "Cramér's V", "NMI", "Theil's U"],
                           [[a, dec(as_dict(s).get("cramers_v")), dec(as_dict(s).get("nmi"), 4),
                             dec(as_dict(s).get("theils_u"), 4)] for a, s in ster.items()], numeric=(1, 2, 3),
                           caption="Stereotype: association between attribute and emotion label in the data (0 = none)."))
    lead = "How the audited data itself is composed: a skewed dataset can explain, or hide, a model's bias."
    return section("dataset", "Dataset composition", lead, join(parts))


def gates(ctx: Context) -> Safe | None:
    """The CI gates that ran, each row anchored (``#gate-N``) for the cause cards to link."""
    items = [g for g in ctx.results.get("gates") or [] if isinstance(g, Mapping)]
    if not items:
        return None
    # results["gates"] names the gate "gate" and writes the bound as text (gates_to_json).
    rows = [[Safe(f'<span id="gate-{i}" class="badge badge-{esc(g.get("status"))}">{esc(g.get("status"))}</span>'),
             g.get("gate") or g.get("name"), tag("code", g.get("path")), g.get("attribute") or DASH,
             dec(g.get("observed"), 3), g.get("bound") if isinstance(g.get("bound"), str) else dec(g.get("bound"), 3),
             g.get("details") or ""] for i, g in enumerate(items, start=1)]
    return section("gates", "CI gates", "Bounds set by the team; a FAIL or an ERROR makes the CI job fail, "
                   "a SKIP (a metric this dataset cannot have) does not.",
                   table(["status", "gate", "metric", "attribute", "observed", "bound", "details"], rows,
                         numeric=(4, 5)))


def methods(ctx: Context) -> Safe:
    """Methods: the framework statement once, the glossary, run settings and the model card."""
    run = ctx.run
    given = as_dict(as_dict(ctx.results.get("methods")).get("metrics"))
    entries = [(title, given.get(key, text)) for key, (title, text) in GLOSSARY.items()]
    entries += [(key.replace("_", " "), text) for key, text in given.items() if key not in GLOSSARY]
    # The audit's own statement, when present, replaces the fixed one (they say the same thing).
    framework = as_dict(ctx.results.get("methods")).get("bias_framework") or FRAMEWORK_STATEMENT
    params = [("bootstrap resamples", run.get("n_boot")), ("permutations", run.get("n_perm")),
              ("q threshold", ctx.rules.q_max), ("minimum group size", ctx.rules.min_group_size),
              ("seed", run.get("seed")), ("schema", ctx.results.get("schema_version"))]
    parts = [Safe(f'<div class="callout">{tag("p", framework)}</div>'),
             tag("p", "Run settings: " + "; ".join(f"{k} {v}" for k, v in params if v is not None)),
             Safe('<dl class="glossary">' + join(Safe(f"{tag('dt', t)}{tag('dd', d)}") for t, d in entries)
                  + "</dl>")]
    card = run.get("model_card")
    if isinstance(card, str) and card.strip():
        parts.append(tag("h3", "Model card"))
        parts.append(Safe(f'<div class="model-card">{render_markdown(card)}</div>'))
    return section("methods", "Methods and model card", "What each number means and how it was tested.",
                   join(parts))
