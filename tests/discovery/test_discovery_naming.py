"""Cluster naming: nearest distinct whole words per centroid, case variants merged, attribute values appended."""

import numpy as np
import pytest

from tinyemo_audit.discovery import Cluster, name_clusters, nearest_tokens
from tinyemo_audit.errors import InputError


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


VOCAB = (
    ["Rage", "rage", "RAGE", "calm", "c4lm", "joy", "sad"],
    _unit([[1, 0.1, 0], [1, 0.2, 0], [1, 0.3, 0], [0, 1, 0], [0, 1, 0], [0, 0.2, 1], [-1, 0, 0]]),
)


def _bare(cid, over=()):
    return Cluster(id=cid, size=2, error_rate=None, error_ratio=None, sliceline_score=None,
                   attribute_composition={}, max_skew={}, over_represented=list(over))


def test_nearest_tokens_merge_case_variants_and_drop_non_words():
    tokens = nearest_tokens(_unit([[1, 0, 0], [0, 1, 0.1]]), VOCAB, 3)
    assert [w for w, _ in tokens[0]] == ["rage", "calm", "joy"]
    assert tokens[0][0][1] == pytest.approx(float(VOCAB[1][0] @ _unit([1, 0, 0])))  # best variant: "Rage"
    assert [w for w, _ in tokens[1]][:2] == ["calm", "joy"]
    assert nearest_tokens(_unit([[1, 0, 0]]), VOCAB, 0) == [[]]


def test_name_clusters_uses_one_centroid_per_cluster_and_attributes():
    embeddings = _unit([[1, 0.05, 0], [1, -0.05, 0], [0, 1, 0], [0, 0.9, 0.1], [-1, 0, 0]])
    cluster_of = np.array([0, 0, 1, 1, -1])
    named = name_clusters([_bare(0, ["skin=dark", "gender=masculine"]), _bare(1)], embeddings, cluster_of,
                          vocabulary=VOCAB, n_top_tokens=4)
    assert named[0].name == "rage · calm · joy — skin=dark, gender=masculine"
    assert len(named[0].top_tokens) == 4
    assert named[1].top_tokens[0][0] == "calm" and "—" not in named[1].name
    plain = name_clusters([_bare(0, ["skin=dark"]), _bare(1)], embeddings, cluster_of, vocabulary=None)
    assert [c.name for c in plain] == ["cluster 0 — skin=dark", "cluster 1"]
    assert plain[0].top_tokens == []


def test_vocabulary_of_the_wrong_dimension_is_refused():
    with pytest.raises(InputError, match="vocabulary"):
        nearest_tokens(_unit([[1, 0]]), VOCAB, 3)
    with pytest.raises(InputError):
        name_clusters([_bare(0)], _unit([[1, 0, 0]]), np.array([0, 0]), vocabulary=VOCAB)


# --- whole words only: the rule, tested over generated vocabularies -------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tinyemo_audit.discovery._naming import naming_dictionary, stop_words, whole_words  # noqa: E402

DICTIONARY = frozenset({"rage", "calm", "joy", "sorrow", "fear", "neutral", "anger", "null", "the", "happy"})
_letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
_word = st.one_of(
    st.sampled_from(sorted(DICTIONARY)),                       # dictionary words (some are stop words)
    _letters,                                                  # mostly fragments: not in the dictionary
    st.sampled_from(sorted(DICTIONARY)).map(str.capitalize),   # case variants of whole words
    st.sampled_from(sorted(DICTIONARY)).map(lambda w: w[:-2]),  # fragments of whole words ("neutr")
    st.text(min_size=1, max_size=6),                           # anything: digits, marks, non-ASCII
)


@settings(max_examples=80, deadline=None)
@given(words=st.lists(_word, min_size=1, max_size=30), seed=st.integers(0, 2**16), n_top=st.integers(1, 6))
def test_names_use_whole_lowercase_words_only(words, seed, n_top):
    rng = np.random.default_rng(seed)
    table = _unit(rng.normal(size=(len(words), 5)) + 1e-3)
    centroids = _unit(rng.normal(size=(3, 5)))
    tokens = nearest_tokens(centroids, (words, table), n_top, dictionary=DICTIONARY)
    allowed = {w.strip().lower() for w in words} & DICTIONARY
    allowed = {w for w in allowed if w not in stop_words() and len(w) >= 3}
    for row, centroid in zip(tokens, centroids):
        names = [w for w, _ in row]
        assert len(names) == len(set(names)) == min(n_top, len(allowed))
        assert set(names) <= allowed  # in the dictionary, lower case, no stop word, no fragment
        if names:  # the first is the best whole word, its score that of its best case variant
            score = {w: max(float(table[i] @ centroid) for i, v in enumerate(words) if v.strip().lower() == w)
                     for w in allowed}
            assert row[0][1] == pytest.approx(max(score.values()), abs=1e-5)
            assert score[names[0]] == pytest.approx(max(score.values()), abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(words=st.lists(_word, max_size=40))
def test_whole_words_is_the_rule(words):
    mask = whole_words(words, DICTIONARY)
    for word, keep in zip(words, mask):
        w = word.strip().lower()
        assert keep == (w in DICTIONARY and w.isascii() and w.isalpha() and len(w) >= 3 and w not in stop_words())


def test_default_dictionary_drops_fragments_stop_words_and_code_literals():
    words = ["neutr", "incred", "the", "null", "true", "neutral", "incredible", "Anger", "fears"]
    assert list(whole_words(words)) == [False, False, False, False, False, True, True, True, True]
    assert "neutral" in naming_dictionary() and "neutr" not in naming_dictionary()
