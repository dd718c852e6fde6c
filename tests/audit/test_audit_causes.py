"""Causes: findings grouped by root cause, tested on planted cases (which probes see which effect)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit._causes import CLUSTER_MATCH_SHARE, group_causes
from tinyemo_audit.audit._findings import apply_fdr, rank_findings
from tinyemo_audit.audit.settings import load_settings

from planted_audit import CLASSES, planted_results, skew_record, twin_shift

def _causes(results):
    settings_ = load_settings()
    apply_fdr(results, settings_["q_max"])
    findings = rank_findings(results, settings_)
    causes = group_causes(findings, results, classes=CLASSES, dataset="faces")
    return findings, causes


def _by_title(findings):
    return {f["title"]: f for f in findings}


def test_one_cause_per_effect_seen_by_twins_and_disparities():
    results = planted_results()
    findings, causes = _causes(results)
    titles = _by_title(findings)
    dark = causes[0]
    assert dark["title"] == 'Darker skin pushes neutral faces toward "angry"' and dark["category"] == "decision"
    # The FPR of angry (neutral → angry in the dark group's confusion) and the TPR of neutral (same cell)
    # are the same effect; the twins' "happy toward sad" shift is another one.
    fpr = titles['Darker skin faces are wrongly called "angry" more often']
    tpr = titles['"neutral" is recognised less often on faces with skin tone dark']
    assert set(dark["finding_ids"]) == {titles[dark["title"]]["id"], fpr["id"], tpr["id"]}
    assert dark["probes"] == ["counterfactual twins", "group disparities"]
    assert dark["direction"] == "toward angry (from neutral)"
    sad = titles['Darker skin pushes happy faces toward "sad"']
    assert sad["cause_id"] != dark["id"]
    covered = results["counterfactual"]["skin_group"]["shifts"][1]
    assert covered["not_flagged"] == f"covered by {titles[dark['title']]['id']}, which reports the largest effect of the same comparison"
    feminine = titles['A feminine presentation pushes neutral faces toward "happy"']
    assert feminine["cause_id"] not in (dark["id"], sad["cause_id"])
    assert all(f["cause_id"] for f in findings)
    assert [c["rank"] for c in causes] == list(range(1, len(causes) + 1))
    assert [c["id"] for c in causes] == [f"C{i}" for i in range(1, len(causes) + 1)]
    assert dark["outcome"]["text"].startswith("2 of 60 twin pairs change prediction (1 to angry)")
    assert dark["severity"] == max(f["severity"] for f in findings if f["cause_id"] == dark["id"])


def test_clusters_join_by_over_represented_group_and_their_actual_errors():
    neutral_angry = [("neutral", "angry")] * 3 + [("sad", "neutral")]
    clusters = [
        (0, ["skin_group=dark", "gender=masculine"], neutral_angry),     # joins: dark, 3 of 4 errors the cause's way
        (1, ["skin_group=dark"], [("sad", "neutral")] * 3 + [("neutral", "angry")]),  # dark, but errors go elsewhere
        (2, ["skin_group=light"], neutral_angry),                         # the cause's errors, but not its group
        (3, ["skin_group=light"], [("sad", "neutral")] * 4),              # same as cluster 1's pattern... light
    ]
    findings, causes = _causes(planted_results(clusters))
    cluster_cause = {f["_record"]["id"]: f["cause_id"] for f in findings if f["kind"] == "cluster"}
    dark = causes[0]["id"]
    assert cluster_cause[0] == dark
    assert len({cluster_cause[1], cluster_cause[2], cluster_cause[3], dark}) == 4
    own = next(c for c in causes if c["id"] == cluster_cause[1])
    assert own["category"] == "decision" and own["direction"] == "toward neutral (from sad)"
    cluster0 = next(f for f in findings if f["kind"] == "cluster" and f["_record"]["id"] == 0)
    assert cluster0["evidence"]["n_misclassified"] == 4
    assert cluster0["evidence"]["errors"][0] == {"true": "neutral", "predicted": "angry", "n": 3}


def test_a_cluster_with_half_its_errors_the_causes_way_joins_and_less_does_not():
    half = [("neutral", "angry")] * 2 + [("sad", "neutral"), ("happy", "sad")]
    less = [("neutral", "angry")] * 1 + [("sad", "neutral"), ("happy", "sad"), ("angry", "happy")]
    findings, causes = _causes(planted_results([(0, ["skin_group=dark"], half), (1, ["skin_group=dark"], less)]))
    cause_of = {f["_record"]["id"]: f["cause_id"] for f in findings if f["kind"] == "cluster"}
    assert cause_of[0] == causes[0]["id"] and cause_of[1] != causes[0]["id"]
    mixed = next(c for c in causes if c["id"] == cause_of[1])
    assert mixed["direction"] == "higher error"
    assert CLUSTER_MATCH_SHARE == 0.5


def test_metric_space_findings_join_a_decision_cause_or_group_by_where_a_group_sits():
    skews = {
        "angry": {"skin_group": skew_record("dark")},      # direct: dark sits near the cause's target
        "neutral": {"skin_group": skew_record("light")},   # the other side: dark faces moved away from neutral
        "happy": {"skin_group": skew_record("dark")},      # where dark faces sit: a property of its own
        "fear": {"skin_group": skew_record("dark", skew=0.9)},  # ... the same one
    }
    findings, causes = _causes(planted_results(skews=skews))
    dark = causes[0]
    skew_cause = {f["direction"]: f["cause_id"] for f in findings if f["kind"] == "skew"}
    assert skew_cause["over-represented near angry"] == dark["id"]
    assert skew_cause["over-represented near neutral"] == dark["id"]
    assert "retrieval skew" in dark["probes"] and dark["category"] == "decision"
    space = next(c for c in causes if c["id"] == skew_cause["over-represented near happy"])
    assert skew_cause["over-represented near fear"] == space["id"]
    assert space["category"] == "metric_space" and space["rank"] == len(causes)  # after every decision cause
    assert space["title"] == 'Images with skin tone dark sit nearer "fear", "happy" in the embedding space'
    assert space["direction"] == "sits near fear, happy"
    assert all(f["category"] == "metric_space" for f in findings if f["kind"] == "skew")


def test_every_cause_names_next_steps_and_a_gate_that_fails_on_this_run():
    _, causes = _causes(planted_results(skews={"happy": {"skin_group": skew_record("dark")}}))
    for cause in causes:
        assert len(cause["next_steps"]) >= 2
        assert cause["gate"]["file"] == "configs/gates/strict.yaml" and cause["gate"]["status"] == "FAIL"
    dark = causes[0]
    assert dark["next_steps"][0].startswith("Relabel: ") and "neutral faces with skin tone dark" in dark["next_steps"][0]
    assert any("tinyemo-audit run --dataset faces" in s for s in dark["next_steps"])
    # The FPR gap of angry (8 points, CI 4–12) fails the strict FPR gate (ci_low ≤ 0.05 → FAIL).
    assert dark["gate"]["metric"] in ("disparities.skin_group.fpr_difference.angry",
                                      "disparities.skin_group.tpr_difference.neutral", "findings_count")


def _grouping(order):
    clusters = [(0, ["skin_group=dark"], [("neutral", "angry")] * 3)]
    results = planted_results(clusters, skews={"neutral": {"skin_group": skew_record("light")}})
    shifts = results["counterfactual"]["skin_group"]["shifts"] + [twin_shift("dark", "*", "angry", 0.05),
                                                                   twin_shift("dark", "sad", "happy", 0.0, p=0.9)]
    results["counterfactual"]["skin_group"]["shifts"] = [shifts[i] for i in order]
    findings, causes = _causes(results)
    return [(c["category"], sorted(f["title"] for f in findings if f["cause_id"] == c["id"])) for c in causes]


@settings(max_examples=20, deadline=None)
@given(order=st.permutations(range(5)))
def test_grouping_does_not_depend_on_the_order_of_the_records(order):
    grouping = _grouping(order)
    assert grouping == _grouping(range(5))
    dark = grouping[0][1]
    assert 'Darker skin pushes faces toward "angry"' in dark  # all faces and neutral faces: one effect
    assert 'Darker skin pushes neutral faces toward "angry"' in dark
    assert 'The faces most like "neutral" are over-represented by skin tone light' in dark


def test_private_keys_leave_with_the_causes():
    findings, _ = _causes(planted_results())
    from tinyemo_audit.audit._findings import public

    assert all(not k.startswith("_") for f in findings for k in public(f))


@pytest.mark.parametrize("metric", ["fpr", "tpr"])
def test_a_disparity_without_a_confusion_still_gets_a_cause(metric):
    results = planted_results()
    results["performance"] = None
    results["counterfactual"] = {}
    _, causes = _causes(results)
    assert causes and all(c["category"] == "decision" for c in causes)


def test_every_cause_links_the_mitigation_methods_that_fit_it():
    from tinyemo_audit.audit._causes import MITIGATION_FIT

    _, causes = _causes(planted_results(skews={"happy": {"skin_group": skew_record("dark")}}))
    for cause in causes:
        methods = [m["method"] for m in cause["mitigations"]]
        assert methods, cause["title"]
        for m in cause["mitigations"]:
            assert m["command"].startswith(f"tinyemo-audit mitigate --dataset faces --method {m['method']}")
        assert any("tinyemo-audit mitigate" in s and "docs/mitigation.md" in s for s in cause["next_steps"])
        if cause["category"] == "decision":
            assert "reweigh" in methods or "thresholds" in methods
        else:
            assert set(methods) <= {m for fits in MITIGATION_FIT.values() for m, _ in fits}
    space = next(c for c in causes if c["category"] == "metric_space")
    assert [m["method"] for m in space["mitigations"]] == ["correlation-remover"]


def test_reasoning_next_steps_say_which_mode_the_pairs_were_written_in():
    from tinyemo_audit.audit._causes import _Cause, _reasoning_steps

    cause = _Cause(category="decision", attribute="skin_group", group="dark", sources={"neutral"})
    free = _reasoning_steps(cause, {"id": "F1", "kind": "reasoning_label"})[0]
    conditional = _reasoning_steps(cause, {"id": "F4", "kind": "reasoning_text"})[0]
    assert "no hint" in free and "same hint" not in free  # free mode: the model names the label itself
    assert "same hint" in conditional and conditional.startswith("Read the twin pairs under F4")
