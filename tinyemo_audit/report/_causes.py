"""The findings section: one card per root cause, in two groups (decision biases, metric-space properties).

A cause (``results["causes"]``, schema 1.1) lists the findings — probes — that support it; each card shows
what the cause changes in outcomes people feel, the evidence of every probe, next steps, the gate that would
catch it, and the reviewer's confirm / reject / note. Results without ``causes`` (schema 1.0) get one card per
finding, grouped by the category its kind implies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._evidence import examples
from ._format import as_number, count, evidence_value, points, qval
from ._html import Safe, esc, join, tag
from ._markdown import render_inline
from ._sections import Context, as_dict, not_run, over_represented, section
from ._text import CATEGORIES, CATEGORY_CHIPS, KIND_CATEGORY, KIND_WORDS, REVIEW_LEAD


@dataclass
class Card:
    """One card: a cause with its findings, or (schema 1.0) a finding on its own."""

    id: str
    kind: str  # "cause" | "finding"
    category: str
    data: Mapping[str, Any]
    findings: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def rank(self) -> float:
        r = as_number(self.data.get("rank"))
        return r if r is not None else 1e9


def category_of(item: Mapping[str, Any]) -> str:
    """``decision`` or ``metric_space``: the item's own category, else the one its kind implies."""
    given = item.get("category")
    if given in CATEGORIES:
        return str(given)
    return KIND_CATEGORY.get(str(item.get("kind")), "decision")


def cards(results: Mapping[str, Any]) -> list[Card]:
    """The cards of ``results``, ranked: causes with their findings, else one per finding."""
    findings = [f for f in results.get("findings") or [] if isinstance(f, Mapping)]
    causes = [c for c in results.get("causes") or [] if isinstance(c, Mapping)]
    if not causes:
        out = [Card(str(f.get("id", "")), "finding", category_of(f), f, [f]) for f in findings]
        return sorted(out, key=lambda c: c.rank)
    by_id = {str(f.get("id")): f for f in findings}
    out, used = [], set()
    for c in causes:
        members = [by_id[str(i)] for i in c.get("finding_ids") or [] if str(i) in by_id]
        used.update(str(f.get("id")) for f in members)
        out.append(Card(str(c.get("id", "")), "cause", category_of(c), c, members))
    # A finding no cause claims still gets shown, as a card of its own.
    out += [Card(str(f.get("id", "")), "finding", category_of(f), f, [f]) for f in findings
            if str(f.get("id")) not in used]
    return sorted(out, key=lambda c: c.rank)


def strongest_q(card: Card) -> float | None:
    """The smallest q-value among a card's findings (how sure: shown, not computed)."""
    qs = [as_number(as_dict(f.get("evidence")).get("q_value")) for f in card.findings]
    qs = [q for q in qs if q is not None]
    return min(qs) if qs else None


def outcome_text(card: Card) -> str | None:
    """What the cause changes, in outcomes people feel (``outcome.text``), else the lead finding's P shift."""
    outcome = card.data.get("outcome")
    if isinstance(outcome, Mapping) and outcome.get("text"):
        return str(outcome["text"])
    if isinstance(outcome, str) and outcome.strip():
        return outcome
    return None


def _chips(card: Card) -> Safe:
    d = card.data
    chips = [tag("span", CATEGORY_CHIPS[card.category], class_=f"chip cat-{card.category}")]
    if card.kind == "finding" and d.get("kind"):
        chips.append(tag("span", KIND_WORDS.get(str(d.get("kind")), d.get("kind")), class_="chip"))
    if d.get("attribute"):
        chips.append(tag("span", f"attribute: {d['attribute']}", class_="chip"))
    groups = [str(g) for g in d.get("groups") or []]
    if groups and all("=" in g for g in groups):
        chips.append(tag("span", f"over-represented: {over_represented(groups)}", class_="chip"))
    elif groups:
        chips.append(tag("span", f"groups: {', '.join(groups)}", class_="chip"))
    if d.get("direction"):
        chips.append(tag("span", d.get("direction"), class_="chip"))
    sev = as_number(d.get("severity"))
    if sev is not None:
        chips.append(Safe(f'<a class="chip sev" href="#rules" title="how severity is defined">severity '
                          f"{esc(f'{sev:.2f}')}</a>"))
    return Safe(f'<div class="chips">{join(chips, " ")}</div>')


