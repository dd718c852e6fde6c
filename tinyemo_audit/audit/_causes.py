"""Findings grouped by root cause: one cause per underlying effect, with the probes that support it.

The grouping rule (docs/results-schema.md, "causes"):

* Every finding makes a **claim**: which faces (attribute, group) move toward which label
  (target), from which true expression (source, when known). Counterfactual twins say it
  directly; a disparity reads it from the worst group's confusion matrix (FPR of "angry": the
  true class most often wrongly called angry; TPR of "neutral": what neutral faces are most often
  called instead; accuracy: the largest off-diagonal cell); an error cluster from its own
  misclassified members.
* **Decision** findings (twins, disparities) share a cause when they name the same attribute,
  the same group and the same target label. Sources are listed, not split on.
* An **error cluster** joins a decision cause when it over-represents the cause's group and at
  least half of its misclassified members are errors in the cause's direction (predicted the
  target, from one of its sources); otherwise it starts a cause of its own (which a later
  cluster may join by the same rule).
* A **metric-space** finding (skew, association, text probe) joins a decision cause that names
  its attribute, group and a target it points to — or, for retrieval skew, the other side of the
  same shift: "the faces most like neutral are light-skinned" supports "dark skin pushes neutral
  faces toward angry" (same attribute, another group, the label the cause moves faces away
  from). Otherwise metric-space findings share a cause per (attribute, group): where that
  group's embeddings sit.

A cause is a decision cause when it holds a decision finding. Decision causes rank first, by
their most severe finding; metric-space causes follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import TinyEmoAuditError
from . import _rules
from ._findings import attribute_name

# An error cluster supports a cause when at least this share of its errors go the cause's way.
CLUSTER_MATCH_SHARE = 0.5
GATE_FILE = "configs/gates/strict.yaml"
GATE_SET = "strict"
CATCH_ALL_GATE_PATH = "findings_count"


@dataclass
class _Cause:
    category: str
    attribute: str | None
    group: str | None
    targets: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)  # empty: any expression
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lead(self) -> dict[str, Any]:
        decision = [f for f in self.findings if f["category"] == _rules.DECISION]
        return min(decision or self.findings, key=lambda f: f["rank"])

    @property
    def severity(self) -> float:
        return max(f["severity"] for f in self.findings)


def _off_diagonal_argmax(matrix: list[list[int]], *, row: int | None = None, col: int | None = None):
    """(true, predicted) indices of the largest error cell, within one row or column if given; None if no error."""
    best, where = 0, None
    for t, counts in enumerate(matrix):
        for p, n in enumerate(counts):
            if t == p or (row is not None and t != row) or (col is not None and p != col):
                continue
            if n > best:
                best, where = n, (t, p)
    return where


REASONING_KINDS = ("reasoning_label", "reasoning_text", "reasoning_mention", "reasoning_leakage")


def _decision_claim(finding: dict[str, Any], results: dict[str, Any], classes: list[str]) -> tuple[set, set]:
    """(targets, sources) of a counterfactual, disparity or reasoning finding (mentions and leakage name no label)."""
    record = finding["_record"]
    if finding["kind"] in ("reasoning_mention", "reasoning_leakage"):
        source = record.get("true_class", "*")
        return set(), (set() if source == "*" else {source})
    if finding["kind"] in ("counterfactual", "reasoning_label", "reasoning_text"):
        source = record["true_class"]
        return {record["label"]}, (set() if source == "*" else {source})
    _, attr, worst, cls, metric = finding["_example"]
    groups = ((results.get("performance") or {}).get("by_attribute", {}).get(attr) or {}).get("groups", {})
    confusion = (groups.get(worst) or {}).get("confusion")
    if metric == "selection_rate":
        rates = record.get("by_group") or {}
        higher = (rates.get(worst) or 0.0) > (rates.get(record.get("best_group")) or 0.0)
        return ({cls}, set()) if higher else (set(), {cls})
    if not confusion or cls is not None and cls not in classes:
        return ({cls} if metric == "fpr" else set()), ({cls} if metric == "tpr" else set())
    c = None if cls is None else classes.index(cls)
    cell = _off_diagonal_argmax(confusion, col=c if metric == "fpr" else None, row=c if metric == "tpr" else None)
    if cell is None:
        return ({cls} if metric == "fpr" else set()), ({cls} if metric == "tpr" else set())
    return {classes[cell[1]]}, {classes[cell[0]]}


def _cluster_share(finding: dict[str, Any], cause: _Cause) -> float:
    """Share of a cluster's misclassified members that go the cause's way."""
    cells = finding["evidence"].get("errors") or []
    wrong = finding["evidence"].get("n_misclassified") or 0
    if not wrong or not cause.targets:
        return 0.0
    matching = sum(c["n"] for c in cells
                   if c["predicted"] in cause.targets and (not cause.sources or c["true"] in cause.sources))
    return matching / wrong


def _over_represents(finding: dict[str, Any], cause: _Cause) -> bool:
    return cause.attribute is not None and f"{cause.attribute}={cause.group}" in finding["groups"]


def _cluster_cause(finding: dict[str, Any]) -> _Cause:
    """A cause of its own for a cluster (a cluster finding always over-represents a group: see _rules)."""
    attribute, group = finding["groups"][0].split("=", 1)
    cells = finding["evidence"].get("errors") or []
    wrong = finding["evidence"].get("n_misclassified") or 0
    top = cells[0] if cells else None
    if top is not None and top["n"] >= CLUSTER_MATCH_SHARE * wrong:
        return _Cause(_rules.DECISION, attribute, group, {top["predicted"]}, {top["true"]})
    return _Cause(_rules.DECISION, attribute, group)


def _metric_claim(finding: dict[str, Any]) -> tuple[str, set[str]]:
    """(group, labels it sits near) of a metric-space finding."""
    record = finding["_record"]
    if finding["kind"] == "skew":
        return record["group"], {finding["direction"].removeprefix("over-represented near ")}
    if finding["kind"] == "association":
        return record["x_group"], set(finding["outcome"]["targets"])
    return record["value"], {record["label"]}


def _supports(finding: dict[str, Any], cause: _Cause) -> bool:
    """Whether a metric-space finding supports a decision cause (direct, or the other side of its shift)."""
    if cause.attribute != finding["attribute"] or cause.group is None:
        return False
    group, labels = _metric_claim(finding)
    if group == cause.group:
        return bool(labels & cause.targets)
    return finding["kind"] == "skew" and bool(labels & cause.sources)


def _group(findings: list[dict[str, Any]], results: dict[str, Any], classes: list[str]) -> list[_Cause]:
    decision: list[_Cause] = []
    for finding in findings:
        if finding["kind"] not in ("counterfactual", "disparity", *REASONING_KINDS):
            continue
        targets, sources = _decision_claim(finding, results, classes)
        for cause in decision:
            same = (cause.attribute, cause.group) == (finding["attribute"], finding["groups"][-1])
            # A reasoning finding that names no label (mentions, leakage) joins a reasoning cause of its group.
            if same and (targets & cause.targets if targets else
                         any(f["kind"] in REASONING_KINDS for f in cause.findings)):
                break
        else:
            cause = _Cause(_rules.DECISION, finding["attribute"], finding["groups"][-1], set(targets))
            decision.append(cause)
        cause.sources |= sources
        cause.findings.append(finding)
    for finding in findings:
        if finding["kind"] != "cluster":
            continue
        for cause in decision:
            if _over_represents(finding, cause) and _cluster_share(finding, cause) >= CLUSTER_MATCH_SHARE:
                break
        else:
            cause = _cluster_cause(finding)
            decision.append(cause)
        cause.findings.append(finding)
    space: dict[tuple, _Cause] = {}
    for finding in findings:
        if finding["category"] != _rules.METRIC_SPACE:
            continue
        cause = next((c for c in decision if _supports(finding, c)), None)
        if cause is None:
            group, labels = _metric_claim(finding)
            cause = space.setdefault((finding["attribute"], group),
                                     _Cause(_rules.METRIC_SPACE, finding["attribute"], group))
            cause.targets |= labels
        cause.findings.append(finding)
    ordered = sorted(decision, key=lambda c: (-c.severity, c.lead["rank"]))
    return ordered + sorted(space.values(), key=lambda c: (-c.severity, c.lead["rank"]))


def _strict_outcomes(results: dict[str, Any], n_findings: int) -> list[Any]:
    """The strict gate set evaluated on this run (empty when it cannot be read)."""
    from ..gates import evaluate_gates, load_gates

    try:
        spec = load_gates(GATE_SET)
    except TinyEmoAuditError:
        return []
    return evaluate_gates(spec, {**results, "findings_count": n_findings})


def _gate(cause: _Cause, outcomes: list[Any]) -> dict[str, Any] | None:
    """The strict gate that fails on this cause's evidence: its own metric first, else the findings count."""
    wanted = []
    for f in cause.findings:
        example = f.get("_example") or ()
        if f["kind"] == "counterfactual":
            wanted.append(f"counterfactual.{f['attribute']}.flip_rate")
        elif f["kind"] == "reasoning_leakage":
            wanted.append(f"reasoning.by_attribute.{f['attribute']}.leakage.amplification")
        elif f["kind"] == "reasoning_label":
            wanted.append(f"reasoning.by_attribute.{f['attribute']}.free.flip_rate")
        elif f["kind"] == "disparity":
            _, attr, _, cls, metric = example
            wanted.append(f"disparities.{attr}.accuracy_difference" if metric == "accuracy"
                          else f"disparities.{attr}.{metric}_difference.{cls}")
    by_path = {o.path: o for o in outcomes}
    chosen = next((by_path[p] for p in wanted if p in by_path and by_path[p].status == "FAIL"), None)
    own = next((by_path[p] for p in wanted if p in by_path), None)
    if chosen is None:
        chosen = by_path.get(CATCH_ALL_GATE_PATH)
    if chosen is None:
        return None
    gate = {"name": chosen.gate, "metric": chosen.path, "file": GATE_FILE, "status": chosen.status,
            "observed": chosen.observed, "bound": chosen.bound}
    if own is not None and own is not chosen:
        gate["own_metric"] = {"name": own.gate, "metric": own.path, "status": own.status,
                              "observed": own.observed, "bound": own.bound}
    return gate


