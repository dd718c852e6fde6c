"""open_clip encoders with a tiny randomly initialised architecture: shapes, determinism, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyemo_audit.encoders import resolve_encoder
from tinyemo_audit.encoders.open_clip import OpenClipEncoder, parse_open_clip_spec
from tinyemo_audit.errors import UnknownNameError, UsageError, WeightsUnavailableError

open_clip = pytest.importorskip("open_clip")

TINY_ARCH = "tinyemo-test-vit"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module", autouse=True)
def tiny_arch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("open_clip_configs")
    (folder / f"{TINY_ARCH}.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder / f"{TINY_ARCH}.json")


@pytest.fixture(scope="module")
def encoder():
    return resolve_encoder(f"open_clip:{TINY_ARCH}/random")


def test_features_shape_dtype_and_norm(encoder, make_shapes):
    images = make_shapes(6, seed=0, split="test", size=64).images
    features = encoder.encode_images(images, batch_size=4, progress=False)
    assert encoder.spec == f"open_clip:{TINY_ARCH}/random" and encoder.dim == 32
    assert features.shape == (6, 32) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)


def test_random_weights_are_deterministic_per_spec(encoder, make_shapes):
    images = make_shapes(3, seed=1, split="test", size=40).images
    again = resolve_encoder(f"open_clip:{TINY_ARCH}/none")
    np.testing.assert_array_equal(again.encode_images(images, progress=False),
                                  encoder.encode_images(images, progress=False))
    assert again.fingerprint() == encoder.fingerprint()


def test_preprocessing_matches_open_clip_transform(encoder, make_shapes):
    # Our vectorised resize+crop+normalise against open_clip's own PIL pipeline.
    import torch
    from PIL import Image

    _, _, preprocess = open_clip.create_model_and_transforms(TINY_ARCH, pretrained=None)
    images = make_shapes(4, seed=2, split="test", size=64).images
    with torch.inference_mode():
        reference = encoder.model.encode_image(
            torch.stack([preprocess(Image.fromarray(image)) for image in images]), normalize=True
        ).numpy()
    ours = encoder.encode_images(images, progress=False)
    # Resampling kernels differ slightly between PIL and torch; the features must still agree.
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() > 0.99


def test_checkpoint_path(encoder, tmp_path, make_shapes):
    import torch

    path = tmp_path / "tiny.pt"
    torch.save(encoder.model.state_dict(), path)
    loaded = resolve_encoder(f"open_clip:{TINY_ARCH}/{path}")
    also = resolve_encoder(f"open_clip:{TINY_ARCH}", weights=path)
    images = make_shapes(2, seed=3, split="test").images
    np.testing.assert_allclose(loaded.encode_images(images, progress=False),
                               encoder.encode_images(images, progress=False), atol=1e-6)
    assert loaded.fingerprint() == also.fingerprint()


def test_unknown_architecture_lists_choices():
    with pytest.raises(UnknownNameError, match="unknown open_clip architecture 'ViT-Nope'") as info:
        resolve_encoder("open_clip:ViT-Nope/random")
    message = str(info.value)
    assert "ViT-B-32" in message and "more)" in message and "\n" not in message


def test_unknown_tag_lists_tags():
    with pytest.raises(UnknownNameError, match="laion2b_s34b_b79k"):
        OpenClipEncoder("ViT-B-32", "not-a-tag")


def test_missing_checkpoint_path(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="checkpoint not found"):
        resolve_encoder(f"open_clip:{TINY_ARCH}/{tmp_path / 'absent.pt'}")


def test_hub_tag_offline_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as info:
        resolve_encoder("open_clip:RN50/openai")
    message = str(info.value)
    assert "not on this machine" in message and "\n" not in message


@pytest.mark.parametrize("rest", ["ViT-B-32", "/openai", ""])
def test_malformed_specs(rest):
    with pytest.raises(UsageError, match="open_clip:<arch>/<pretrained-tag-or-path>"):
        parse_open_clip_spec(rest)
