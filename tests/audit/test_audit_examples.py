"""Examples that show a finding's effect: twin pairs ranked by P(target) shift, misclassified cluster members."""

import base64
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit._examples import attach_examples
from tinyemo_audit.audit._thumbnails import MAX_SIDE, thumbnail, thumbnail_size
from tinyemo_audit.audit._twins import TwinPredictions, shift_examples
from tinyemo_audit.data.dataset import Dataset, TwinSet
from tinyemo_audit.model.classifier import Predictions

CLASSES = ("angry", "happy", "neutral")


def _twins(p_angry_ref, p_angry_dark, predicted_dark=None):
    """Neutral identities; P(angry) at light (reference) and dark; prediction neutral unless given."""
    n = len(p_angry_ref)
    prob = np.zeros((n, 2, 3))
    prob[:, 0, 0], prob[:, 1, 0] = p_angry_ref, p_angry_dark
    prob[:, :, 2] = 1 - prob[:, :, 0]
    predicted = np.full((n, 2), 2)
    if predicted_dark is not None:
        predicted[:, 1] = predicted_dark
    images = np.arange(n * 2 * 64 * 64 * 3, dtype=np.int64).reshape(n, 2, 64, 64, 3) % 251
    twins = TwinSet(attribute="skin_group", values=("light", "dark"), classes=CLASSES,
                    images=images.astype(np.uint8), labels=np.full(n, 2), ids=np.array([f"id{i}" for i in range(n)]),
                    attributes=pd.DataFrame(index=range(n)))
    return TwinPredictions(twins=twins, similarities=np.log(prob + 1e-9), probabilities=prob, predicted=predicted)


def test_twin_pairs_ranked_by_shift_with_a_flip_kept():
    tp = _twins([0.01, 0.02, 0.05, 0.01, 0.1], [0.30, 0.50, 0.20, 0.45, 0.12], predicted_dark=[2, 2, 2, 2, 2])
    ranked = shift_examples(tp, "dark", "light", "neutral", "angry", top=3)
    assert [r for r, *_ in ranked] == [1, 3, 0]
    assert [round(s, 2) for *_, s in ranked] == [0.48, 0.44, 0.29]
    flipped = _twins([0.01, 0.02, 0.05, 0.01, 0.1], [0.30, 0.50, 0.20, 0.45, 0.62], predicted_dark=[2, 2, 2, 2, 0])
    # Pair 4 flips to angry but its shift (0.52) is largest anyway; make a small flip to check it is kept.
    small_flip = _twins([0.01, 0.02, 0.05, 0.01, 0.1], [0.30, 0.50, 0.20, 0.45, 0.15], predicted_dark=[2, 2, 2, 2, 0])
    assert shift_examples(flipped, "dark", "light", "neutral", "angry", top=3)[0][0] == 4
    assert [r for r, *_ in shift_examples(small_flip, "dark", "light", "neutral", "angry", top=3)] == [1, 3, 4]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=12))
def test_twin_examples_are_pairs_with_the_target_probability_on_both_sides(pairs):
    ref, dark = zip(*pairs)
    tp = _twins(list(ref), list(dark))
    findings = [{"_example": ("twins", "skin_group", "dark", "light", "neutral", "angry"), "examples": []}]
    attach_examples(findings, data=None, preds=None, twin_predictions={"skin_group": tp})
    examples = findings[0]["examples"]
    moved = sum(d - r > 0 for r, d in pairs) or len(pairs)  # only pairs that moved toward the target, if any did
    assert "_example" not in findings[0] and len(examples) == 2 * min(3, moved)
    shifts = [e["shift"] for e in examples[::2]]
    assert shifts == sorted(shifts, reverse=True)
    if any(d > r for r, d in pairs):
        assert all(s > 0 for s in shifts)  # only pairs that moved toward the target are shown
    for k, (a, b) in enumerate(zip(examples[::2], examples[1::2])):
        assert (a["side"], b["side"], a["pair"], b["pair"]) == ("reference", "changed", k, k)
        assert a["target"] == b["target"] == "angry" and a["true_label"] == b["true_label"] == "neutral"
        assert b["probability"] - a["probability"] == pytest.approx(a["shift"])
        assert a["predicted_label"] == b["predicted_label"] == "neutral"
        assert (a["width"], a["height"]) == (64, 64)


def _dataset_and_predictions():
    n = 12
    labels = np.array([2] * 8 + [0] * 4)
    predicted = labels.copy()
    predicted[[1, 3, 5]] = 0  # misclassified neutral → angry
    confidence = np.linspace(0.4, 0.95, n)
    prob = np.zeros((n, 3))
    prob[np.arange(n), predicted] = confidence
    data = Dataset(name="t", split="test", classes=CLASSES, labels=labels, ids=np.array([f"x{i}" for i in range(n)]),
                   attributes=pd.DataFrame({"skin_group": ["dark"] * 6 + ["light"] * 6}),
                   images=np.zeros((n, 300, 200, 3), dtype=np.uint8))
    preds = Predictions(classes=CLASSES, embeddings=np.zeros((n, 2)), similarities=prob, probabilities=prob,
                        predicted=predicted)
    return data, preds


def test_cluster_examples_are_its_misclassified_members_most_confident_first():
    data, preds = _dataset_and_predictions()
    clusters = {"points": {"item": list(range(12)), "cluster": [0] * 8 + [1] * 4}}
    findings = [{"_example": ("cluster", 0), "examples": []}]
    attach_examples(findings, data=data, preds=preds, twin_predictions={}, clusters=clusters)
    examples = findings[0]["examples"]
    assert [e["id"] for e in examples] == ["x5", "x3", "x1"]
    assert all(e["true_label"] == "neutral" and e["predicted_label"] == "angry" for e in examples)
    assert (examples[0]["height"], examples[0]["width"]) == (100, 66)  # 300×200 reduced by 3 to fit 128


def test_disparity_examples_are_errors_of_the_worst_group():
    data, preds = _dataset_and_predictions()
    findings = [{"_example": ("errors", "skin_group", "dark", "angry", "fpr"), "examples": []}]
    attach_examples(findings, data=data, preds=preds, twin_predictions={})
    assert [e["id"] for e in findings[0]["examples"]] == ["x5", "x3", "x1"]


@settings(max_examples=50, deadline=None)
@given(h=st.integers(1, 700), w=st.integers(1, 700))
def test_thumbnails_keep_native_pixels_or_reduce_by_an_integer(h, w):
    th, tw = thumbnail_size(h, w)
    assert max(th, tw) <= max(MAX_SIDE, 1) or max(h, w) <= MAX_SIDE
    factor = max(1, -(-max(h, w) // MAX_SIDE))
    assert (th, tw) == (max(1, h // factor), max(1, w // factor))
    if max(h, w) <= MAX_SIDE:
        assert (th, tw) == (h, w)


def test_thumbnail_png_has_the_stated_size():
    from PIL import Image

    image = np.random.default_rng(0).integers(0, 255, size=(64, 48, 3), dtype=np.uint8)
    thumb = thumbnail(image)
    png = Image.open(io.BytesIO(base64.b64decode(thumb["image"].split(",", 1)[1])))
    assert png.size == (48, 64) == (thumb["width"], thumb["height"])
    assert np.array_equal(np.asarray(png.convert("RGB")), image)  # native: the same pixels
