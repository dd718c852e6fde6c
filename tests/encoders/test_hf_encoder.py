"""``hf:`` encoders on tiny random SigLIP / DINOv2 / CLIP / ViT models, and the known-encoder catalogue."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinyemo_audit.encoders import ENCODERS, resolve_encoder
from tinyemo_audit.encoders.hf import HFVisionEncoder, preprocess_images
from tinyemo_audit.encoders.known import get_known_encoder, list_known_encoders, weights_available
from tinyemo_audit.errors import InputError, UnknownNameError, WeightsUnavailableError

TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32,
             patch_size=8)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny random models, each saved with an image-processor config: name -> (folder, model)."""
    import transformers as tf

    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    built = {
        "siglip-vision": (tf.SiglipVisionModel(tf.SiglipVisionConfig(**TOWER)),
                          tf.SiglipImageProcessor(size={"height": 32, "width": 32})),
        "siglip": (tf.SiglipModel(tf.SiglipConfig(
                       text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, vocab_size=64), vision_config=TOWER)),
                   tf.SiglipImageProcessor(size={"height": 32, "width": 32})),
        "dinov2": (tf.Dinov2Model(tf.Dinov2Config(**TOWER)),
                   tf.BitImageProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32},
                                        do_center_crop=True, image_mean=[0.485, 0.456, 0.406],
                                        image_std=[0.229, 0.224, 0.225])),
        "clip": (tf.CLIPModel(tf.CLIPConfig(
                     text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, vocab_size=64, bos_token_id=0, eos_token_id=1),
                     vision_config=TOWER, projection_dim=24)),
                 tf.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})),
        "vit": (tf.ViTModel(tf.ViTConfig(**TOWER)), tf.ViTImageProcessor(size={"height": 32, "width": 32})),
    }
    out = {}
    for name, (model, processor) in built.items():
        model.eval().save_pretrained(str(root / name))
        processor.save_pretrained(str(root / name))
        out[name] = (root / name, model)
    return out


