"""Two audits compared: which findings and causes are new, gone or changed, and every metric's change.

:func:`compare_results` works on two results dicts (read from results.json, or still in memory),
so that anything that produces a before and an after (``compare``, gates relative to a baseline,
a mitigation's before/after) shares it. Its output is plain data (comparison schema
:data:`COMPARISON_VERSION`, docs/compare.md); :mod:`._html` renders it.

**Matching.** A finding is the same finding in both runs when it is of the same kind, about the
same attribute and groups, in the same direction, with the same title (titles carry no numbers,
except an error cluster's, which is matched by its over-represented groups instead: cluster
numbers and names differ between runs). A cause is matched by category, attribute, groups and
direction. A matched finding has **changed** when its effect moved out of the baseline's 95 % CI
(or, without a CI, by more than :data:`CHANGED_SHARE` of the baseline's effect) or its severity by
at least :data:`CHANGED_SEVERITY`; otherwise it **persists**.

**New, or over the bar.** A finding flagged in the new run only is **new**, unless the caller can
test the change of its metric between the two runs and the change is not significant: it then
**crossed** the bar (it was under it before, by a margin the runs cannot tell apart); a new
cause whose findings have all crossed has crossed too. The test
comes from the caller (``change_test``: a paired test needs both models' per-item scores, which
results.json does not keep; ``mitigate`` has them for retrieval skew). The p-values of every tested
finding go through one Benjamini–Hochberg correction at ``q_max``; a finding no test covers stays new.

**Comparable runs.** Both must be results of the same schema version and of the same dataset
(``run.dataset``); otherwise :func:`check_comparable` raises an InputError (exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InputError
from ..metrics import benjamini_hochberg
from ..user_text import shown
from ._metrics import metric_changes

COMPARISON_VERSION = "1.1"
CHANGED_SHARE = 0.10
CHANGED_SEVERITY = 0.05
MSG_SCHEMA = ("{base} is results schema {base_version} but {new} is {new_version}; compare runs written by the "
              "same schema version (re-run the older audit)")
MSG_DATASET = ("{base} audits dataset {base_dataset} but {new} audits {new_dataset}; a comparison needs the same "
               "data under both models")
NEW, CROSSED, GONE, CHANGED, PERSISTS = "new", "crossed", "gone", "changed", "persists"
STATUSES = (NEW, CROSSED, GONE, CHANGED, PERSISTS)
ChangeTest = Callable[[Mapping[str, Any]], "dict[str, Any] | None"]


def _run(results: Mapping[str, Any]) -> Mapping[str, Any]:
    run = results.get("run")
    return run if isinstance(run, Mapping) else {}


def check_comparable(base: Mapping[str, Any], new: Mapping[str, Any], *, base_name: str = "the baseline",
                     new_name: str = "the new run") -> None:
    """Refuse (InputError, exit 2) two results of different schema versions or datasets."""
    if str(base.get("schema_version")) != str(new.get("schema_version")):
        raise InputError(MSG_SCHEMA.format(base=base_name, new=new_name, base_version=shown(base.get("schema_version")),
                                           new_version=shown(new.get("schema_version"))))
    if _run(base).get("dataset") != _run(new).get("dataset"):
        raise InputError(MSG_DATASET.format(base=base_name, new=new_name, base_dataset=shown(_run(base).get("dataset")),
                                            new_dataset=shown(_run(new).get("dataset"))))


def finding_key(finding: Mapping[str, Any]) -> tuple:
    """What makes a finding the same finding in two runs (see the module docstring)."""
    groups = tuple(finding.get("groups") or ())
    if finding.get("kind") == "cluster":
        return ("cluster", tuple(sorted(groups)), finding.get("direction"))
    return (finding.get("kind"), finding.get("attribute"), groups, finding.get("direction"), finding.get("title"))


def cause_key(cause: Mapping[str, Any]) -> tuple:
    """What makes a cause the same cause in two runs."""
    return (cause.get("category"), cause.get("attribute"), tuple(cause.get("groups") or ()), cause.get("direction"))


def _side(item: Mapping[str, Any]) -> dict[str, Any]:
    evidence = item.get("evidence") or {}
    return {"id": item.get("id"), "title": item.get("title"), "severity": item.get("severity"),
            "value": evidence.get("value"), "ci_low": evidence.get("ci_low"), "ci_high": evidence.get("ci_high"),
            "q_value": evidence.get("q_value", item.get("q_value")),
            "outcome": (item.get("outcome") or {}).get("text")}


def _changed(base: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    b, n = _side(base), _side(new)
    if isinstance(b["severity"], (int, float)) and isinstance(n["severity"], (int, float)) \
            and abs(n["severity"] - b["severity"]) >= CHANGED_SEVERITY:
        return True
    if not isinstance(b["value"], (int, float)) or not isinstance(n["value"], (int, float)):
        return False
    if isinstance(b["ci_low"], (int, float)) and isinstance(b["ci_high"], (int, float)):
        return not b["ci_low"] <= n["value"] <= b["ci_high"]
    return abs(n["value"] - b["value"]) > CHANGED_SHARE * abs(b["value"])


def _diff_items(base_items, new_items, key) -> list[dict[str, Any]]:
    """Every item of either run with its status: new, gone, changed or persists (new run's order, then gone)."""
    before = {}
    for item in base_items or []:
        before.setdefault(key(item), item)
    seen, out = set(), []
    for item in new_items or []:
        k = key(item)
        if k in seen:
            continue
        seen.add(k)
        old = before.get(k)
        status = NEW if old is None else (CHANGED if _changed(old, item) else PERSISTS)
        out.append(_entry(status, item, old))
    out.extend(_entry(GONE, None, item) for k, item in before.items() if k not in seen)
    return out


def _entry(status: str, new: Mapping[str, Any] | None, base: Mapping[str, Any] | None) -> dict[str, Any]:
    either = new if new is not None else base
    return {"status": status, "kind": either.get("kind"), "category": either.get("category"),
            "title": either.get("title"), "attribute": either.get("attribute"), "groups": either.get("groups"),
            "direction": either.get("direction"),
            "base": None if base is None else _side(base), "new": None if new is None else _side(new)}


def _counts(entries: list[dict[str, Any]]) -> dict[str, int]:
    return {status: sum(e["status"] == status for e in entries) for status in STATUSES}


def _test_new(entries: list[dict[str, Any]], new_items, change_test: ChangeTest | None, q_max: float) -> None:
    """Each new finding's ``change`` (the caller's test, BH-corrected over all tested ones); untested ones stay new.

    A new finding whose change is not significant (q above ``q_max``) becomes ``crossed``.
    """
    for entry in entries:
        entry["change"] = None
    if change_test is None:
        return
    by_key = {}
    for item in new_items or []:
        by_key.setdefault(finding_key(item), item)
    tested = []
    for entry in entries:
        if entry["status"] == NEW:
            result = change_test(by_key[finding_key(entry)])
            if result is not None:
                entry["change"] = dict(result)
                tested.append(entry)
    if not tested:
        return
    _, q = benjamini_hochberg([e["change"]["p_value"] for e in tested], q_max)
    for entry, q_value in zip(tested, q):
        entry["change"]["q_value"] = None if math.isnan(q_value) else float(q_value)
        if q_value > q_max:  # a NaN q (an untestable change) stays new
            entry["status"] = CROSSED


def _cross_causes(causes: list[dict[str, Any]], new_causes, findings: list[dict[str, Any]]) -> None:
    """A new cause all of whose findings are over the bar is over the bar itself (its evidence is theirs)."""
    crossed = {e["new"]["id"] for e in findings if e["status"] == CROSSED}
    if not crossed:
        return
    by_key = {}
    for cause in new_causes or []:
        by_key.setdefault(cause_key(cause), cause)
    for entry in causes:
        if entry["status"] == NEW:
            ids = by_key[cause_key(entry)].get("finding_ids") or ()
            if ids and set(ids) <= crossed:
                entry["status"] = CROSSED


def _about(results: Mapping[str, Any], name: str) -> dict[str, Any]:
    run, verdict = _run(results), results.get("verdict") or {}
    return {"name": name, "schema_version": results.get("schema_version"), "dataset": run.get("dataset"),
            "model": run.get("model"), "n": run.get("n"), "seed": run.get("seed"), "tool_version": run.get("tool_version"),
            "verdict": verdict.get("status"), "headline": verdict.get("headline"),
            "findings_count": results.get("findings_count")}


def compare_results(base: Mapping[str, Any], new: Mapping[str, Any], *, base_name: str = "baseline",
                    new_name: str = "new", seed: int = 0, change_test: ChangeTest | None = None,
                    q_max: float = 0.05) -> dict[str, Any]:
    """Compare two audits (parsed results.json): findings, causes and every metric.

    Parameters
    ----------
    base, new : Mapping
        The baseline run's and the new run's results.
    base_name, new_name : str
        How the comparison names them (file paths, or "before"/"after").
    seed : int
        Seed of the CIs' bootstrap draws.
    change_test : callable, optional
        Given a finding of the new run that the baseline lacks, a paired test of its metric's change
        (a dict with at least ``p_value``, or None where it cannot test that finding); see the
        module docstring. Without it every such finding is new.
    q_max : float
        The false-discovery rate of the change tests' Benjamini–Hochberg correction.

    Returns
    -------
    dict
        ``{"comparison_version", "base", "new", "summary", "findings": [...], "causes": [...],
        "metrics": [...]}``; see docs/compare.md.

    Raises
    ------
    InputError
        The runs are of different schema versions or datasets.

    Examples
    --------
    >>> run = {"dataset": "faces"}
    >>> f = {"kind": "skew", "attribute": "age", "groups": ["older"], "direction": "near happy", "title": "T",
    ...      "severity": 0.4, "evidence": {"value": 0.5}}
    >>> diff = compare_results({"schema_version": "1.1", "run": run, "findings": [f], "findings_count": 1},
    ...                        {"schema_version": "1.1", "run": run, "findings": [], "findings_count": 0})
    >>> diff["summary"]["findings"], [m["value"] for m in diff["metrics"]]
    ({'new': 0, 'crossed': 0, 'gone': 1, 'changed': 0, 'persists': 0}, [-1.0])
    """
    check_comparable(base, new, base_name=base_name, new_name=new_name)
    findings = _diff_items(base.get("findings"), new.get("findings"), finding_key)
    _test_new(findings, new.get("findings"), change_test, q_max)
    causes = _diff_items(base.get("causes"), new.get("causes"), cause_key)
    _cross_causes(causes, new.get("causes"), findings)
    metrics = metric_changes(base, new, seed=seed)
    with_ci = sum(m["ci_low"] is not None for m in metrics)
    return {
        "comparison_version": COMPARISON_VERSION,
        "base": _about(base, base_name),
        "new": _about(new, new_name),
        "summary": {"findings": _counts(findings), "causes": _counts(causes), "metrics": len(metrics),
                    "metrics_with_ci": with_ci, "seed": seed},
        "findings": findings,
        "causes": causes,
        "metrics": metrics,
    }
