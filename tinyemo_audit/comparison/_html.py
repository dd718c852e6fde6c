"""The comparison as one self-contained HTML page (no script needed, no network request), from its plain data.

It reads what :func:`~tinyemo_audit.comparison.compare_results` wrote and computes nothing: a header
naming both runs, the counts of new, gone and changed findings and causes, one table each, and the
metrics whose change is largest (every metric is in the JSON). Every string from the runs is
escaped with its control characters made visible, by the report's own building blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..report._assets import asset
from ..report._html import Safe, join, page, table, tag

MAX_METRIC_ROWS = 60
STATUS_WORDS = {"new": "new", "crossed": "over the bar", "gone": "gone", "changed": "changed", "persists": "persists"}
STATUS_ORDER = {status: i for i, status in enumerate(STATUS_WORDS)}


def _num(x: Any, digits: int = 3) -> str:
    return "—" if not isinstance(x, (int, float)) or isinstance(x, bool) else f"{x:.{digits}g}"


def _signed(x: Any) -> str:
    return "—" if not isinstance(x, (int, float)) or isinstance(x, bool) else f"{x:+.4g}"


def _side(side: Mapping[str, Any] | None) -> str:
    if not side:
        return "—"
    text = f"{side.get('id') or ''} effect {_num(side.get('value'))}".strip()
    if side.get("q_value") is not None:
        text += f", q = {_num(side.get('q_value'), 2)}"
    return text


def _change(change: Mapping[str, Any] | None) -> str:
    """A new finding's paired change test, in words: its counts before and after, the change with its CI, q."""
    if not change:
        return "—"
    q = change.get("q_value")
    refits = change.get("refit_counts")
    other_fits = ""
    if refits:  # a retrained model's finding: where other fits of the source's recipe put the group (mitigate)
        other_fits = (f"; {len(refits)} other fits of the source: {min(refits)} to {max(refits)}, median "
                      f"{_num(float(sorted(refits)[len(refits) // 2]))}")
    return (f"{change.get('before')} → {change.get('after')} of the top {change.get('k')} "
            f"({_signed(change.get('value'))}, 95% CI {_signed(change.get('ci_low'))} to {_signed(change.get('ci_high'))}"
            f"{other_fits}{'' if q is None else f', q = {_num(q, 2)}'})")


def _items(entries: list[Mapping[str, Any]], caption: str) -> Safe:
    ordered = sorted(entries, key=lambda e: STATUS_ORDER.get(e["status"], len(STATUS_ORDER)))
    if not ordered:
        return tag("p", "None in either run.")
    tested = any(e.get("change") for e in ordered)
    rows = [[tag("strong", STATUS_WORDS.get(e["status"], e["status"])), e.get("title") or "", e.get("category") or "",
             _side(e.get("base")), _side(e.get("new"))] + ([_change(e.get("change"))] if tested else [])
            for e in ordered]
    header = ["status", "title", "category", "baseline", "new"] + (["change since the baseline (paired test)"]
                                                                     if tested else [])
    return table(header, rows, caption=caption, row_classes=[f"status-{e['status']}" for e in ordered])


def _metrics(metrics: list[Mapping[str, Any]]) -> Safe:
    changed = [m for m in metrics if isinstance(m.get("value"), (int, float)) and m["value"] != 0]
    changed.sort(key=lambda m: -abs(m["value"]))
    rows = []
    for m in changed[:MAX_METRIC_ROWS]:
        ci = (f"{_signed(m['ci_low'])} to {_signed(m['ci_high'])}" if m.get("ci_low") is not None
              else (m.get("note") or "—"))
        rows.append([tag("code", m["path"]), _num(m.get("base"), 4), _num(m.get("new"), 4), _signed(m["value"]), ci])
    intro = tag("p", f"The {min(len(changed), MAX_METRIC_ROWS)} largest of {len(changed)} changed metrics "
                     f"({len(metrics)} compared; every one is in comparison.json).")
    return join([intro, table(["metric", "baseline", "new", "change", "95% CI of the change"], rows,
                              numeric=(1, 2, 3))]) if rows else tag("p", "No metric changed.")


def render_comparison(comparison: Mapping[str, Any]) -> str:
    """The HTML page of a comparison (see the module docstring)."""
    base, new, summary = comparison["base"], comparison["new"], comparison["summary"]
    counts = summary["findings"]
    head = join([
        tag("h1", "Comparison of two audits"),
        table(["", "baseline", "new"], [
            ["results", base.get("name"), new.get("name")],
            ["model", base.get("model"), new.get("model")],
            ["dataset", base.get("dataset"), new.get("dataset")],
            ["items audited", base.get("n"), new.get("n")],
            ["verdict", base.get("verdict"), new.get("verdict")],
            ["findings", base.get("findings_count"), new.get("findings_count")],
        ]),
        tag("p", f"Findings: {counts['new']} new, {counts.get('crossed', 0)} over the bar (flagged now, but their "
                 f"change is not significant), {counts['gone']} gone, {counts['changed']} changed, "
                 f"{counts['persists']} persist. Causes: {summary['causes']['new']} new, "
                 f"{summary['causes']['gone']} gone, {summary['causes']['changed']} changed."),
    ])
    body = join([
        tag("section", head, id="summary"),
        tag("section", join([tag("h2", "Findings"), _items(comparison["findings"], "Findings by status")]),
            id="findings"),
        tag("section", join([tag("h2", "Causes"), _items(comparison["causes"], "Causes by status")]), id="causes"),
        tag("section", join([tag("h2", "Metrics"), _metrics(comparison["metrics"]),
                             tag("p", "CIs of a change come from both runs' counts where they carry them "
                                      "(docs/compare.md); a metric without counts shows its change alone.")]),
            id="metrics"),
    ])
    toc = [("summary", "Summary"), ("findings", "Findings"), ("causes", "Causes"), ("metrics", "Metrics")]
    return page(title=f"tinyemo-audit comparison: {base.get('model')} → {new.get('model')}", toc=toc,
                body=str(body), scripts=[], css=asset("report.css"),
                run_meta={"comparison_version": comparison.get("comparison_version")}, chart_config=None)


__all__ = ["render_comparison"]