def _images(n, h, w, seed=0):
    """Smooth random images (resizing them is well conditioned, unlike pixel noise)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float32)
    up = torch.nn.functional.interpolate(torch.from_numpy(coarse).permute(0, 3, 1, 2), size=(h, w),
                                         mode="bilinear", align_corners=False)
    return up.permute(0, 2, 3, 1).round().clamp(0, 255).numpy().astype(np.uint8)


def _reference(name, model, pixel_values):
    with torch.inference_mode():
        if name == "dinov2":
            return model(pixel_values=pixel_values).last_hidden_state[:, 0]
        if name in ("siglip", "clip"):
            return model.get_image_features(pixel_values=pixel_values).pooler_output
        return model(pixel_values=pixel_values).pooler_output


@pytest.mark.parametrize("name", ["siglip-vision", "siglip", "clip", "vit"])
def test_native_size_matches_the_model_and_its_processor_exactly(models, name, monkeypatch):
    from transformers import AutoImageProcessor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder, model = models[name]
    encoder = resolve_encoder(f"hf:{folder}")
    images = _images(3, 32, 32)
    pixels = AutoImageProcessor.from_pretrained(str(folder))(images=list(images), return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(preprocess_images(torch.from_numpy(images), encoder.preprocessing), pixels,
                               rtol=0, atol=1e-5)
    expected = _reference(name, model, pixels)
    np.testing.assert_allclose(encoder.encode_images(images, progress=False), expected.numpy(), atol=1e-5)
    assert encoder.dim == expected.shape[1] and encoder.spec == f"hf:{folder}"


@pytest.mark.parametrize("name", ["dinov2", "clip", "siglip"])
def test_resizing_follows_the_processor(models, name, monkeypatch):
    from transformers import AutoImageProcessor

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder, model = models[name]
    encoder = HFVisionEncoder(str(folder))
    images = _images(4, 48, 72, seed=3)  # non-square: shortest-edge resize, then centre crop
    pixels = AutoImageProcessor.from_pretrained(str(folder))(images=list(images), return_tensors="pt")["pixel_values"]
    mine = preprocess_images(torch.from_numpy(images), encoder.preprocessing)
    assert mine.shape == pixels.shape == (4, 3, 32, 32)
    # Torch's antialiased bicubic vs the processor's: the same up to a few grey levels.
    assert float((mine - pixels).abs().mean()) < 0.02
    features = torch.from_numpy(encoder.encode_images(images, progress=False))
    similarity = torch.nn.functional.cosine_similarity(features, _reference(name, model, pixels))
    assert float(similarity.min()) > 0.995


def test_pooling_per_family(models):
    assert HFVisionEncoder(str(models["dinov2"][0])).pooling == "cls"
    assert HFVisionEncoder(str(models["siglip"][0])).pooling == "image_features"
    assert HFVisionEncoder(str(models["clip"][0])).dim == 24  # projection_dim, not the tower width


def test_fingerprint_is_stable_and_cache_works(models, tmp_path, monkeypatch):
    from tinyemo_audit.data.dataset import Dataset
    from tinyemo_audit.encoders import encode_dataset

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    first, second = (resolve_encoder(f"hf:{models['dinov2'][0]}") for _ in range(2))
    assert first.fingerprint() == second.fingerprint() != resolve_encoder(f"hf:{models['vit'][0]}").fingerprint()
    import pandas as pd

    data = Dataset(name="x", split="test", classes=("a",), labels=np.zeros(5, np.int64),
                   ids=np.arange(5).astype(str), attributes=pd.DataFrame(index=range(5)), images=_images(5, 32, 32))
    cached = encode_dataset(first, data, progress=False)
    np.testing.assert_array_equal(encode_dataset(second, data, progress=False), cached)


def test_missing_model_is_one_line_weights_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for spec in (f"hf:{tmp_path / 'absent'}", "hf:google/siglip-so400m-patch14-384"):
        with pytest.raises(WeightsUnavailableError) as err:
            resolve_encoder(spec)
        assert "\n" not in str(err.value) and spec in str(err.value)


def test_missing_processor_config_is_an_input_error(models, tmp_path):
    import shutil

    folder = tmp_path / "noproc"
    shutil.copytree(models["vit"][0], folder)
    (folder / "preprocessor_config.json").unlink()
    with pytest.raises(InputError, match="preprocessor_config.json"):
        resolve_encoder(f"hf:{folder}")


def test_trust_remote_code_only_when_asked(models, monkeypatch):
    import transformers

    seen = []
    original = transformers.Dinov2Model.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        seen.append(kwargs)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(transformers.Dinov2Model, "from_pretrained", classmethod(spy))
    resolve_encoder(f"hf:{models['dinov2'][0]}")
    resolve_encoder(f"hf:{models['dinov2'][0]}", trust_remote_code=True)
    assert "trust_remote_code" not in seen[0] and seen[1]["trust_remote_code"] is True
    assert seen[0]["local_files_only"] is True


def test_registry_lists_the_hf_scheme():
    assert "hf:<...>" in ENCODERS.choices()
    with pytest.raises(UnknownNameError, match="hf:<...>"):
        resolve_encoder("nope:thing")


def test_known_encoder_catalogue(models):
    rows = {row["name"]: row for row in list_known_encoders(check_weights=False)}
    dims = {rows[n]["spec"]: rows[n]["dim"] for n in rows}
    assert dims["open_clip:ViT-L-14/openai"] == 768
    assert dims["open_clip:ViT-L-14-336/openai"] == 768
    assert dims["open_clip:ViT-B-16/openai"] == 512
    assert dims["hf:google/siglip-so400m-patch14-384"] == 1152
    assert dims["hf:facebook/dinov2-large"] == 1024
    assert get_known_encoder("clip-vit-l-14").spec == "open_clip:ViT-L-14/openai"
    assert all(row["available"] is None for row in rows.values())
    assert weights_available(f"hf:{models['vit'][0]}") is True
    assert weights_available("hf:/nonexistent/model") is False
    assert weights_available("open_clip:ViT-B-32/random") is True
    assert weights_available("faces-mini") is False