def _gate_sentence(gate: dict[str, Any] | None) -> str:
    if gate is None:
        return ""
    status = "fails" if gate["status"] == "FAIL" else f"is {gate['status']}"
    text = (f" On this run the strict gate \"{gate['name']}\" ({gate['metric']}, {gate['file']}) {status} "
            f"({gate['bound']}; observed {gate['observed']:.4g})" if isinstance(gate.get("observed"), (int, float))
            else f" On this run the strict gate \"{gate['name']}\" ({gate['metric']}, {gate['file']}) {status}")
    own = gate.get("own_metric")
    if own is not None and own["status"] != "FAIL":
        text += (f"; the gate on its own metric, \"{own['name']}\" ({own['metric']}), passes, so it alone would "
                 "not catch this")
    return text + "."


def _next_steps(cause: _Cause, gate: dict[str, Any] | None, dataset: str) -> list[str]:
    rerun = (f"Re-audit the retrained bundle: `tinyemo-audit run --dataset {dataset} --model <retrained bundle> "
             f"--gates {GATE_FILE}`.{_gate_sentence(gate)}")
    lead = cause.lead
    if cause.category == _rules.METRIC_SPACE:
        steps = ["No prediction changed: this is where embeddings sit, not what the classifier outputs. Keep it "
                 "in view — a group whose images sit near a label is the first a biased label pushes onto it."]
        kinds = {f["kind"] for f in cause.findings}
        if "skew" in kinds:
            steps.append("If faces are retrieved or ranked by similarity to an emotion, re-rank the top k by group "
                         "or retrain the projector with the groups balanced within each emotion.")
        if "text_probe" in kinds:
            steps.append("It comes from the language model's label words, not the images: prefer label prompts "
                         "without demographic terms, or average several prompts per label.")
        if "association" in kinds:
            steps.append("Retrain the Metric Projector with each emotion balanced across the groups and check "
                         "that the association shrinks.")
        return steps + [rerun]
    attr, group = cause.attribute, cause.group
    target = next(iter(sorted(cause.targets)), None)
    source = next(iter(sorted(cause.sources)), None) if len(cause.sources) == 1 else None
    if lead["kind"] in REASONING_KINDS:
        return _reasoning_steps(cause, lead) + [rerun]
    if lead["kind"] == "cluster":
        wrong = lead["evidence"].get("n_misclassified")
        cell = (lead["evidence"].get("errors") or [None])[0]
        if cell is not None and cell["n"] < CLUSTER_MATCH_SHARE * (wrong or 0):
            cell = None  # no dominant confusion to chase
        steps = [f"Review the {wrong} misclassified faces of this region (examples under {lead['id']}): where the "
                 "label is right, add similar correctly labelled faces to the training data; where it is wrong, "
                 "fix the label."]
        if cell is not None:
            steps.append(f"Check the training labels of {cell['true']} faces"
                         + (f" with {attribute_name(attr)} {group}" if attr else "")
                         + f" for the same confusion ({cell['true']} → {cell['predicted']}).")
        return steps + ["Retrain the Metric Projector on the corrected data (`tinyemo-audit train`).", rerun]
    who = (f"{source} faces" if source else "faces") + (f" with {attribute_name(attr)} {group}" if attr else "")
    reference = lead["groups"][0] if lead["groups"] else None
    steps = []
    if target is not None:
        steps.append(f"Relabel: have a sample of the training items that are {who} and labelled \"{target}\" "
                     f"re-annotated blind to {attribute_name(attr)}, and correct the labels annotators reject — "
                     "this cell is where annotation bias puts such a pattern.")
        steps.append(f"Rebalance: compare how often {who} carry \"{target}\" in the training labels with "
                     + (f"{attribute_name(attr)} {reference}" if reference and reference != group else "other groups")
                     + "; add or up-weight correctly labelled examples until the rates match.")
    else:
        steps.append(f"Rebalance: add or up-weight correctly labelled {who} in the training data.")
    steps.append("Retrain the Metric Projector on the corrected labels (`tinyemo-audit train`); the frozen encoder "
                 "can stay.")
    return steps + [rerun]


