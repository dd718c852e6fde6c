"""The verdict of an audit: what was found, how sure, how big in outcomes people feel, and what to do next.

Statuses, in order of precedence:

* ``gate-failed`` — a gate of ``--gates`` failed (exit 1);
* ``untested`` — no protected attribute with two usable groups: nothing was compared, so the
  audit can say nothing about bias between groups (never a clean bill);
* ``biased`` — at least one decision cause (what the classifier outputs changes with the group);
* ``metric-space-only`` — no decision cause, but metric-space properties (where embeddings sit);
* ``no-flag`` — nothing passed the flag rule.

The headline counts causes, not findings: one effect seen by three probes is one bias.
"""

from __future__ import annotations

from typing import Any

from ..schema.results import BIASED, GATE_FAILED, METRIC_SPACE_ONLY, NO_FLAG, UNTESTED
from . import _rules
from ._findings import _fmt_q, probe_records
NOTHING_COMPARED = (
    "Nothing was compared: the audited data have no protected attribute with two usable groups, so no "
    "group could be tested for bias. This is not a clean bill of health."
)
NO_ATTRIBUTES_WHAT = "every group comparison (disparities, counterfactual twins, association, skew, clusters by group)"
NO_ATTRIBUTES_WHY = "the audited data have no protected attribute with at least two groups"
ADD_ATTRIBUTES = (
    "Give the audit protected attributes to compare: a CSV manifest (`--dataset csv:manifest.csv`) with one "
    "column per attribute (e.g. skin tone, gender, age), at least two groups each and, for a flag to be "
    "possible, min_group_size items per group; then re-run."
)
KEEP_GATES = (
    "Keep the strict gates in CI (`--gates configs/gates/strict.yaml`) so that the next model is held to the "
    "same bars."
)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _untested(run: dict[str, Any]) -> list[dict[str, str]]:
    """What could not be tested, from ``run.skipped`` (and the missing attributes themselves)."""
    out = [{"what": s["probe"], "why": s["reason"]} for s in run.get("skipped") or []]
    if not run.get("protected_attributes"):
        out.insert(0, {"what": NO_ATTRIBUTES_WHAT, "why": NO_ATTRIBUTES_WHY})
    return out


def _cause_sentence(cause: dict[str, Any]) -> str:
    kind = "decision bias" if cause["category"] == _rules.DECISION else "metric-space property"
    return (f"{cause['id']} ({kind}): {cause['title']} — {cause['outcome']['text']}; q = {_fmt_q(cause['q_value'])}; "
            f"seen by {', '.join(cause['probes'])}.")


def _headline(status_core: str, causes: list[dict[str, Any]], run: dict[str, Any], n_tests: int,
              untested: list[dict[str, str]]) -> str:
    decision = [c for c in causes if c["category"] == _rules.DECISION]
    space = [c for c in causes if c["category"] == _rules.METRIC_SPACE]
    if status_core == UNTESTED:
        extra = (f" {_plural(len(space), 'metric-space property was', 'metric-space properties were')} found in "
                 "the label space." if space else "")
        return NOTHING_COMPARED + extra
    if status_core == BIASED:
        top = decision[0]
        also = f" and {_plural(len(space), 'metric-space property', 'metric-space properties')}" if space else ""
        return (f"{_plural(len(decision), 'decision bias', 'decision biases')} found{also}. Most severe: "
                f"{top['title']} — {top['outcome']['text']} (q = {_fmt_q(top['q_value'])}).")
    if status_core == METRIC_SPACE_ONLY:
        return (f"No decision bias was flagged; {_plural(len(space), 'metric-space property', 'metric-space properties')}"
                f" found (where embeddings sit, not what the classifier outputs). Most notable: {space[0]['title']}.")
    attributes = ", ".join(run.get("protected_attributes") or [])
    text = (f"No bias was flagged: none of the {n_tests} tests over {attributes} passed both the significance "
            f"(q < {run.get('q_max', 0.05):g}) and the effect-size bar.")
    if untested:
        text += f" Not tested: {'; '.join(u['what'] for u in untested)}."
    return text


def verdict(results: dict[str, Any], causes: list[dict[str, Any]], gate_status: str | None) -> dict[str, Any]:
    """``results.verdict`` (docs/results-schema.md) from the run block, findings, causes and gate status."""
    run = results.get("run") or {}
    findings = results.get("findings") or []
    n_tests = sum(1 for _, r in probe_records(results) if r.get("q_value") is not None)
    untested = _untested(run)
    decision = [c for c in causes if c["category"] == _rules.DECISION]
    space = [c for c in causes if c["category"] == _rules.METRIC_SPACE]
    if not run.get("protected_attributes"):
        core = UNTESTED
    elif decision:
        core = BIASED
    elif space:
        core = METRIC_SPACE_ONLY
    else:
        core = NO_FLAG
    headline = _headline(core, causes, run, n_tests, untested)
    status = core
    if gate_status == "failed":
        status = GATE_FAILED
        headline = "A gate failed. " + headline
    if core == UNTESTED:
        steps = [ADD_ATTRIBUTES]
    elif causes:
        steps = [f"{c['id']}: {c['next_steps'][0]}" for c in decision] or [f"{space[0]['id']}: {space[0]['next_steps'][0]}"]
    else:
        steps = [KEEP_GATES]
    return {
        "status": status, "headline": headline, "n_findings": len(findings),
        "n_causes": len(causes), "n_decision_causes": len(decision), "n_metric_space_causes": len(space),
        "n_tests": n_tests,
        "summary": " ".join(_cause_sentence(c) for c in causes),
        "untested": untested, "next_steps": steps,
    }

