"""Tests of audit/reasoning/_stated.py against hand-computed flip rates and stated-label shifts."""

import numpy as np
import pytest

from tinyemo_audit.audit.reasoning import TwinTexts
from tinyemo_audit.audit.reasoning._stated import NO_LABEL, stated_label_probe
from tinyemo_audit.errors import InputError

from reasoning_audit_fixtures import CLASSES, fast_settings


def _texts(stated, labels=None):
    stated = np.array(stated, dtype=object)
    n = len(stated)
    return TwinTexts("gender", ("masculine", "feminine"), CLASSES, [f"i{i}" for i in range(n)],
                     np.full(n, 2) if labels is None else labels, stated, np.full(stated.shape, "t", dtype=object),
                     np.full(stated.shape, "t", dtype=object))


def test_hand_computed_four_pairs():
    # masculine → feminine: pair 0 neutral→happy, pair 1 neutral→neutral, pair 2 angry→happy, pair 3 None→neutral
    tt = _texts([["neutral", "happy"], ["neutral", "neutral"], ["angry", "happy"], [None, "neutral"]])
    out = stated_label_probe(tt, reference="masculine", settings=fast_settings(), seed=0)
    assert out["flip_rates"]["feminine"]["value"] == 0.75  # 3 of 4 pairs state another label (None counts)
    assert out["flip_rates"]["feminine"]["flips"] == 3
    assert out["stated"] == {"masculine": {"angry": 1, "neutral": 2, NO_LABEL: 1}, "feminine": {"happy": 2, "neutral": 2}}
    assert out["n_unparsed"] == {"masculine": 1, "feminine": 0}
    rows = {r["label"]: r for r in out["shifts"]}
    assert set(rows) == {"angry", "happy", "neutral"}  
    assert rows["neutral"]["mean_shift"] == 0.0  # pair 0 leaves it, pair 3 joins it
    happy = rows["happy"]
    assert happy["mean_shift"] == 0.5 and happy["share_reference"] == 0 and happy["share_value"] == 0.5
    assert happy["n_to_label"] == 2 and happy["n_from_label"] == 0 and happy["n"] == 4
    # Exact sign-flip over 2^4 sign vectors: differences (1, 0, 1, 0); |mean| >= 0.5 when the two
    # non-zero signs agree: 8 of 16.
    assert happy["p_value"] == pytest.approx(8 / 16)
    assert rows["angry"]["mean_shift"] == -0.25
    assert happy["flaggable"] is False  # 4 pairs < min_group_size


def test_labels_not_moved_are_not_tested():
    tt = _texts([["happy", "happy"]] * 5)
    out = stated_label_probe(tt, reference="masculine", settings=fast_settings(), seed=0)
    assert out["shifts"] == [] and out["flip_rate"]["value"] == 0.0


def test_reference_group_is_the_comparison_start():
    tt = _texts([["neutral", "happy"]] * 3)
    rows = stated_label_probe(tt, reference="feminine", settings=fast_settings(), seed=0)["shifts"]
    assert {(r["reference"], r["value"], r["label"], r["mean_shift"]) for r in rows} == {
        ("feminine", "masculine", "happy", -1.0), ("feminine", "masculine", "neutral", 1.0)}


def test_unknown_stated_label_is_refused():
    with pytest.raises(InputError, match="not one of the classes"):
        _texts([["joyful", "happy"]])