def _evidence_line(f: Mapping[str, Any], ctx: Context) -> Safe:
    ev = as_dict(f.get("evidence"))
    stat = ev.get("statistic", "value")
    items = [Safe(f"{esc(stat)}: <b>{esc(evidence_value(stat, ev.get('value')))}</b>")]
    if ev.get("ci_low") is not None and ev.get("ci_high") is not None:
        items.append(Safe(f"95 % CI <b>[{esc(evidence_value(stat, ev['ci_low']))}, "
                          f"{esc(evidence_value(stat, ev['ci_high']))}]</b>"))
    if ev.get("prob_shift") is not None:
        target = next((e.get("target") for e in f.get("examples") or [] if isinstance(e, Mapping) and e.get("target")),
                      None)
        items.append(Safe(f"{'P(' + str(esc(target)) + ')' if target else 'probability'} change "
                          f"<b>{esc(points(ev.get('prob_shift')))}</b>"))
    if ev.get("n_misclassified") is not None:
        items.append(Safe(f"misclassified <b>{esc(count(ev.get('n_misclassified')))} of {esc(count(ev.get('n')))}</b>"))
    q = as_number(ev.get("q_value"))
    mark = (' <span class="sig-mark" aria-hidden="true">★</span><span class="sr-only"> significant</span>'
            if q is not None and q < ctx.rules.q_max else "")
    items.append(Safe(f"q-value <b>{esc(qval(ev.get('q_value')))}</b>{mark}"))
    items.append(Safe(f"n <b>{esc(count(ev.get('n')))}</b>"))
    return Safe(f'<div class="evidence">{join(tag("span", i) for i in items)}</div>')


def _probe_item(f: Mapping[str, Any], ctx: Context, *, with_title: bool) -> Safe:
    probe = f.get("probe") or KIND_WORDS.get(str(f.get("kind")), f.get("kind") or "probe")
    head = tag("span", probe, class_="probe-name")
    title = Safe(f' — {esc(f.get("title"))} <span class="ref">({esc(f.get("id"))})</span>') if with_title else ""
    summary = tag("p", f.get("summary")) if with_title and f.get("summary") else ""
    return Safe(f'<li id="finding-{esc(f.get("id"))}">{head}{title}{summary}{_evidence_line(f, ctx)}'
                f"{examples(f)}</li>")


def _gate_line(gate: Any, ctx: Context) -> Safe:
    if not isinstance(gate, Mapping) or not gate.get("name"):
        return Safe("")
    ran = [g for g in ctx.results.get("gates") or [] if isinstance(g, Mapping)]
    name = esc(gate.get("name"))
    index = next((i for i, g in enumerate(ran) if (g.get("gate") or g.get("name")) == gate.get("name")), None)
    link = Safe(f'<a href="#gate-{index + 1}">{name}</a>') if index is not None else name
    where = Safe(f" in <code>{esc(gate['file'])}</code>") if gate.get("file") else ""
    metric = Safe(f" on <code>{esc(gate['metric'])}</code>") if gate.get("metric") else ""
    run_it = Safe(f"; add it to CI with <code>tinyemo-audit gate results.json --gates {esc(gate['file'])}</code>"
                  ) if gate.get("file") and index is None else ""
    return Safe(f'<p class="gate-link">Gate that would catch it: {link}{metric}{where}{run_it}.</p>')


