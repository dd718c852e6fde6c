"""The schema of results.json (1.x, docs/results-schema.md) as its readers (``report``, ``gate``) rely on it.

Every section a reader walks is typed: a mapping is a mapping, a list of findings is a list of
finding objects, a number is a finite number (or null where the audit could not compute it), a
count is an integer. Keys this version does not know are allowed anywhere (a file from a newer
1.x writer still reads); sections may be absent or null (a probe that was skipped). Finiteness,
integer sizes, nesting depth and file size are enforced while parsing (:mod:`tinyemo_audit._json`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from ..user_text import shown
from ._base import Finite, OpenSection, problem

SUPPORTED_MAJOR = "1"
_VERSION = re.compile(r"\d{1,4}(\.\d{1,4}){0,2}")

Num = Finite | None  # null: the audit could not compute it (docs/results-schema.md)
Probability = Annotated[Finite, Field(ge=0, le=1)] | None

# The closed vocabularies of results.json. The audit's verdict (audit/_verdict.py) and rules
# (audit/_rules.py) write these words; a file holding any other cannot be rendered truthfully.
GATE_FAILED, UNTESTED, BIASED, METRIC_SPACE_ONLY, NO_FLAG = (
    "gate-failed", "untested", "biased", "metric-space-only", "no-flag")
VerdictStatus = Literal["gate-failed", "untested", "biased", "metric-space-only", "no-flag"]
DECISION, METRIC_SPACE = "decision", "metric_space"
Category = Literal["decision", "metric_space"] | None
ReviewStatus = Literal["unreviewed", "confirmed", "rejected"] | None
GateStatus = Literal["PASS", "WARN", "FAIL", "ERROR", "SKIP"]


def _text_or_number(value: Any) -> Any:
    if value is None or isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise problem(f"must be text or a number; got {shown(value)}")


Count = Annotated[int, Field(ge=0)]
Text = str | None


def _major_1(value: Any) -> Any:
    """A version "1", "1.1", ... (a bare integer 1 reads too, as the first readers accepted it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str) and _VERSION.fullmatch(value):
        text = value
    else:
        raise problem(f"must be a version such as \"1.1\"; got {shown(value)}")
    if text.split(".")[0] != SUPPORTED_MAJOR:
        raise problem(f"results schema {shown(value)} is not one this tool reads ({SUPPORTED_MAJOR}.x)")
    return value


class Stat(OpenSection):
    """A statistic: ``{"value", "ci_low", "ci_high", "n"}`` plus test results where a test ran."""

    value: Num = None
    ci_low: Num = None
    ci_high: Num = None
    n: Count | None = None
    p_value: Probability = None
    q_value: Probability = None
    flaggable: bool | None = None
    note: Text = None
    worst_group: Text = None
    best_group: Text = None


Stats = dict[str, Stat | None]
Matrix = list[list[Count]]


class Overall(OpenSection):
    accuracy: Stat | None = None
    per_class: Stats | None = None
    confusion: Matrix | None = None


class GroupPerformance(OpenSection):
    n: Count | None = None
    accuracy: Stat | None = None
    tpr: Stats | None = None
    fpr: Stats | None = None
    selection_rate: Stats | None = None
    confusion: Matrix | None = None


class AttributePerformance(OpenSection):
    groups: dict[str, GroupPerformance] = {}


class Performance(OpenSection):
    overall: Overall | None = None
    by_attribute: dict[str, AttributePerformance] | None = None


class EqualizedOdds(OpenSection):
    value: Num = None
    cls: Text = None


class Disparity(OpenSection):
    accuracy_difference: Stat | None = None
    accuracy_ratio: Stat | None = None
    equalized_odds_difference: EqualizedOdds | None = None
    tpr_difference: Stats | None = None
    fpr_difference: Stats | None = None
    selection_rate_difference: Stats | None = None


class ShiftRow(OpenSection):
    value: Text = None
    reference: Text = None
    label: Text = None
    mean_shift: Num = None
    ci_low: Num = None
    ci_high: Num = None
    p_value: Num = None
    q_value: Num = None
    n: Count | None = None


class Counterfactual(OpenSection):
    values: list[str] = []
    reference: Text = None
    n_identities: Count | None = None
    flip_rate: Stat | None = None
    pairs: Stats | None = None
    transitions: dict[str, Matrix] | None = None
    shifts: list[ShiftRow] | None = None
    kl: Stats | None = None


class TextProbeAttribute(OpenSection):
    terms: dict[str, list[str]] = {}
    shifts: list[ShiftRow] = []


class TextProbes(OpenSection):
    templates: list[str] | None = None
    neutral_templates: list[str] | None = None
    by_attribute: dict[str, TextProbeAttribute] | None = None


class MentionRate(OpenSection):
    count: Count | None = None
    n: Count | None = None
    rate: Probability = None


class ReasoningFree(OpenSection):
    flip_rate: Stat | None = None
    flip_rates: Stats | None = None
    stated: dict[str, dict[str, Count]] | None = None
    n_unparsed: dict[str, Count] | None = None
    shifts: list[ShiftRow] | None = None


