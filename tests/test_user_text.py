"""The one sanitiser: no control character survives ``visible``; ``shown`` is bounded and one line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.user_text import CONTROL_CODEPOINTS, SHOWN_LIMIT, has_control, shown, visible

CONTROLS = st.sampled_from([chr(c) for c in CONTROL_CODEPOINTS] + ["\t", "\n"])
HOSTILE_TEXT = st.lists(st.one_of(st.text(max_size=5), CONTROLS), max_size=40).map("".join)


@given(HOSTILE_TEXT)
def test_visible_leaves_no_control_character(text):
    assert not has_control(visible(text, one_line=True))
    assert all(ord(c) not in CONTROL_CODEPOINTS for c in visible(text))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf")), max_size=30))
def test_visible_keeps_ordinary_text(text):
    assert visible(text) == text


@settings(max_examples=200)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HOSTILE_TEXT),
                    lambda kids: st.one_of(st.lists(kids, max_size=30), st.dictionaries(st.text(max_size=3), kids, max_size=30)),
                    max_leaves=200))
def test_shown_is_bounded_and_one_line(value):
    text = shown(value)
    assert len(text) <= SHOWN_LIMIT + 30
    assert "\n" not in text and not has_control(text)


def test_shown_never_formats_a_huge_value():
    assert shown("x" * 10_000_000).endswith("(10000000 characters)")
    assert shown(list(range(10**6))) == "a list of 1000000 entries"
