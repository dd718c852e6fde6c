"""faces-mini as an Encoder: shapes, dtypes, save/load round trip, fingerprints, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tinyemo_audit.encoders import FacesMiniConfig, FacesMiniEncoder, resolve_encoder
from tinyemo_audit.encoders.faces_mini import build_faces_mini_net
from tinyemo_audit.errors import InputError, UnknownNameError, WeightsUnavailableError

TINY = FacesMiniConfig(widths=(8, 16), embed_dim=24, image_size=32)


@pytest.fixture()
def encoder() -> FacesMiniEncoder:
    torch.manual_seed(0)
    return FacesMiniEncoder(build_faces_mini_net(TINY), TINY)


def test_encode_images_shape_dtype_and_unit_norm(encoder, make_shapes):
    images = make_shapes(10, seed=3, split="test").images
    features = encoder.encode_images(images, batch_size=4, progress=False)
    assert features.shape == (10, 24) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    # Batching must not change the result (eval-mode BatchNorm, no cross-sample state).
    np.testing.assert_allclose(encoder.encode_images(images, batch_size=10, progress=False), features, atol=1e-6)


def test_other_image_sizes_are_resized(encoder, make_shapes):
    features = encoder.encode_images(make_shapes(3, seed=3, split="test", size=48).images, progress=False)
    assert features.shape == (3, 24)


def test_empty_input_gives_empty_features(encoder):
    assert encoder.encode_images(np.zeros((0, 32, 32, 3), np.uint8), progress=False).shape == (0, 24)


@pytest.mark.parametrize("bad", [np.zeros((2, 32, 32, 3), np.float32), np.zeros((2, 32, 32), np.uint8)])
def test_bad_images_raise_input_error(encoder, bad):
    with pytest.raises(InputError, match="uint8 array of shape"):
        encoder.encode_images(bad, progress=False)


def test_save_load_round_trip_gives_identical_features(encoder, make_shapes, tmp_path):
    images = make_shapes(8, seed=4, split="test").images
    path = tmp_path / "enc.safetensors"
    encoder.save(path)
    loaded = FacesMiniEncoder.load(path)
    assert loaded.config == TINY and loaded.dim == 24
    np.testing.assert_array_equal(
        loaded.encode_images(images, progress=False), encoder.encode_images(images, progress=False)
    )
    assert loaded.fingerprint() == encoder.fingerprint()
    assert [p.name for p in tmp_path.iterdir()] == ["enc.safetensors"]  # no temp file left behind
    resolved = resolve_encoder("faces-mini", weights=path)
    assert resolved.spec == "faces-mini" and resolved.fingerprint() == encoder.fingerprint()


def test_fingerprint_depends_on_weights(encoder):
    torch.manual_seed(1)
    other = FacesMiniEncoder(build_faces_mini_net(TINY), TINY)
    assert other.fingerprint() != encoder.fingerprint()
    assert len(encoder.fingerprint()) == 32


def test_load_errors(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="faces-mini weights not found"):
        FacesMiniEncoder.load(tmp_path / "missing.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(InputError, match="not a faces-mini weights file"):
        FacesMiniEncoder.load(foreign)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not safetensors at all")
    with pytest.raises(InputError, match="cannot read"):
        FacesMiniEncoder.load(junk)


def test_resolver_errors():
    with pytest.raises(WeightsUnavailableError, match="needs a weights file") as info:
        resolve_encoder("faces-mini")
    assert "\n" not in str(info.value)
    with pytest.raises(UnknownNameError) as info:
        resolve_encoder("faces-maxi")
    assert "faces-mini" in str(info.value) and "open_clip:<...>" in str(info.value)