class ReasoningConditional(OpenSection):
    reading: Text = None
    identical: dict[str, Count] | None = None
    shifts: list[ShiftRow] | None = None


class ReasoningMentions(OpenSection):
    terms: list[str] | None = None
    rates: dict[str, dict[str, MentionRate]] | None = None
    named: dict[str, dict[str, Count]] | None = None
    shifts: list[ShiftRow] | None = None


class LeakageRecord(Stat):
    """A leakage (LIC) or its amplification: the statistic, its chance level and permutation p-values."""

    chance: Num = None
    excess: Num = None
    null_sd: Num = None
    p_permutation: Probability = None


class ReasoningLeakage(OpenSection):
    classifier: Text = None
    generated: LeakageRecord | None = None
    reference: LeakageRecord | None = None
    amplification: LeakageRecord | None = None


class ReasoningAttribute(OpenSection):
    values: list[str] = []
    reference: Text = None
    n_identities: Count | None = None
    free: ReasoningFree | None = None
    conditional: ReasoningConditional | None = None
    mentions: ReasoningMentions | None = None
    leakage: ReasoningLeakage | None = None


class Reasoning(OpenSection):
    """What the bundle's MM-LLM writes about counterfactual twins (additive within 1.x; docs/results-schema.md)."""

    reading: Text = None
    classifier: Text = None
    settings: dict[str, Any] | None = None
    by_attribute: dict[str, ReasoningAttribute] | None = None


class Association(OpenSection):
    attribute: Text = None
    x_group: Text = None
    y_group: Text = None
    a_set: Text = None
    b_set: Text = None
    a_labels: list[str] = []
    b_labels: list[str] = []
    effect_size: Num = None
    p_value: Num = None
    q_value: Num = None


class SkewRecord(OpenSection):
    max_skew: Num = None
    group: Text = None
    ndkl: Num = None
    p_value: Num = None
    q_value: Num = None
    top_k_shares: dict[str, Num] | None = None


class Skew(OpenSection):
    k: Count | None = None
    by_label: dict[str, dict[str, SkewRecord | None]] | None = None


class Representation(OpenSection):
    n: Count | None = None
    counts: dict[str, Count] | None = None
    shares: dict[str, Num] | None = None


class DatasetBias(OpenSection):
    representation: dict[str, Representation | None] | None = None
    stereotype: dict[str, dict[str, Num] | None] | None = None


class ClusterItem(OpenSection):
    size: Count | None = None
    error_rate: Num = None
    error_ratio: Num = None
    sliceline_score: Num = None
    p_value: Num = None
    q_value: Num = None
    name: Text = None
    over_represented: list[str] | None = None


class Clusters(OpenSection):
    method: Text = None
    params: dict[str, Any] | None = None
    points: dict[str, list[Any] | None] | None = None
    items: list[ClusterItem] | None = None


class Example(OpenSection):
    caption: Text = None
    image: Text = None
    label: Text = None
    true_label: Text = None
    predicted_label: Text = None
    probability: Probability = None
    target: Text = None
    side: Literal["reference", "changed"] | None = None
    pair: int | None = None
    shift: Num = None


class Review(OpenSection):
    status: ReviewStatus = None
    note: Text = None


class Finding(OpenSection):
    """One finding; ``id``, ``kind`` and ``title`` are what every reader names it by."""

    id: str
    kind: str
    title: str
    rank: int | None = None
    severity: Num = None
    summary: Text = None
    attribute: Text = None
    groups: list[str] | None = None
    direction: Text = None
    evidence: dict[str, Any] | None = None
    examples: list[Example] | None = None
    review: Review | None = None
    category: Category = None
    cause_id: Text = None
    probe: Text = None


class CauseGate(OpenSection):
    name: Text = None
    metric: Text = None
    file: Text = None


class Cause(OpenSection):
    id: str
    title: str
    rank: int | None = None
    category: Category = None
    summary: Text = None
    attribute: Text = None
    groups: list[str] | None = None
    direction: Text = None
    severity: Num = None
    finding_ids: list[str] | None = None
    probes: list[str] | None = None
    outcome: dict[str, Any] | None = None
    next_steps: list[str] | None = None
    gate: CauseGate | None = None


class Untested(OpenSection):
    what: Text = None
    why: Text = None


class Verdict(OpenSection):
    status: VerdictStatus
    headline: str
    n_findings: Count | None = None
    n_causes: Count | None = None
    n_decision_causes: Count | None = None
    n_metric_space_causes: Count | None = None
    untested: list[Untested] | None = None
    next_steps: list[str] | None = None


class GateRecord(OpenSection):
    """One gate outcome (``gates_to_json``); files documented with ``name`` and a numeric bound also read."""

    status: GateStatus
    gate: Text = None
    name: Text = None
    path: Text = None
    attribute: Text = None
    observed: Num = None
    bound: Annotated[Any, AfterValidator(_text_or_number)] = None
    details: Text = None
    severity: Text = None
    description: Text = None