def _reasoning_steps(cause: _Cause, lead: dict[str, Any]) -> list[str]:
    """Next steps when what the MM-LLM writes is the lead evidence: its instruct data and its reasoning part."""
    who = (f"{next(iter(cause.sources))} faces" if len(cause.sources) == 1 else "faces") + (
        f" with {attribute_name(cause.attribute)} {cause.group}" if cause.attribute else "")
    # Free mode gives no hint (the model names the label); conditional mode gives both twins the same one.
    given = ("are about the same face with no hint" if lead.get("kind") == "reasoning_label"
             else "explain the same hint for the same face")
    return [
        f"Read the twin pairs under {lead['id']}: the two texts {given}, so the wording that differs comes from "
        "the attribute alone.",
        f"Search the reference reasoning of the instruct data the reasoning part was trained on for the same wording "
        f"about {who} (an annotator-bias knob of `tinyemo-audit instruct build` plants exactly such sentences); "
        "remove or rewrite those sentences and rebuild the instruct data.",
        "Retrain the reasoning part on the corrected data (`tinyemo-audit train-reasoning --model <bundle> --data "
        "<instruct folder>`); the encoder and the Metric Projector can stay.",
    ]


# Why each method fits (docs/mitigation.md); a cause kind may say it in its own terms (MITIGATION_FIT).
_REMOVER = ("correlation-remover", "removes the group's linear trace from the encoder features, then retrain")
_REBALANCE = ("reweigh", "rebalances label and group in the training data, then retrain")
# Which mitigation methods fit a cause, by the probe kinds that support it.
MITIGATION_FIT = {
    "counterfactual": (("reweigh", "annotation bias: weights that make label and group independent, then retrain"),
                       ("thresholds", "per-group decision offsets fitted on validation; reads the attribute at prediction time"),
                       _REMOVER),
    "disparity": (("thresholds", "equalises the group's TPR/FPR of the label on validation; reads the attribute at prediction time"),
                  _REBALANCE),
    "cluster": (_REBALANCE,),
    "skew": (_REMOVER,),
    "association": (_REMOVER,),
    "text_probe": (("prompt-projection", "projects the prompt pairs' bias directions out of the label embeddings; no retraining"),),
}