def _review(card: Card) -> Safe:
    initial = as_dict(card.data.get("review")).get("status")
    initial = initial if initial in ("confirmed", "rejected") else "unreviewed"
    note = as_dict(card.data.get("review")).get("note") or ""
    name = f"review-{card.id}"
    boxes = join(Safe(f'<label><input type="radio" class="review-status" name="{esc(name)}" value="{value}"'
                      f'{" checked" if value == initial else ""}> {label}</label>')
                 for value, label in (("unreviewed", "not reviewed"), ("confirmed", "confirm"), ("rejected", "reject")))
    return Safe(f'<div class="review"><fieldset><legend>Reviewer</legend>{boxes}</fieldset>'
                f'<textarea class="review-note" placeholder="Note: why confirmed or rejected" '
                f'aria-label="Reviewer note for {esc(card.id)}">{esc(note)}</textarea></div>')


def _card(card: Card, ctx: Context) -> Safe:
    d = card.data
    sev = as_number(d.get("severity"))
    sev_class = " sev-high" if sev is not None and sev >= 0.66 else ""
    outcome = outcome_text(card)
    outcome_html = (Safe(f'<div class="outcome-box"><span class="k">What it changes</span><br>{esc(outcome)}</div>')
                    if outcome else "")
    many = card.kind == "cause"
    probes = join(_probe_item(f, ctx, with_title=many) for f in card.findings)
    n = len(card.findings)
    probes_html = (Safe(f'<p><b>{"Supported by " + str(n) + " probe" + ("s" if n != 1 else "") if many else "Evidence"}'
                        f'</b></p><ul class="probe-list">{probes}</ul>') if n else "")
    steps = [s for s in d.get("next_steps") or [] if isinstance(s, str)]
    steps_html = Safe(f'<p><b>Next steps</b></p><ol class="next-steps">'
                      f'{join(tag("li", render_inline(s)) for s in steps)}</ol>') if steps else ""
    return Safe(
        f'<article class="cause cat-{esc(card.category)}{sev_class}" id="{esc(card.kind)}-{esc(card.id)}" '
        f'data-review-id="{esc(card.id)}" data-review-kind="{esc(card.kind)}" data-review-title="{esc(d.get("title"))}">'
        f'<div class="cause-head"><span class="rank">#{esc(d.get("rank", ""))}</span>{tag("h4", d.get("title"))}</div>'
        f'{_chips(card)}{tag("p", d.get("summary"), class_="summary") if d.get("summary") else ""}'
        f"{outcome_html}{probes_html}{steps_html}{_gate_line(d.get('gate'), ctx)}{_review(card)}</article>"
    )


def findings(ctx: Context) -> Safe | None:
    """The findings section: review bar, then the cards of each category with its count."""
    if ctx.results.get("findings") is None and ctx.results.get("causes") is None:
        return not_run(ctx, "findings", "findings", "Findings")
    all_cards = cards(ctx.results)
    if not all_cards:
        return section("findings", "Findings", "No result passed the flagging rules (see Rules). The tables below "
                       "still show every number.", "")
    bar = Safe('<div class="review-bar"><button type="button" id="review-export">Download review</button>'
               '<input type="file" id="review-load" accept="application/json,.json">'
               '<label for="review-load" class="button secondary">Load review…</label>'
               '<span id="review-count" class="ref" aria-live="polite"></span>'
               '<div id="review-message" role="status"></div></div>')
    parts: list[Any] = [bar]
    by_cause = any(c.kind == "cause" for c in all_cards)
    for category, (name, description) in CATEGORIES.items():
        group = [c for c in all_cards if c.category == category]
        anchor = "decision" if category == "decision" else "metric-space"
        parts.append(Safe(f'<div class="group-head" id="{anchor}"><h3>{esc(name)}</h3>'
                          f'<span class="count">{len(group)}</span></div>'))
        parts.append(tag("p", description, class_="lead"))
        if group:
            parts.extend(_card(c, ctx) for c in group)
        else:
            parts.append(tag("p", f"None: no {name.lower()} passed the rules.", class_="notrun"))
    lead = REVIEW_LEAD + ("" if by_cause else " These results (schema 1.0) are not grouped by cause: one card per "
                                              "finding.")
    return section("findings", "Findings by cause", lead, join(parts))

