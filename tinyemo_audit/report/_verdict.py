"""The top of the report: the verdict (what was found, how sure, how big, what to do next) and the rules.

The page's only ``<h1>`` is here. Each status has its own look and wording; ``untested`` never reads as a clean
bill and ``metric-space-only`` says that no prediction changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._causes import Card, cards, outcome_text, strongest_q
from ._format import DASH, count, pct, qval
from ._html import Safe, esc, join, tag
from ._markdown import render_inline
from ._rules import rules_list
from ._sections import Context, as_dict, section
from ._text import CATEGORIES, CATEGORY_CHIPS, STATUS_NOTES, STATUS_WORDS

TOP_CAUSES = 3  # per category, in the verdict


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _counts(verdict: Mapping[str, Any], all_cards: list[Card]) -> dict[str, int]:
    """Causes per category: the verdict's own counts, else the cards counted (schema 1.0)."""
    given = {"decision": verdict.get("n_decision_causes"), "metric_space": verdict.get("n_metric_space_causes")}
    return {k: v if isinstance(v, int) and not isinstance(v, bool) else sum(1 for c in all_cards if c.category == k)
            for k, v in given.items()}


def _cause_line(card: Card) -> Safe:
    q = strongest_q(card)
    n = len(card.findings)
    sure = f"{CATEGORY_CHIPS[card.category]} · " + (
        f"seen by {_plural(n, 'probe', 'probes')}" if card.kind == "cause" else "one finding") + (
        f"; strongest q = {qval(q)}" if q is not None else "")
    outcome = outcome_text(card)
    return Safe(f'<li><a href="#{esc(card.kind)}-{esc(card.id)}">{esc(card.data.get("title"))}</a>'
                f'{tag("span", outcome, class_="outcome") if outcome else ""}'
                f'{tag("span", sure, class_="sure")}</li>')



def _verdict_box(ctx: Context, status: str, verdict: Mapping[str, Any], all_cards: list[Card]) -> Safe:
    known = status if status in STATUS_WORDS else "unknown"
    headline = verdict.get("headline") or STATUS_WORDS.get(status, "No verdict in these results")
    counts = _counts(verdict, all_cards)
    unit = ("", "") if any(c.kind == "cause" for c in all_cards) or not all_cards else (" (findings)", " (findings)")
    count_html = Safe(
        f'<div class="counts"><a href="#decision">{esc(_plural(counts["decision"], "decision bias", "decision biases"))}'
        f'{esc(unit[0])}</a><a href="#metric-space">'
        f'{esc(_plural(counts["metric_space"], "metric-space property", "metric-space properties"))}{esc(unit[1])}'
        f"</a></div>") if all_cards or any(verdict.get(k) is not None for k in ("n_decision_causes",
                                                                               "n_metric_space_causes")) else ""
    tops = []
    for category in CATEGORIES:
        tops += [c for c in all_cards if c.category == category][:TOP_CAUSES]
    top_html = Safe(f'<ol class="top-causes">{join(_cause_line(c) for c in tops)}</ol>') if tops else ""
    steps = [s for s in verdict.get("next_steps") or [] if isinstance(s, str)]
    steps_html = Safe(f"<h2>Next steps</h2><ol>{join(tag('li', render_inline(s)) for s in steps)}</ol>"
                      ) if steps else ""
    untested = [u for u in verdict.get("untested") or [] if isinstance(u, Mapping)]
    untested_html = Safe("<h2>Not tested</h2><ul>" + join(
        tag("li", Safe(f"<b>{esc(u.get('what'))}</b>: {esc(u.get('why'))}")) for u in untested) + "</ul>"
                         ) if untested else ""
    note = tag("p", STATUS_NOTES[status]) if status in STATUS_NOTES else ""
    return Safe(f'<div class="verdict status-{esc(known)}" role="region" aria-label="Verdict">'
                f'<div class="status">{esc(STATUS_WORDS.get(status, status))}</div>'
                f'<div class="headline">{esc(headline)}</div>{note}{count_html}{top_html}{steps_html}'
                f"{untested_html}</div>")