def _mitigations(cause: _Cause, dataset: str) -> list[dict[str, str]]:
    """The methods of ``tinyemo-audit mitigate`` that fit this cause, each with its command."""
    found: dict[str, str] = {}
    for finding in cause.findings:
        for method, why in MITIGATION_FIT.get(finding["kind"], ()):
            found.setdefault(method, why)
    attribute = f" --attribute {cause.attribute}" if cause.attribute else ""
    return [{"method": m, "why": why, "command": f"tinyemo-audit mitigate --dataset {dataset} --method {m}{attribute}",
             "docs": "docs/mitigation.md"} for m, why in found.items()]


def _mitigation_step(mitigations: list[dict[str, str]]) -> list[str]:
    if not mitigations:
        return []
    names = ", ".join(f"{m['method']} ({m['why']})" for m in mitigations)
    return [f"Mitigate and measure the effect before/after (docs/mitigation.md): {names} — "
            f"`{mitigations[0]['command']}`, or `--method all` for the trade-off of every method."]


def _direction(cause: _Cause) -> str:
    if cause.category == _rules.METRIC_SPACE:
        return "sits near " + ", ".join(sorted(cause.targets))
    if not cause.targets:
        return cause.lead["direction"]
    text = "toward " + ", ".join(sorted(cause.targets))
    return text + (f" (from {next(iter(cause.sources))})" if len(cause.sources) == 1 else "")