class Skipped(OpenSection):
    probe: Text = None
    reason: Text = None
    metrics: list[str] | None = None


class Rules(OpenSection):
    q_max: Num = None
    min_group_size: Count | None = None
    min_effect: dict[str, Num] | None = None
    flag_rule: Text = None
    severity: Text = None
    tests: dict[str, str] | None = None


class Run(OpenSection):
    tool_version: Text = None
    dataset: Text = None
    split: Text = None
    model: Text = None
    model_card: Text = None
    classes: list[str] | None = None
    protected_attributes: list[str] | None = None
    reference_groups: dict[str, str | None] | None = None
    seed: int | None = None
    n: Count | None = None
    n_skipped_items: Count | None = None
    skipped_items: dict[str, Count] | None = None
    n_boot: Count | None = None
    n_perm: Count | None = None
    q_max: Num = None
    min_group_size: Count | None = None
    min_effect: dict[str, Num] | None = None
    labelled: bool | None = None
    skipped: list[Skipped] | None = None
    rules: Rules | None = None


class ResultsFile(OpenSection):
    """A whole results.json (schema 1.x)."""

    schema_version: Annotated[Any, AfterValidator(_major_1)]
    run: Run
    verdict: Verdict | None = None
    findings: list[Finding] | None = None
    causes: list[Cause] | None = None
    findings_count: Count | None = None
    gates: list[GateRecord] | None = None
    performance: Performance | None = None
    disparities: dict[str, Disparity | None] | None = None
    counterfactual: dict[str, Counterfactual | None] | None = None
    reasoning: Reasoning | None = None
    text_probes: TextProbes | None = None
    association: list[Association] | None = None
    skew: Skew | None = None
    dataset_bias: DatasetBias | None = None
    clusters: Clusters | None = None
    methods: dict[str, Any] | None = None


    @model_validator(mode="after")
    def _consistent(self) -> ResultsFile:
        """The parts that restate each other agree, so no reader shows a page that contradicts itself."""
        findings, causes, verdict = self.findings or [], self.causes, self.verdict
        ids = [f.id for f in findings]
        if len(set(ids)) != len(ids):
            raise problem(f"findings: ids must be unique; got {shown(ids)}")
        if self.findings_count is not None and self.findings is not None and self.findings_count != len(findings):
            raise problem(f"findings_count is {self.findings_count} but findings holds {len(findings)}")
        if causes is not None:
            cause_ids = [c.id for c in causes]
            if len(set(cause_ids)) != len(cause_ids):
                raise problem(f"causes: ids must be unique; got {shown(cause_ids)}")
            for cause in causes:
                unknown = sorted(set(cause.finding_ids or []) - set(ids))
                if unknown:
                    raise problem(f"causes: {shown(cause.id)} names findings that do not exist: {shown(unknown)}")
            for finding in findings:
                if finding.cause_id is not None and finding.cause_id not in cause_ids:
                    raise problem(f"findings: {shown(finding.id)} names cause {shown(finding.cause_id)}, "
                                  "which does not exist")
        if verdict is not None:
            _check_verdict(verdict, findings, causes, self.gates, self.run)
        return self


def _check_verdict(verdict: Verdict, findings: list[Finding], causes: list[Cause] | None,
                   gates: list[GateRecord] | None, run: Run) -> None:
    """The verdict's counts and status follow from the findings, causes, gates and run it sums up."""
    if verdict.n_findings is not None and verdict.n_findings != len(findings):
        raise problem(f"verdict.n_findings is {verdict.n_findings} but findings holds {len(findings)}")
    status = verdict.status
    if status == GATE_FAILED and not any(g.status in ("FAIL", "ERROR") for g in gates or []):
        raise problem("verdict.status is 'gate-failed' but no gate record failed")
    if causes is None:  # schema 1.0: findings only
        if status in (NO_FLAG, UNTESTED) and findings:
            raise problem(f"verdict.status is {shown(status)} but findings holds {len(findings)}")
        if status == BIASED and not findings:
            raise problem("verdict.status is 'biased' but findings is empty")
        return
    decision = sum(c.category == DECISION for c in causes)
    space = sum(c.category == METRIC_SPACE for c in causes)
    for key, expected in (("n_causes", len(causes)), ("n_decision_causes", decision),
                          ("n_metric_space_causes", space)):
        stated = getattr(verdict, key)
        if stated is not None and stated != expected:
            raise problem(f"verdict.{key} is {stated} but causes holds {expected}")
    if status == GATE_FAILED:
        return
    if run.protected_attributes == []:
        expected_status = UNTESTED
    else:
        expected_status = BIASED if decision else METRIC_SPACE_ONLY if space else NO_FLAG
    if status != expected_status:
        raise problem(f"verdict.status is {shown(status)} but its causes ({decision} decision, {space} "
                      f"metric-space) make it {shown(expected_status)}")
