"""The encoder feature cache: hits skip the encoder, bad files are recomputed, features pass through."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tinyemo_audit.encoders import FacesMiniConfig, FacesMiniEncoder, encode_dataset, feature_cache_path
from tinyemo_audit.encoders.cache import dataset_fingerprint
from tinyemo_audit.encoders.faces_mini import build_faces_mini_net

TINY = FacesMiniConfig(widths=(8, 16), embed_dim=24, image_size=32)


@pytest.fixture()
def spy_encoder(monkeypatch):
    torch.manual_seed(0)
    encoder = FacesMiniEncoder(build_faces_mini_net(TINY), TINY)
    calls = []
    original = encoder.encode_images

    def counting(images, **kwargs):
        calls.append(len(images))
        return original(images, **kwargs)

    monkeypatch.setattr(encoder, "encode_images", counting)
    encoder.calls = calls
    return encoder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))


def test_second_call_is_a_cache_hit(spy_encoder, shapes_val, tmp_path):
    first = encode_dataset(spy_encoder, shapes_val, progress=False)
    second = encode_dataset(spy_encoder, shapes_val, progress=False)
    assert spy_encoder.calls == [len(shapes_val)]
    path = feature_cache_path(spy_encoder, shapes_val)
    assert path.parent.parent == tmp_path / "features" and path.parent.name == spy_encoder.fingerprint()
    assert isinstance(second, np.memmap) and second.dtype == np.float32 and second.shape == (len(shapes_val), 24)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(second, spy_encoder.encode_images(shapes_val.images, progress=False))


@pytest.mark.parametrize("corrupt", ["shape", "dtype", "garbage"])
def test_invalid_cache_file_is_recomputed(spy_encoder, shapes_val, corrupt):
    path = feature_cache_path(spy_encoder, shapes_val)
    path.parent.mkdir(parents=True)
    if corrupt == "shape":
        np.save(path, np.zeros((3, 24), np.float32))
    elif corrupt == "dtype":
        np.save(path, np.zeros((len(shapes_val), 24), np.float64))
    else:
        path.write_bytes(b"\x93NUMPY broken")
    features = encode_dataset(spy_encoder, shapes_val, progress=False)
    assert spy_encoder.calls == [len(shapes_val)]
    assert features.shape == (len(shapes_val), 24) and features.dtype == np.float32
    np.testing.assert_array_equal(np.load(path), features)  # the bad file was replaced


def test_cache_key_follows_the_pixels(spy_encoder, shapes_val):
    changed = shapes_val.images.copy()
    changed[0, 0, 0, 0] ^= 1
    assert dataset_fingerprint(replace(shapes_val, images=changed)) != dataset_fingerprint(shapes_val)
    assert dataset_fingerprint(shapes_val.subset(np.arange(10))) != dataset_fingerprint(shapes_val)


def test_precomputed_features_are_returned_unchanged(spy_encoder, shapes_val):
    features = np.ones((len(shapes_val), 5), np.float32)
    given = replace(shapes_val, images=None, features=features)
    assert encode_dataset(spy_encoder, given) is features
    assert spy_encoder.calls == []


def test_cache_off_writes_nothing(spy_encoder, shapes_val, tmp_path):
    encode_dataset(spy_encoder, shapes_val, cache=False, progress=False)
    encode_dataset(spy_encoder, shapes_val, cache=False, progress=False)
    assert spy_encoder.calls == [len(shapes_val)] * 2
    assert not (tmp_path / "features").exists()
