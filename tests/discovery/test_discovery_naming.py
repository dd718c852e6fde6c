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
