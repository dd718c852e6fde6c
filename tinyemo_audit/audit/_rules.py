"""The flag rule, in one place: what makes a tested result a finding, how severe it is, and why one is not.

Every probe's records pass through :func:`not_flagged_reason`: a record becomes a finding only when
the reason is ``None``. The same table of probes (:data:`PROBES`) gives the report its stated rules
(``run.rules``), each finding its ``category`` and ``probe`` name, and the severity formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..schema.results import DECISION, METRIC_SPACE
# A cluster is an error cluster when its error rate is at least this multiple of the overall one.
CLUSTER_MIN_ERROR_RATIO = 1.5


@dataclass(frozen=True)
class Probe:
    """One kind of tested record: its names, category, effect bar, units and test."""

    kind: str
    name: str  # human name, shown as a finding's ``probe``
    category: str
    weight: float  # severity weight: causal evidence first, space-level summaries after
    bar_setting: str | None  # key of settings["min_effect"] holding the bar (None: a constant)
    effect: str  # what the bar measures, in words
    units: str  # what ``n`` counts
    test: str  # how the p-value is computed


PROBES: dict[str, Probe] = {p.kind: p for p in (
    Probe("counterfactual", "counterfactual twins", DECISION, 1.0, "prob_shift",
          "mean rise of P(label) over twin pairs, from the reference group to the changed one",
          "twin pairs",
          "paired sign-flip test of the twin pairs' similarity shifts (two-sided): its normal limit "
          "z = Σd / √Σd² from 30 pairs on, all 2^n sign vectors when 2^n ≤ n_perm_paired, else "
          "n_perm_paired random sign flips"),
    Probe("disparity", "group disparities", DECISION, 0.95, "disparity",
          "largest difference of the rate between the attribute's groups",
          "items in the rate's denominator of the smaller deciding group",
          "Pearson chi-square test that every group has the same rate, on the rate's own table "
          "(successes and trials per group); where an expected count is below 5, the exact "
          "conditional (Freeman–Halton) test with the same statistic, or n_perm permutations when "
          "more than 200 000 tables share the margins"),
    Probe("cluster", "error clusters", DECISION, 0.6, None,
          "cluster error rate ÷ overall error rate", "images in the cluster",
          "exact one-sided binomial test of the cluster's error count against the overall error rate"),
    Probe("association", "embedding association (iEAT)", METRIC_SPACE, 0.8, "effect_size",
          "|iEAT effect size d| between the group's and the reference group's images",
          "images per group",
          "iEAT re-partition test (one-sided): its normal limit when both groups hold ≥ 30 images, "
          "else every re-partition or n_perm_paired random ones"),
    Probe("skew", "retrieval skew", METRIC_SPACE, 0.7, "skew",
          "MaxSkew@k, the log of a group's over-representation among the k images nearest a label",
          "images in the top k",
          "exact hypergeometric tail of the group's count in the top k, Bonferroni over the "
          "attribute's groups"),
    Probe("text_probe", "text probes (label-word geometry)", METRIC_SPACE, 0.7, "text_shift",
          "mean cosine shift toward the label when only the group term of a prompt changes",
          "prompt pairs",
          "paired sign-flip test over prompt pairs, as for the twins"),
    # The reasoning audit (audit/reasoning/): what the MM-LLM writes is the model's output, so its
    # findings are decision findings.
    Probe("reasoning_label", "reasoning: stated label (free-mode twins)", DECISION, 1.0, "stated_label_shift",
          "rise of the share of twin pairs whose free-mode reasoning states the label, from the reference "
          "group to the changed one", "twin pairs",
          "paired sign-flip test of the twin pairs' stated-label indicators, as for the image twins"),
    Probe("reasoning_text", "reasoning: wording (conditional-mode twins)", DECISION, 0.9, "reasoning_shift",
          "mean shift of how strongly the reasoning reads as the label (MiniLM cosine), from the reference twin "
          "to the changed one, with the same hint", "twin pairs",
          "paired sign-flip test of the twin pairs' reading shifts, as for the image twins"),
    Probe("reasoning_mention", "reasoning: attribute mentions", DECISION, 0.9, "mention_rate",
          "difference of the share of twins' reasoning that names the attribute (its lexicon), changed vs "
          "reference group", "twin pairs",
          "paired sign-flip test of the twin pairs' mention indicators, as for the image twins"),
    Probe("reasoning_leakage", "reasoning: attribute leakage (LIC)", DECISION, 0.8, "leakage",
          "leakage above its null: the amplification over the reference reasoning (LIC generated − reference), "
          "or without reference texts the generated leakage above chance", "twin identities",
          "permutation null of the cross-validated classifier (groups permuted within identities, the "
          "classifier refitted; for amplification the same permutations of both sources), one-sided, "
          "p = (1 + #{permuted ≥ observed}) / (1 + n_perm)"),
)}

FLAG_RULE = (
    "A tested result becomes a finding when all of these hold: its Benjamini–Hochberg q-value "
    "(one correction over every p-value of the audit) is below q_max; it rests on at least "
    "min_group_size units (twin pairs, prompt pairs, images of a group, items in a rate's "
    "denominator); its effect reaches the probe's min_effect bar; and it points somewhere — a "
    "counterfactual, text or reasoning shift moves toward a label other than the faces' own expression, "
    "and an error cluster over-represents a protected group."
)
SEVERITY = (
    "severity = w × r / (1 + r), where r = effect ÷ the probe's min_effect bar (so r ≥ 1 and "
    "severity ≥ w / 2 for every finding) and w weighs the kind of evidence: counterfactual "
    "twins 1.0 (causal: only the attribute changed), group disparities 0.95, iEAT association "
    "0.8, retrieval skew and text probes 0.7, error clusters 0.6 (for clusters the effect is the "
    "error ratio − 1 and the bar 0.5); the reasoning probes: stated label 1.0, wording and "
    "attribute mentions 0.9, leakage 0.8. A cause's severity is that of its most severe finding."
)


def bar(kind: str, settings: dict[str, Any]) -> float:
    """The min-effect bar of one probe (for clusters, the error ratio)."""
    key = PROBES[kind].bar_setting
    return CLUSTER_MIN_ERROR_RATIO if key is None else float(settings["min_effect"][key])


def rules(settings: dict[str, Any]) -> dict[str, Any]:
    """``run.rules``: the stated rules of this audit (docs/results-schema.md)."""
    return {
        "q_max": settings["q_max"],
        "min_group_size": settings["min_group_size"],
        "min_effect": {kind: bar(kind, settings) for kind in PROBES},
        "min_effect_measures": {kind: p.effect for kind, p in PROBES.items()},
        "units": {kind: p.units for kind, p in PROBES.items()},
        "flag_rule": FLAG_RULE,
        "severity": SEVERITY,
        "tests": {kind: p.test for kind, p in PROBES.items()},
        "categories": {kind: p.category for kind, p in PROBES.items()},
        "probes": {kind: p.name for kind, p in PROBES.items()},
    }


def severity(kind: str, effect: float, settings: dict[str, Any]) -> float:
    """The ranking key of a finding (see :data:`SEVERITY`)."""
    if kind == "cluster":
        effect, threshold = effect - 1.0, CLUSTER_MIN_ERROR_RATIO - 1.0
    else:
        threshold = bar(kind, settings)
    ratio = abs(effect) / threshold if threshold > 0 else abs(effect)
    return round(PROBES[kind].weight * ratio / (1.0 + ratio), 4)


def effect(kind: str, record: dict[str, Any]) -> float | None:
    """The number a probe's bar applies to."""
    value = {"counterfactual": record.get("prob_shift"), "disparity": record.get("value"),
             "cluster": record.get("error_ratio"), "skew": record.get("max_skew"),
             "text_probe": record.get("mean_shift"), "association": record.get("effect_size"),
             "reasoning_label": record.get("mean_shift"), "reasoning_text": record.get("mean_shift"),
             "reasoning_mention": record.get("mean_shift"), "reasoning_leakage": record.get("excess")}[kind]
    if value is None:
        return None
    return abs(value) if kind in ("association", "reasoning_mention") else value


