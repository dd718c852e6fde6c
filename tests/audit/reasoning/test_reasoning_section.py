"""Tests of audit/reasoning/_section.py and _findings.py: a planted reasoning bias becomes findings with pairs of texts.

The texts are made by hand (reasoning_audit_fixtures): the dark twin of 12 of 40 neutral identities is
called hostile; the control has no planted word. Everything goes through the audit's one
Benjamini–Hochberg correction, flag rule and cause grouping.
"""

import json

import pytest

from tinyemo_audit.audit import _findings
from tinyemo_audit.audit._causes import group_causes
from tinyemo_audit.audit.reasoning import attach_reasoning_examples, reasoning_section
from tinyemo_audit.schema.results import Reasoning

from reasoning_audit_fixtures import CLASSES, fast_settings, planted_texts, word_reading


def _audit(tt, settings=None, lexicons=None):
    settings = settings or fast_settings()
    if lexicons is not None:
        settings["reasoning"]["lexicons"] = lexicons
    skipped = []
    results = {}
    results["reasoning"], evidence = reasoning_section({tt.attribute: tt}, settings=settings,
                                                       references={tt.attribute: "light"}, seed=0,
                                                       reader=word_reading, skipped=skipped)
    _findings.apply_fdr(results, settings["q_max"])
    findings = _findings.rank_findings(results, settings)
    causes = group_causes(findings, results, classes=list(CLASSES), dataset="faces")
    attach_reasoning_examples(findings, evidence)
    return results, [_findings.public(f) for f in findings], causes, skipped


@pytest.fixture(scope="module")
def planted():
    return _audit(planted_texts(stated_flips=10, mention=8))


def test_every_probe_finds_the_planted_bias(planted):
    results, findings, causes, _ = planted
    kinds = {f["kind"] for f in findings}
    assert kinds == {"reasoning_text", "reasoning_label", "reasoning_mention", "reasoning_leakage"}
    text = next(f for f in findings if f["kind"] == "reasoning_text")
    assert text["direction"] == "toward angry" and text["groups"] == ["light", "dark"]
    assert 'The model wrote "hostile" for 12 of 40 neutral twins with skin tone dark, 0 of 40 with skin tone light.' \
        in text["summary"]
    assert text["outcome"]["word"] == {"word": "hostile", "changed": 12, "reference": 0, "of": 40}
    assert all(f["category"] == "decision" and f["evidence"]["q_value"] < 0.05 for f in findings)
    assert len(causes) == 1 and causes[0]["finding_ids"] == [f["id"] for f in findings]
    assert "train-reasoning" in " ".join(causes[0]["next_steps"])
    Reasoning.model_validate(json.loads(json.dumps(results["reasoning"])))


def test_findings_show_pairs_of_texts(planted):
    _, findings, _, _ = planted
    for finding in findings:
        examples = finding["examples"]
        assert 2 <= len(examples) <= 6 and len(examples) % 2 == 0
        assert [e["side"] for e in examples] == ["reference", "changed"] * (len(examples) // 2)
        assert all(e["text"] for e in examples)
    text = next(f for f in findings if f["kind"] == "reasoning_text")
    assert "hostile" in text["examples"][1]["text"] and "hostile" not in text["examples"][0]["text"]
    label = next(f for f in findings if f["kind"] == "reasoning_label")
    assert [e["stated_label"] for e in label["examples"][:2]] == ["neutral", "angry"]


def test_every_tested_record_has_a_q_value(planted):
    results, _, _, _ = planted
    records = [r for _, r in _findings.probe_records(results)]
    assert records and all("q_value" in r for r in records)


def test_control_without_planted_words_has_no_finding():
    _, findings, causes, _ = _audit(planted_texts(planted=0))
    assert findings == [] and causes == []


def test_generated_control_characters_are_made_visible():
    tt = planted_texts(n=40, planted=12)
    tt.conditional[:12, -1] = [t + " \x1b[2J\u202e" for t in tt.conditional[:12, -1]]
    _, findings, _, _ = _audit(tt)
    shown = [e["text"] for f in findings for e in f["examples"]]
    assert shown and not any("\x1b" in t or "\u202e" in t for t in shown)
    assert any("\\u001B[2J\\u202E" in t for t in shown)


def test_attribute_without_lexicon_is_skipped_with_reason():
    results, _, _, skipped = _audit(planted_texts(attribute="hair", values=("short", "long")), lexicons={})
    entry = results["reasoning"]["by_attribute"]["hair"]
    assert entry["mentions"] is None and entry["leakage"] is None and entry["conditional"]["shifts"]
    assert skipped[0]["reason"] == "no lexicon for the attribute in settings reasoning.lexicons"
    assert skipped[0]["metrics"] == ["reasoning.by_attribute.hair.mentions", "reasoning.by_attribute.hair.leakage"]


def test_small_twin_sets_are_shown_not_flagged():
    results, findings, _, _ = _audit(planted_texts(n=20, planted=12))
    assert findings == []
    rows = results["reasoning"]["by_attribute"]["skin_group"]["conditional"]["shifts"]
    assert rows and all(r["flaggable"] is False for r in rows)
    assert any("min_group_size" in (r.get("not_flagged") or "") for r in rows)


def test_strict_gates_name_reasoning_metrics_and_skip_without_them(planted):
    from tinyemo_audit.gates import evaluate_gates, load_gates

    results, _, _, _ = planted
    doc = {**results, "run": {"protected_attributes": ["skin_group", "gender"]}, "findings_count": 0}
    outcomes = {(o.gate, o.attribute): o.status for o in evaluate_gates(load_gates("strict"), doc)
                if o.gate.startswith("reasoning")}
    assert outcomes == {("reasoning stated-label flips", "skin_group"): "FAIL",
                        ("reasoning stated-label flips", "gender"): "SKIP",
                        ("reasoning leakage amplification", "skin_group"): "FAIL",
                        ("reasoning leakage amplification", "gender"): "SKIP"}
    without = evaluate_gates(load_gates("strict"), {"run": {"protected_attributes": ["skin_group"]},
                                                    "findings_count": 0})
    assert {o.status for o in without if o.gate.startswith("reasoning")} == {"SKIP"}