def _title(cause: _Cause) -> str:
    if cause.category == _rules.METRIC_SPACE and len(cause.findings) > 1 and cause.attribute:
        labels = ", ".join(f'"{t}"' for t in sorted(cause.targets))
        return (f"Images with {attribute_name(cause.attribute)} {cause.group} sit nearer {labels} in the "
                "embedding space")
    return cause.lead["title"]


def _summary(cause: _Cause) -> str:
    lead = cause.lead
    others = [f for f in cause.findings if f is not lead]
    if not others:
        return lead["summary"]
    by_probe: dict[str, list[str]] = {}
    for f in cause.findings:
        by_probe.setdefault(f["probe"], []).append(f["id"])
    seen = "; ".join(f"{probe} ({', '.join(ids)})" for probe, ids in by_probe.items())
    return f"{lead['summary']} Seen by {len(by_probe)} probe{'s' if len(by_probe) > 1 else ''}: {seen}."


def group_causes(findings: list[dict[str, Any]], results: dict[str, Any], *, classes: list[str],
                 dataset: str) -> list[dict[str, Any]]:
    """The ``causes`` of results.json; sets each finding's ``cause_id`` in place.

    Parameters
    ----------
    findings : list of dict
        From :func:`._findings.rank_findings` (with their private ``_record`` and ``_example``).
    results : dict
        The audit so far (performance confusions, cluster points, the probes' records).
    classes : list of str
        The run's classes, in the order of the confusion matrices.
    dataset : str
        The dataset spec, quoted in the re-audit command of the next steps.
    """
    outcomes = _strict_outcomes(results, len(findings))
    causes = []
    for rank, cause in enumerate(_group(findings, results, classes), start=1):
        cause_id = f"C{rank}"
        cause.findings.sort(key=lambda f: f["rank"])
        for f in cause.findings:
            f["cause_id"] = cause_id
        lead = cause.lead
        gate = _gate(cause, outcomes)
        probes = list(dict.fromkeys(f["probe"] for f in cause.findings))
        causes.append({
            "id": cause_id, "rank": rank, "category": cause.category, "title": _title(cause),
            "summary": _summary(cause), "attribute": cause.attribute,
            # The groups compared (reference first), or the one group a cluster or a metric-space cause is about.
            "groups": lead["groups"] if lead["kind"] in ("counterfactual", "disparity")
            or (len(cause.findings) == 1 and lead["kind"] != "cluster") else [cause.group],
            "direction": _direction(cause), "severity": cause.severity,
            "q_value": min(f["evidence"]["q_value"] for f in cause.findings),
            "finding_ids": [f["id"] for f in cause.findings], "probes": probes,
            "outcome": {**lead["outcome"], "finding_id": lead["id"],
                        "by_finding": {f["id"]: f["outcome"]["text"] for f in cause.findings}},
            "next_steps": _next_steps(cause, gate, dataset) + _mitigation_step(mitigations := _mitigations(cause, dataset)),
            "mitigations": mitigations, "gate": gate,
        })
    return causes

