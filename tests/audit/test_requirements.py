"""The probe-needs table and the plan the runner consults before each probe."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit import _requirements
from tinyemo_audit.audit._requirements import NEEDS, AuditFacts, ProbePlan, label_sets_present, unmet
from tinyemo_audit.discovery._discover import MIN_ROWS


def test_doctests():
    assert doctest.testmod(_requirements).failed == 0


def test_discovery_needs_what_discovery_checks():
    assert NEEDS["discovery"].min_rows == MIN_ROWS


def test_every_probe_named_and_its_metrics_listed():
    names = [n.probe for n in NEEDS.values()]
    assert len(set(names)) == len(names)
    assert all(n.metrics for n in NEEDS.values())


def test_no_protected_attribute_skips_every_group_probe_with_why():
    facts = AuditFacts(n=500, labelled=True, labels_present=7, n_classes=7, distinct_embeddings=500)
    plan = ProbePlan(facts)
    ran = {key: plan.runs(key) for key in NEEDS}
    assert ran == {key: not (needs.attributes or needs.twins) for key, needs in NEEDS.items()}
    assert all("no protected attribute" in s["reason"] for s in plan.skipped
               if s["probe"] != NEEDS["counterfactual"].probe)


def test_a_skipped_probe_is_listed_once():
    plan = ProbePlan(AuditFacts(n=3, n_classes=2))
    assert not plan.runs("discovery") and not plan.runs("discovery")
    assert len(plan.skipped) == 1


def test_facts_learned_later_are_used():
    plan = ProbePlan(AuditFacts(n=50, n_classes=3))
    plan.learn(distinct_embeddings=1)
    assert not plan.runs("discovery")
    assert "identical or duplicate features" in plan.skipped[0]["reason"]


def test_label_sets():
    settings_ = {"association_sets": {"negative": ["sad", "angry"], "positive": ["happy"]}}
    assert label_sets_present(settings_, ("happy", "sad"))[0] == ("negative", "positive")
    present, described = label_sets_present(settings_, ("happy",))
    assert present == () and "negative: sad, angry" in described


FACTS = st.builds(
    AuditFacts, n=st.integers(0, 60), labelled=st.booleans(), labels_present=st.integers(0, 8),
    n_classes=st.integers(0, 8), attributes=st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True).map(tuple),
    distinct_embeddings=st.none() | st.integers(0, 60), twins=st.booleans(),
    label_sets=st.sampled_from([(), ("negative", "positive")]), label_space=st.booleans(),
    embeddings=st.booleans(), class_scores=st.booleans(), probabilities=st.booleans(), reasoning=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(facts=FACTS, probe=st.sampled_from(sorted(NEEDS)))
def test_a_probe_runs_exactly_when_every_need_is_met(facts, probe):
    needs = NEEDS[probe]
    met = (facts.n >= needs.min_rows and (facts.labelled or not needs.labels)
           and (not facts.labelled or facts.labels_present >= needs.min_labels_present)
           and facts.n_classes >= needs.min_classes and (bool(facts.attributes) or not needs.attributes)
           and (facts.twins or not needs.twins) and (len(facts.label_sets) == 2 or not needs.label_sets)
           and (facts.distinct_embeddings is None or facts.distinct_embeddings >= needs.min_distinct_embeddings)
           and all(getattr(facts, need) or not getattr(needs, need)
                   for need in ("label_space", "embeddings", "class_scores", "probabilities", "reasoning")))
    reason = unmet(probe, facts)
    assert (reason is None) == met
    if reason is not None:
        assert reason and "\n" not in reason


@pytest.mark.parametrize("n, word", [(1, "was"), (3, "were")])
def test_reason_grammar(n, word):
    assert f"{n} {word} audited" in unmet("discovery", AuditFacts(n=n, n_classes=2))


def test_docs_table_is_the_code_table():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "hostile-inputs.md").read_text(encoding="utf-8")
    assert _requirements.needs_table() in docs