def header(ctx: Context) -> Safe:
    """The verdict section, with the page's only ``<h1>``, the verdict box and the key numbers."""
    run, verdict = ctx.run, as_dict(ctx.results.get("verdict"))
    status = str(verdict.get("status") or "unknown")
    all_cards = cards(ctx.results)
    overall = as_dict(as_dict(as_dict(ctx.results.get("performance")).get("overall")).get("accuracy"))
    unlabelled = run.get("labelled") is False
    n_findings = verdict.get("n_findings", ctx.results.get("findings_count", sum(len(c.findings) for c in all_cards)))
    kpis = [("Overall accuracy", esc(pct(overall.get("value"))) if overall else DASH,
             Safe(f"95 % CI {esc(pct(overall.get('ci_low')))} – {esc(pct(overall.get('ci_high')))}")
             if overall.get("ci_low") is not None else ("not measured: no labels" if unlabelled else "")),
            ("Images audited", count(run.get("n")), f"{run.get('dataset', '?')} / {run.get('split', '?')}"),
            ("Findings", count(n_findings),
             Safe(f'q &lt; {esc(f"{ctx.rules.q_max:g}")}, groups ≥ {esc(ctx.rules.min_group_size)}: '
                  f'<a href="#rules">rules</a>'))]
    gates = [g for g in ctx.results.get("gates") or [] if isinstance(g, Mapping)]
    if gates:
        tally = {s: sum(1 for g in gates if g.get("status") == s) for s in ("PASS", "WARN", "FAIL", "ERROR", "SKIP")}
        kpis.append(("CI gates", f"{tally['PASS']} / {len(gates)} pass",
                     ", ".join(f"{v} {k.lower()}" for k, v in tally.items() if v and k != "PASS") or "all passed"))
    kpi_html = join(Safe(f'<div class="kpi"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
                         f'<div class="s">{esc(s)}</div></div>') for k, v, s in kpis)
    n_skipped = len(ctx.skipped_entries)
    skipped_html = ""
    if n_skipped:
        skipped_html = Safe(f'<p class="skipped-note">{n_skipped} metric group{"s" if n_skipped != 1 else ""} '
                            f'skipped on this dataset; the next section says which, and why.</p>')
    skipped_html = join([skipped_html, _skipped_items_note(run)])
    kicker = (f"tinyemo-audit {run.get('tool_version', '')} · model {run.get('model', '?')} · "
              f"dataset {run.get('dataset', '?')} ({run.get('split', '?')}) · seed {run.get('seed', '?')}")
    return Safe(f'<section id="verdict"><h1>Bias audit of {esc(run.get("model", "a model"))}</h1>'
                f'<p class="header-kicker">{esc(kicker)}</p>{_verdict_box(ctx, status, verdict, all_cards)}'
                f'<div class="kpis">{kpi_html}</div>{skipped_html}</section>')


def _skipped_items_note(run: Mapping[str, Any]) -> Safe:
    """One line: how many dataset items loading left out, and why (run.n_skipped_items, run.skipped_items)."""
    total = run.get("n_skipped_items")
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
        return Safe("")
    reasons = ", ".join(f"{n} {reason}" for reason, n in as_dict(run.get("skipped_items")).items())
    text = f"{total} dataset item{'s' if total != 1 else ''} skipped while loading" + (f": {reasons}" if reasons else "")
    return tag("p", text + ". They are not in any figure of this report.", class_="skipped-note")


def rules(ctx: Context) -> Safe:
    """How a result becomes a finding, and how severity ranks them: as the audit recorded it."""
    lead = ("The audit decides what is a finding by these rules; the report only shows them. In every table, ★ "
            "marks a q-value below the threshold, and a significant row that is not a finding says why.")
    return section("rules", "Rules: how a result becomes a finding", lead, rules_list(ctx.rules))
