"""Tests for tinyemo_audit.losses: agreement with per-sample loops and pytorch-metric-learning."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from tinyemo_audit.errors import UnknownNameError, UsageError
from tinyemo_audit.losses import (
    LOSSES,
    cosine_embedding_loss,
    get_loss,
    infonce_loss,
    ntxent_loss,
)

# One shared oracle for tests and the benchmark.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference_losses import (  # noqa: E402
    cosine_reference,
    infonce_reference,
    infonce_tinyemo_reference,
    ntxent_reference,
)

ATOL = 1e-5


def _batch(seed: int, batch: int, dim: int, n_classes: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(batch, dim, generator=g, dtype=dtype)
    text = torch.randn(batch, dim, generator=g, dtype=dtype)
    labels = torch.randint(0, n_classes, (batch,), generator=g)
    return image, text, labels


# Batch compositions: typical, many singletons, two classes, tiny, one sample per class.
RANDOM_CASES = [(seed, b, d, c) for seed in range(6) for (b, d, c) in
                [(32, 16, 8), (24, 8, 20), (17, 5, 2), (3, 4, 2), (9, 12, 9)]]

# Hand-made label patterns with edge cases spelled out.
LABEL_PATTERNS = {
    "all_same": [3, 3, 3, 3, 3],
    "all_different": [0, 1, 2, 3, 4, 5],
    "singletons_and_pairs": [0, 1, 1, 2, 3, 3, 3, 4],
    "one_singleton": [7, 2, 2, 2, 2, 2],
    "single_sample": [1],
    "big_class_first_in_order": [5, 5, 5, 5, 5, 0, 1, 2],
}


def _pattern_batch(name: str, seed: int = 0, dim: int = 6):
    labels = torch.tensor(LABEL_PATTERNS[name])
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(len(labels), dim, generator=g, dtype=torch.float64)
    text = torch.randn(len(labels), dim, generator=g, dtype=torch.float64)
    return image, text, labels


@pytest.mark.parametrize("case", RANDOM_CASES)
def test_losses_match_reference_loops_on_random_batches(case):
    image, text, labels = _batch(*case)
    torch.testing.assert_close(infonce_loss(image, text, labels), infonce_reference(image, text, labels),
                               atol=ATOL, rtol=0)
    torch.testing.assert_close(infonce_loss(image, text, labels, compat="tinyemo"),
                               infonce_tinyemo_reference(image, text, labels), atol=ATOL, rtol=0)
    torch.testing.assert_close(cosine_embedding_loss(image, text, labels),
                               cosine_reference(image, text, labels), atol=ATOL, rtol=0)
    torch.testing.assert_close(ntxent_loss(image, text, labels), ntxent_reference(image, text, labels),
                               atol=ATOL, rtol=0)


@pytest.mark.parametrize("pattern", sorted(LABEL_PATTERNS))
def test_losses_match_reference_loops_on_edge_label_patterns(pattern):
    image, text, labels = _pattern_batch(pattern)
    for temperature in (0.05, 0.1, 1.0):
        torch.testing.assert_close(
            infonce_loss(image, text, labels, temperature=temperature),
            infonce_reference(image, text, labels, temperature=temperature), atol=ATOL, rtol=0)
        torch.testing.assert_close(
            infonce_loss(image, text, labels, temperature=temperature, compat="tinyemo"),
            infonce_tinyemo_reference(image, text, labels, temperature=temperature), atol=ATOL, rtol=0)
        torch.testing.assert_close(
            ntxent_loss(image, text, labels, temperature=temperature),
            ntxent_reference(image, text, labels, temperature=temperature), atol=ATOL, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("seed", range(8))
def test_ntxent_equals_pytorch_metric_learning(seed, dtype):
    from pytorch_metric_learning.losses import NTXentLoss

    pml = NTXentLoss(temperature=0.07)
    for batch, n_classes in [(32, 8), (20, 15), (12, 2), (6, 6)]:
        image, text, labels = _batch(seed, batch, 16, n_classes, dtype=dtype)
        expected = pml(image, labels, ref_emb=text, ref_labels=labels)
        torch.testing.assert_close(ntxent_loss(image, text, labels), expected.to(dtype),
                                   atol=ATOL, rtol=1e-6)


@pytest.mark.parametrize("pattern", sorted(LABEL_PATTERNS))
def test_ntxent_equals_pytorch_metric_learning_on_edge_patterns(pattern):
    from pytorch_metric_learning.losses import NTXentLoss

    image, text, labels = _pattern_batch(pattern, seed=3)
    expected = NTXentLoss(temperature=0.07)(image, labels, ref_emb=text, ref_labels=labels)
    torch.testing.assert_close(ntxent_loss(image, text, labels), torch.as_tensor(expected, dtype=image.dtype),
                               atol=ATOL, rtol=0)


def test_cosine_equals_torch_cosine_embedding_loss_with_positive_targets():
    image, text, labels = _batch(11, 40, 24, 5)
    expected = torch.nn.CosineEmbeddingLoss(margin=0.5)(image, text, torch.ones(40))
    torch.testing.assert_close(cosine_embedding_loss(image, text, labels), expected, atol=ATOL, rtol=0)


def test_infonce_known_value():
    # Two orthonormal labels, images exactly on their labels: s_ii = 1/τ, s_ij = 0.
    text = torch.eye(2, 3, dtype=torch.float64)
    labels = torch.tensor([0, 1])
    expected = -torch.log(torch.exp(torch.tensor(10.0)) / (torch.exp(torch.tensor(10.0)) + 1))
    torch.testing.assert_close(infonce_loss(text, text, labels), expected.double())


def test_tinyemo_compat_differs_from_spec_when_classes_repeat():
    # The authors' numerator also takes negatives, so it must come out lower than the spec's loss.
    image, text, labels = _pattern_batch("big_class_first_in_order", seed=5)
    spec = infonce_loss(image, text, labels)
    compat = infonce_loss(image, text, labels, compat="tinyemo")
    assert float(compat) < float(spec)


def test_tinyemo_compat_skips_anchors_without_partner():
    # With all labels different every anchor is skipped: a zero, unlike the spec's loss.
    image, text, labels = _pattern_batch("all_different")
    assert float(infonce_loss(image, text, labels, compat="tinyemo")) == 0.0
    assert float(infonce_loss(image, text, labels)) > 0.0


@pytest.mark.parametrize("name", ["infonce", "infonce-tinyemo", "cosine", "ntxent"])
@pytest.mark.parametrize("pattern", ["singletons_and_pairs", "all_same", "all_different"])
def test_gradients_are_finite_and_graph_is_kept(name, pattern):
    image, text, labels = _pattern_batch(pattern)
    image.requires_grad_(True)
    text.requires_grad_(True)
    if name == "infonce-tinyemo":
        loss = infonce_loss(image, text, labels, compat="tinyemo")
    else:
        loss = get_loss(name)(image, text, labels)
    assert loss.ndim == 0
    loss.backward()
    assert torch.isfinite(image.grad).all()
    assert torch.isfinite(text.grad).all()


def test_extreme_similarities_stay_finite_in_float32():
    image, text, labels = _batch(2, 64, 8, 4, dtype=torch.float32)
    for fn in (infonce_loss, ntxent_loss):
        value = fn(image, text, labels, temperature=1e-3)
        assert torch.isfinite(value)


def test_registry_and_unknown_names():
    assert set(LOSSES) == {"infonce", "cosine", "ntxent"}
    assert get_loss("ntxent") is ntxent_loss
    with pytest.raises(UnknownNameError, match="cosine, infonce, ntxent"):
        get_loss("triplet")


def test_unknown_compat_mode_lists_choices():
    image, text, labels = _batch(0, 4, 3, 2)
    with pytest.raises(UsageError, match="tinyemo"):
        infonce_loss(image, text, labels, compat="simclr")


@pytest.mark.parametrize(
    "image_shape, text_shape, n_labels",
    [((4, 3), (4, 5), 4), ((4, 3), (4, 3), 3), ((4,), (4,), 4), ((0, 3), (0, 3), 0)],
)
def test_malformed_inputs_raise_usage_error(image_shape, text_shape, n_labels):
    with pytest.raises(UsageError):
        infonce_loss(torch.zeros(image_shape), torch.zeros(text_shape),
                     torch.zeros(n_labels, dtype=torch.long))


def test_non_positive_temperature_is_rejected():
    image, text, labels = _batch(0, 4, 3, 2)
    with pytest.raises(UsageError, match="temperature"):
        ntxent_loss(image, text, labels, temperature=0.0)