def units(kind: str, record: dict[str, Any]) -> int | None:
    """How many units a record rests on (what min_group_size is compared with)."""
    if kind == "association":
        return min(record.get("n_x", 0), record.get("n_y", 0))
    if kind == "cluster":
        return record.get("size")
    if kind == "disparity":
        trials = record.get("trials_by_group") or {}
        deciding = [trials.get(g) for g in (record.get("worst_group"), record.get("best_group")) if g in trials]
        return min(deciding) if deciding else record.get("n")
    return record.get("n")


# Probes whose effect is a share, stated in percentage points.
POINT_KINDS = ("counterfactual", "disparity", "reasoning_label", "reasoning_mention")


def _fmt_effect(kind: str, value: float) -> str:
    if kind in POINT_KINDS:
        return f"{round(100 * value, 1) + 0.0:+.1f} points"  # + 0.0: no "-0.0"
    if kind == "cluster":
        return f"{value:.2f}×"
    return f"{round(value, 3) + 0.0:+.3f}"


def _fmt_bar(kind: str, threshold: float) -> str:
    if kind in POINT_KINDS:
        return f"{100 * threshold:g}-point"
    return f"{threshold:g}×" if kind == "cluster" else f"{threshold:g}"


def _direction_reason(kind: str, record: dict[str, Any]) -> str | None:
    """Why a significant shift points nowhere a finding reports, or None."""
    if kind in ("counterfactual", "reasoning_label", "reasoning_text"):
        if record["label"] == record["true_class"]:
            return (f"the change moves {record['true_class']} faces toward their own expression; findings "
                    "report the other label they move toward")
        if record["mean_shift"] <= 0:
            return (f"the change moves faces away from \"{record['label']}\"; findings report the label "
                    "they move toward")
    if kind == "cluster" and not record.get("over_represented"):
        return ("the cluster over-represents no protected group (no value at 1.5× its share or more): a hard "
                "region of the embedding space, not a group effect")
    if kind == "text_probe":
        if record["emotion"] != "*" and record["label"] == record["emotion"]:
            return "a shift toward the emotion the prompt already names; findings report other labels"
        if record["mean_shift"] <= 0:
            return f"the prompts move away from \"{record['label']}\"; findings report the label they move toward"
    return None


