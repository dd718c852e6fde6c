"""Per-cluster scores against hand-computed values: SliceLine, error ratio, composition, skew, over-representation."""

import numpy as np
import pandas as pd
import pytest

from tinyemo_audit.discovery import score_clusters, sliceline_score
from tinyemo_audit.errors import InputError, UsageError


def test_known_answers_with_noise_rows():
    # 40 rows: cluster 0 = rows 0-19, cluster 1 = rows 20-29, noise = rows 30-39.
    cluster_of = np.r_[np.zeros(20), np.ones(10), -np.ones(10)].astype(int)
    errors = np.zeros(40, bool)
    errors[:10] = True   # half of cluster 0
    errors[30:32] = True  # two noise rows
    skin = np.array(["dark"] * 15 + ["light"] * 5 + ["light"] * 10 + ["dark"] * 5 + ["light"] * 5)
    clusters = score_clusters(cluster_of, errors=errors, attributes=pd.DataFrame({"skin": skin}), min_size=15)
    c0, c1 = clusters
    overall = 12 / 40
    assert (c0.size, c1.size) == (20, 10)
    assert c0.error_rate == 0.5 and c1.error_rate == 0.0
    assert c0.error_ratio == pytest.approx(0.5 / overall)
    assert c0.sliceline_score == pytest.approx(0.6 * (0.5 / overall - 1) - 0.4 * (40 / 20 - 1))
    assert c1.sliceline_score == pytest.approx(0.6 * (0 - 1) - 0.4 * (40 / 10 - 1))
    # dark: 20 of 40 overall; 15 of 20 in cluster 0 -> ratio 1.5, support 15 -> over-represented.
    assert c0.attribute_composition == {"skin": {"dark": 0.75, "light": 0.25}}
    assert c0.max_skew["skin"] == ("dark", pytest.approx(np.log(1.5)))
    assert c0.over_represented == ["skin=dark"]
    # light: ratio 2 in cluster 1 but only 10 rows -> support threshold met exactly.
    assert c1.max_skew["skin"] == ("light", pytest.approx(np.log(2.0)))
    assert c1.over_represented == ["skin=light"]
    assert c0.flaggable and not c1.flaggable
    assert c0.name == "" and c0.top_tokens == []


def test_small_support_is_not_over_represented_and_missing_values_count():
    cluster_of = np.r_[np.zeros(9), np.ones(31)].astype(int)
    group = pd.Series(["a"] * 9 + ["b"] * 21 + [None] * 10)
    (c0, c1) = score_clusters(cluster_of, errors=None, attributes=pd.DataFrame({"g": group}))
    assert c0.max_skew["g"][0] == "a" and c0.over_represented == []  # ratio 40/9 but only 9 rows
    assert c1.attribute_composition["g"]["(missing)"] == pytest.approx(10 / 31)
    assert c0.error_rate is None and c0.sliceline_score is None


def test_no_errors_anywhere_gives_ratio_one():
    (c0, c1) = score_clusters(np.r_[np.zeros(5), np.ones(5)].astype(int), errors=np.zeros(10, bool))
    assert c0.error_ratio == 1.0 and c0.sliceline_score == pytest.approx(-0.4)


def test_sliceline_formula_is_vectorised():
    scores = sliceline_score(np.array([0.4, 0.1]), np.array([10, 50]), 0.2, 100)
    np.testing.assert_allclose(scores, [0.6 * 1 - 0.4 * 9, 0.6 * -0.5 - 0.4 * 1])


def test_bad_inputs():
    with pytest.raises(InputError):
        score_clusters(np.zeros(4, int), errors=np.zeros(3, bool))
    with pytest.raises(InputError):
        score_clusters(np.zeros(4, int), errors=np.array([0, 1, 2, 0]))
    with pytest.raises(InputError):
        score_clusters(np.zeros(4, int), attributes=pd.DataFrame({"g": ["a"] * 3}))
    with pytest.raises(UsageError):
        score_clusters(np.zeros(4, int), min_size=0)
