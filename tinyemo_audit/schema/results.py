"""The schema of results.json (1.x, docs/results-schema.md) as its readers (``report``, ``gate``) rely on it.

Every section a reader walks is typed: a mapping is a mapping, a list of findings is a list of
finding objects, a number is a finite number (or null where the audit could not compute it), a
count is an integer. Keys this version does not know are allowed anywhere (a file from a newer
1.x writer still reads); sections may be absent or null (a probe that was skipped). Finiteness,
integer sizes, nesting depth and file size are enforced while parsing (:mod:`tinyemo_audit._json`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from ..user_text import shown
from ._base import Finite, OpenSection, problem

SUPPORTED_MAJOR = "1"
_VERSION = re.compile(r"\d{1,4}(\.\d{1,4}){0,2}")

Num = Finite | None  # null: the audit could not compute it (docs/results-schema.md)


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
    p_value: Num = None
    q_value: Num = None
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
    probability: Num = None
    target: Text = None
    side: Text = None
    pair: int | None = None
    shift: Num = None


class Review(OpenSection):
    status: Text = None
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
    category: Text = None
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
    category: Text = None
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
    status: str
    headline: str
    n_findings: Count | None = None
    n_causes: Count | None = None
    n_decision_causes: Count | None = None
    n_metric_space_causes: Count | None = None
    untested: list[Untested] | None = None
    next_steps: list[str] | None = None


class GateRecord(OpenSection):
    """One gate outcome (``gates_to_json``); files documented with ``name`` and a numeric bound also read."""

    status: str
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
    text_probes: TextProbes | None = None
    association: list[Association] | None = None
    skew: Skew | None = None
    dataset_bias: DatasetBias | None = None
    clusters: Clusters | None = None
    methods: dict[str, Any] | None = None