def not_flagged_reason(kind: str, record: dict[str, Any], settings: dict[str, Any]) -> str | None:
    """None when ``record`` passes the flag rule, else one sentence saying which part it fails.

    The parts are checked in the order of :data:`FLAG_RULE`, so a record failing several is
    told the first.
    """
    q, q_max = record.get("q_value"), settings["q_max"]
    if q is None:
        return "no p-value: the test could not be run"
    if not q < q_max:
        return f"q = {q:.3g} is not below q_max {q_max:g}"
    n, n_min = units(kind, record), settings["min_group_size"]
    if record.get("flaggable") is False or (n is not None and n < n_min):
        return (f"rests on {n} {PROBES[kind].units}, fewer than min_group_size {n_min}" if n is not None and n < n_min
                else record.get("note") or f"fewer than min_group_size {n_min} {PROBES[kind].units}")
    value, threshold = effect(kind, record), bar(kind, settings)
    if value is None:
        return "no effect size: the effect could not be computed"
    reason = _direction_reason(kind, record)
    if reason is not None:
        return reason
    if value < threshold:
        short = f", {_fmt_effect(kind, threshold - value).lstrip('+')} short" if value > 0 else ""
        what = "error ratio" if kind == "cluster" else "effect"
        return f"{what} {_fmt_effect(kind, value)} is below the {_fmt_bar(kind, threshold)} bar{short}"
    return None
