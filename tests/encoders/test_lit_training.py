"""LiT training of faces-mini: the multi-positive loss, augmentation, and a tiny real training run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tinyemo_audit.encoders import FacesMiniConfig, train_faces_mini
from tinyemo_audit.encoders.lit import augment, caption_embeddings, multi_positive_clip_loss
from tinyemo_audit.errors import InputError

TINY = FacesMiniConfig(widths=(8, 16), image_size=32)


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def reference_loss(image, text, ids, scale):
    """Per-row loop: soft cross-entropy with targets uniform over same-caption columns."""
    logits = scale * image @ text.T
    n = len(ids)

    def direction(matrix):
        total = 0.0
        for i in range(n):
            positives = [j for j in range(n) if ids[j] == ids[i]]
            log_probs = matrix[i] - torch.logsumexp(matrix[i], dim=0)
            total += -sum(log_probs[j] for j in positives) / len(positives)
        return total / n

    return (direction(logits) + direction(logits.T)) / 2


def test_multi_positive_loss_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    image = torch.nn.functional.normalize(torch.randn(9, 6, generator=gen), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(9, 6, generator=gen), dim=-1)
    ids = torch.tensor([0, 1, 0, 2, 2, 2, 3, 1, 4])
    text = text[ids]  # equal captions have equal text embeddings, as in training
    got = multi_positive_clip_loss(image, text, ids, torch.tensor(10.0))
    torch.testing.assert_close(got, reference_loss(image, text, ids.tolist(), 10.0))


def test_distinct_captions_reduce_to_the_clip_loss():
    gen = torch.Generator().manual_seed(2)
    image = torch.nn.functional.normalize(torch.randn(7, 5, generator=gen), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(7, 5, generator=gen), dim=-1)
    logits = 20.0 * image @ text.T
    target = torch.arange(7)
    clip = (torch.nn.functional.cross_entropy(logits, target)
            + torch.nn.functional.cross_entropy(logits.T, target)) / 2
    torch.testing.assert_close(multi_positive_clip_loss(image, text, target, torch.tensor(20.0)), clip)


def test_duplicate_captions_are_not_pushed_apart():
    # Two images share caption 0. With multi-positive targets, pulling image 1 onto caption 0
    # lowers the loss; a one-hot CLIP target would call that pair a negative.
    text = torch.eye(3)[[0, 0, 1]]
    ids = torch.tensor([0, 0, 1])
    apart = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 0], [0.6, 0, 0.8], [0, 1.0, 0]]), dim=-1)
    together = torch.eye(3)[[0, 0, 1]]
    scale = torch.tensor(10.0)
    assert multi_positive_clip_loss(together, text, ids, scale) < multi_positive_clip_loss(apart, text, ids, scale)


def test_augment_is_seeded_and_keeps_range():
    pixels = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    a = augment(pixels, torch.Generator().manual_seed(5))
    b = augment(pixels, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert a.shape == pixels.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.allclose(a, pixels)


@pytest.fixture(scope="module")
def trained_twice(shapes_train, shapes_val):
    runs = [
        train_faces_mini(shapes_train, shapes_val, epochs=1, batch_size=32, lr=5e-3, seed=0,
                         progress=False, config=TINY)
        for _ in range(2)
    ]
    return runs


def test_one_epoch_reduces_the_loss(trained_twice):
    _, log = trained_twice[0]
    assert log["epochs"][0]["val_loss"] < log["initial_val_loss"] - 0.1
    assert log["best_epoch"] == 1 and log["n_captions"] == 8
    json.dumps(log)  # the log is plain data


def test_training_is_deterministic_for_a_seed(trained_twice, shapes_val, shapes_train):
    (first, log_a), (second, log_b) = trained_twice
    assert [e["train_loss"] for e in log_a["epochs"]] == [e["train_loss"] for e in log_b["epochs"]]
    np.testing.assert_array_equal(
        first.encode_images(shapes_val.images, progress=False),
        second.encode_images(shapes_val.images, progress=False),
    )
    assert first.fingerprint() == second.fingerprint()
    third, _ = train_faces_mini(shapes_train.subset(np.arange(64)), shapes_val, epochs=1, batch_size=32,
                                seed=1, progress=False, config=TINY)
    assert third.fingerprint() != first.fingerprint()


def test_trained_encoder_features(trained_twice, shapes_val):
    encoder, _ = trained_twice[0]
    features = encoder.encode_images(shapes_val.images, progress=False)
    assert features.shape == (len(shapes_val), 384) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_training_input_errors(shapes_train, shapes_val):
    no_captions = shapes_train.subset(np.arange(10))
    no_captions.meta = {}
    with pytest.raises(InputError, match="meta\\['captions'\\]"):
        train_faces_mini(no_captions, shapes_val, epochs=1, progress=False, config=TINY)
    with pytest.raises(InputError, match="epochs >= 1"):
        train_faces_mini(shapes_train, shapes_val, epochs=0, progress=False, config=TINY)


def test_caption_embeddings_are_cached_and_ordered(monkeypatch):
    captions = np.array(["a long caption about a smiling face", "sad", "a frowning man"])
    first = caption_embeddings(captions)
    assert first.shape == (3, 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)

    def no_text_encoder():
        raise AssertionError("cache miss: MiniLM was called")

    monkeypatch.setattr("tinyemo_audit.text_encoder.minilm_text_encoder", no_text_encoder)
    np.testing.assert_array_equal(caption_embeddings(captions), first)
    monkeypatch.undo()
    # Row i belongs to captions[i], whatever order the length-sorted batches used.
    np.testing.assert_allclose(caption_embeddings(captions[[1]])[0], first[1], atol=1e-5)
