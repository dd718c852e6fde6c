"""Tests for tinyemo_audit.reasoning.model_card: one reasoning section, placed before the limits."""

from __future__ import annotations

from tinyemo_audit.reasoning.model_card import HEADING, with_section

CARD = "# Model card: x\n\n## Training\nstuff\n\n## Intended use and limits\n- limits\n"


def test_section_goes_before_the_limits_and_replaces_itself():
    once = with_section(CARD, f"{HEADING}\nfirst\n")
    assert once.index(HEADING) < once.index("## Intended use and limits")
    twice = with_section(once, f"{HEADING}\nsecond\n")
    assert twice.count(HEADING) == 1 and "second" in twice and "first" not in twice
    assert twice.endswith("- limits\n") and "## Training\nstuff" in twice


def test_a_card_without_limits_gets_the_section_at_the_end():
    out = with_section("# Model card: y\n", f"{HEADING}\nbody\n")
    assert out.rstrip().endswith("body")
