"""Tests of audit/reasoning/_lexicon.py: whole-word matching, and masking that leaves no lexicon word behind."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit.reasoning._lexicon import MASK, matched_terms, mask, mentions

WORD = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
TERM = st.lists(WORD, min_size=1, max_size=2).map(" ".join)
FILLER = st.text(alphabet="abcdefgh -.,'\n", max_size=40)


def test_whole_words_case_and_hyphens():
    texts = ["A PALE face.", "impaled", "paler", "dark-skinned man", "skin-deep", "the skin,", "dark\n  skin"]
    assert mentions(texts, ["pale", "skin", "dark skin"]).tolist() == [True, False, False, False, False, True, True]
    assert mentions(texts, ["dark-skinned"]).tolist() == [False, False, False, True, False, False, False]


def test_matched_terms_in_order_once():
    assert matched_terms("Pale, pale and Dark  Skin", ["dark skin", "pale"]) == ["pale", "dark skin"]


def test_mask_longest_term_first():
    assert mask(["her dark skin and skin"], ["skin", "dark skin"]) == [f"her {MASK} and {MASK}"]
    assert not re.search(r"\w", MASK)  # the classifier, which reads words, never sees the mask


@settings(max_examples=60, deadline=None)
@given(terms=st.lists(TERM, min_size=1, max_size=4), parts=st.lists(st.tuples(FILLER, TERM), max_size=5))
def test_masking_removes_every_lexicon_word(terms, parts):
    text = "".join(f"{filler} {term} " for filler, term in parts)
    (masked,) = mask([text], terms)
    assert not mentions([masked], terms)[0]


@settings(max_examples=60, deadline=None)
@given(terms=st.lists(TERM, min_size=1, max_size=4), before=FILLER, after=FILLER)
def test_a_planted_term_is_found(terms, before, after):
    text = f"{before} {terms[0]} {after}"
    assert mentions([text], terms)[0]
    assert mentions([text.upper()], terms)[0]
