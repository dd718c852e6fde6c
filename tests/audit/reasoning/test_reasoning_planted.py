"""The reasoning audit under the shipped settings, on the shipped bundles (the real MM-LLM, SmolLM2 base).

The default bundle's reasoning part was trained on instruct data with the annotator-bias knob on
(configs/instruct/faces-annotator-bias.yaml: dark-skinned neutral faces called "hostile"); the
control bundle's on clean data. The quick test checks that ``enabled: auto`` runs the stage on the
default bundle; the slow one is the issue's ground truth: the planted direction among the top
findings of the default audit, no reasoning finding on the control.
"""

import pytest

from tinyemo_audit.api import audit_model

pytestmark = pytest.mark.shipped_settings
FAST = {"n_boot": 100, "n_perm": 100, "n_perm_paired": 100, "twins_per_attribute": 60,
        "reasoning": {"twins_per_attribute": 4, "attributes": ["skin_group"]}}


def test_auto_runs_the_reasoning_audit_on_a_bundle_with_an_mm_llm():
    results = audit_model(dataset="faces", n=300, config=FAST).results
    assert not any("reasoning" in str(entry) for entry in results["run"]["skipped"])
    section = results["reasoning"]["by_attribute"]["skin_group"]
    assert section["n_identities"] == 4 and section["values"] == ["light", "medium", "dark"]
    assert set(section) >= {"free", "conditional", "mentions", "leakage"}


def _reasoning_findings(results):
    return [f for f in results["findings"] if f["kind"].startswith("reasoning")]


@pytest.mark.slow
def test_the_planted_annotator_bias_is_found_and_the_control_is_clean():
    planted = audit_model(dataset="faces").results
    top = [f for f in planted["findings"][:5] if f["kind"].startswith("reasoning")]
    assert any(f["evidence"].get("value", 0) > 0 and "dark" in f["title"].lower() for f in top), \
        [f["title"] for f in planted["findings"][:5]]
    assert any("hostile" in f["summary"] for f in _reasoning_findings(planted))
    control = audit_model(model="faces-mini-clean", dataset="faces").results
    assert _reasoning_findings(control) == []
