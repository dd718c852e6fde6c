"""Caches are validated on read: a damaged entry is recomputed (or refused in one line), never served."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pandas as pd
import pytest

from tinyemo_audit.errors import InputError


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for k in (-1, -max(2, len(data) // 4)):  # in the payload, past any header
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def not_json(path: Path) -> None:
    path.write_text("{not json", encoding="utf-8")


def json_edit(key: str, value):
    def edit(path: Path) -> None:
        record = json.loads(path.read_text(encoding="utf-8"))
        record[key] = value
        path.write_text(json.dumps(record), encoding="utf-8")
    return edit


def npy_shape(path: Path) -> None:
    np.save(path, np.zeros((3, 5), np.load(path, mmap_mode="r").dtype))


def npy_dtype(path: Path) -> None:
    array = np.load(path)
    np.save(path, array.astype(np.float64 if array.dtype != np.float64 else np.float32))


# The encoder feature cache and the caption cache (write_checked_array / read_checked_array) ----

FEATURE_DAMAGE = {
    "truncated": lambda p: truncate(p),
    "flipped": lambda p: flip_bytes(p),
    "shape": lambda p: npy_shape(p),
    "dtype": lambda p: npy_dtype(p),
    "digest": lambda p: json_edit("blake2b", "0" * 32)(p.with_suffix(".json")),
    "sidecar-not-json": lambda p: not_json(p.with_suffix(".json")),
    "sidecar-missing": lambda p: p.with_suffix(".json").unlink(),
}


@pytest.fixture(scope="module")
def shapes_val():
    from tinyemo_audit.data.dataset import Dataset

    rng = np.random.default_rng(1)
    return Dataset(name="synthetic", split="val", classes=("a", "b"), labels=rng.integers(0, 2, 40),
                   ids=np.array([f"v{i}" for i in range(40)]), attributes=pd.DataFrame({"g": ["p"] * 40}),
                   images=rng.integers(0, 256, (40, 32, 32, 3)).astype(np.uint8))


@pytest.mark.parametrize("damage", sorted(FEATURE_DAMAGE))
def test_feature_cache_damage_is_recomputed(damage, tmp_path, monkeypatch, shapes_val):
    import torch

    from tinyemo_audit.encoders import FacesMiniConfig, FacesMiniEncoder, encode_dataset, feature_cache_path
    from tinyemo_audit.encoders.faces_mini import build_faces_mini_net

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    config = FacesMiniConfig(widths=(8, 16), embed_dim=24, image_size=32)
    torch.manual_seed(0)
    encoder = FacesMiniEncoder(build_faces_mini_net(config), config)
    expected = np.array(encode_dataset(encoder, shapes_val, progress=False))
    path = feature_cache_path(encoder, shapes_val)
    FEATURE_DAMAGE[damage](path)
    calls = []
    original = encoder.encode_images
    monkeypatch.setattr(encoder, "encode_images", lambda images, **kw: calls.append(1) or original(images, **kw))
    again = encode_dataset(encoder, shapes_val, progress=False)
    assert calls == [1]  # recomputed, not served
    np.testing.assert_array_equal(again, expected)
    assert encode_dataset(encoder, shapes_val, progress=False) is not None and calls == [1]  # repaired


@pytest.mark.parametrize("damage", sorted(FEATURE_DAMAGE))
def test_caption_cache_damage_is_recomputed(damage, tmp_path, monkeypatch):
    from tinyemo_audit.encoders import lit
    from tinyemo_audit import text_encoder

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))

    class FakeMiniLM:
        calls = 0

        def encode(self, texts):
            FakeMiniLM.calls += 1
            rows = np.stack([np.random.default_rng(len(t)).normal(size=lit.MINILM_DIM) for t in texts])
            return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    monkeypatch.setattr(text_encoder, "minilm_text_encoder", lambda: FakeMiniLM())
    captions = np.array([f"a {'very ' * k}happy face" for k in range(40)])
    expected = lit.caption_embeddings(captions)
    (path,) = (tmp_path / "captions").glob("*.npy")
    FEATURE_DAMAGE[damage](path)
    np.testing.assert_array_equal(lit.caption_embeddings(captions), expected)
    assert FakeMiniLM.calls == 2


# The faces image cache --------------------------------------------------------------------------

FACES_DAMAGE = {
    "images-truncated": lambda f: truncate(f / "images.npy"),
    "images-flipped": lambda f: flip_bytes(f / "images.npy"),
    "images-shape": lambda f: npy_shape(f / "images.npy"),
    "images-dtype": lambda f: npy_dtype(f / "images.npy"),
    "labels-flipped": lambda f: np.save(f / "true_labels.npy", np.load(f / "true_labels.npy")[::-1].copy()),
    "manifest-not-json": lambda f: not_json(f / "manifest.json"),
    "manifest-fingerprint": lambda f: json_edit("spec", {"kind": "other"})(f / "manifest.json"),
    "manifest-digest": lambda f: json_edit("images_blake2b", "0" * 32)(f / "manifest.json"),
    "manifest-a-list": lambda f: (f / "manifest.json").write_text("[1, 2]"),
    "manifest-missing": lambda f: (f / "manifest.json").unlink(),
}


@pytest.mark.parametrize("damage", sorted(FACES_DAMAGE))
def test_faces_cache_damage_is_re_rendered(damage, tmp_path, monkeypatch):
    from tinyemo_audit.data.faces import cache as faces_cache
    from tinyemo_audit.data.faces.params import sample_parameters

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    params = sample_parameters(12, seed=7, split="val")
    expected = np.array(faces_cache.cached_split(params, split="val", seed=7, size=32))
    folder = faces_cache.folder(faces_cache.split_spec(split="val", n=12, seed=7, size=32))
    FACES_DAMAGE[damage](folder)
    renders = []
    original = faces_cache.render_rows
    monkeypatch.setattr(faces_cache, "render_rows", lambda *a, **k: renders.append(1) or original(*a, **k))
    np.testing.assert_array_equal(faces_cache.cached_split(params, split="val", seed=7, size=32), expected)
    assert renders == [1]
    np.testing.assert_array_equal(faces_cache.cached_split(params, split="val", seed=7, size=32), expected)
    assert renders == [1]  # the rebuilt entry is valid again


# The decoded-image cache ------------------------------------------------------------------------

IMAGE_DAMAGE = {
    "pixels-truncated": lambda f: truncate(f / "images.u8"),
    "pixels-flipped": lambda f: flip_bytes(f / "images.u8"),
    "index-not-json": lambda f: not_json(f / "index.json"),
    "index-digest": lambda f: json_edit("images_blake2b", "0" * 32)(f / "index.json"),
    "index-reasons": lambda f: json_edit("reasons", [1, 2, 3])(f / "index.json"),
    "index-version": lambda f: json_edit("version", 99)(f / "index.json"),
}


@pytest.mark.parametrize("damage", sorted(IMAGE_DAMAGE))
def test_decoded_image_cache_damage_is_rebuilt(damage, tmp_path, monkeypatch):
    from PIL import Image

    from tinyemo_audit.data import image_cache

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    paths = []
    for k in range(3):
        path = tmp_path / f"img{k}.png"
        Image.fromarray(rng.integers(0, 256, (20, 20, 3)).astype(np.uint8)).save(path)
        paths.append(str(path))
    expected, ok, _ = image_cache.cached_read_images(paths, 16, fit="stretch", max_pixels=10**6)
    expected = np.array(expected)
    (folder,) = (tmp_path / "cache" / "images").iterdir()
    IMAGE_DAMAGE[damage](folder)
    decodes = []
    original = image_cache.read_images
    monkeypatch.setattr(image_cache, "read_images", lambda *a, **k: decodes.append(1) or original(*a, **k))
    again, ok_again, _ = image_cache.cached_read_images(paths, 16, fit="stretch", max_pixels=10**6)
    assert decodes == [1]
    np.testing.assert_array_equal(again, expected)
    np.testing.assert_array_equal(ok_again, ok)


# The embed feature store (a user-named folder: refused in one line, since it cannot be rebuilt) -

def _store(tmp_path):
    import torch

    from tinyemo_audit.data.dataset import Dataset
    from tinyemo_audit.encoders.base import Encoder
    from tinyemo_audit.encoders.feature_store import embed_split

    class Pooling(Encoder):
        spec, dim = "test:pooling", 3

        def _weights(self):
            return {"w": torch.ones(1)}

        def _forward(self, batch):
            return batch.float().mean(dim=(1, 2)) / 255.0

    rng = np.random.default_rng(0)
    data = Dataset(name="synthetic", split="test", classes=("a", "b"), labels=np.array([0, 1, 0, 1]),
                   ids=np.array(["w", "x", "y", "z"]), attributes=pd.DataFrame({"g": list("pqpq")}),
                   images=rng.integers(0, 256, (4, 8, 8, 3)).astype(np.uint8))
    embed_split(Pooling(), data, tmp_path / "store", batch_size=2, progress=False)
    return tmp_path / "store" / "test"


def metadata_edit(split_dir, change):
    """Rewrite the store's metadata table through ``change`` and update its digest (a consistent, wrong store)."""
    import pyarrow.parquet as pq

    from tinyemo_audit.data.feature_store import file_digest

    path = split_dir / "metadata.parquet"
    pq.write_table(change(pq.read_table(path)), path)
    json_edit("metadata_blake2b", file_digest(path))(split_dir / "manifest.json")


STORE_DAMAGE = {
    "features-flipped": (lambda d: flip_bytes(d / "features.npy"), "does not match the digest"),
    "features-truncated": (lambda d: truncate(d / "features.npy"), "cannot read"),
    "features-shape": (lambda d: npy_shape(d / "features.npy"), "manifest says"),
    "features-dtype": (lambda d: npy_dtype(d / "features.npy"), "manifest says"),
    "manifest-not-json": (lambda d: not_json(d / "manifest.json"), "unreadable"),
    "manifest-digest": (lambda d: json_edit("features_blake2b", "0" * 32)(d / "manifest.json"), "digest"),
    "manifest-n": (lambda d: json_edit("n", 7)(d / "manifest.json"), "manifest says"),
    "metadata-flipped": (lambda d: flip_bytes(d / "metadata.parquet"), "does not match the digest"),
    "metadata-rows": (lambda d: metadata_edit(d, lambda t: t.slice(0, 3)), "disagree"),
    "metadata-labels": (lambda d: metadata_edit(d, lambda t: t.set_column(1, "label", pa.array(list("abab")))),
                        "not integers"),
    "metadata-no-id": (lambda d: metadata_edit(d, lambda t: t.drop_columns(["id"])), "no 'id'"),
    "manifest-format": (lambda d: json_edit("format", "other")(d / "manifest.json"), "not a"),
}


@pytest.mark.parametrize("damage", sorted(STORE_DAMAGE))
def test_feature_store_damage_is_one_clear_line(damage, tmp_path):
    from tinyemo_audit.data.feature_store import read_feature_store

    split_dir = _store(tmp_path)
    read_feature_store(split_dir.parent, "test")  # intact: reads
    corrupt, message = STORE_DAMAGE[damage]
    corrupt(split_dir)
    with pytest.raises(InputError, match=message) as info:
        read_feature_store(split_dir.parent, "test")
    assert "\n" not in str(info.value)


# Label-space caches -----------------------------------------------------------------------------

MINILM_DAMAGE = {
    "table-truncated": lambda f: truncate(f / "embeddings.safetensors"),
    "table-flipped": lambda f: flip_bytes(f / "embeddings.safetensors"),
    "words-not-json": lambda f: not_json(f / "words.json"),
    "words-shorter": lambda f: (f / "words.json").write_text(json.dumps(json.loads((f / "words.json").read_text())[:-1])),
    "meta-not-json": lambda f: not_json(f / "meta.json"),
    "meta-digest": lambda f: json_edit("sha256", "0" * 64)(f / "meta.json"),
}


@pytest.mark.parametrize("damage", sorted(MINILM_DAMAGE))
def test_minilm_vocabulary_cache_damage_is_rebuilt(damage, tmp_path, monkeypatch):
    import torch

    from tinyemo_audit.label_space.minilm import MiniLMLabelSpace

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    embeds = []

    def fake_embed(self, texts):
        embeds.append(len(texts))
        rows = torch.stack([torch.full((384,), float(len(t))) for t in texts])
        return torch.nn.functional.normalize(rows + torch.arange(384.0), dim=1)

    monkeypatch.setattr(MiniLMLabelSpace, "embed_texts", fake_embed)
    monkeypatch.setattr(MiniLMLabelSpace, "fingerprint", lambda self: "f" * 16)
    words, table = MiniLMLabelSpace(vocabulary_limit=50).vocabulary()
    folder = MiniLMLabelSpace(vocabulary_limit=50)._vocabulary_folder()
    MINILM_DAMAGE[damage](folder)
    again_words, again = MiniLMLabelSpace(vocabulary_limit=50).vocabulary()
    assert len(embeds) == 2
    assert again_words == words and torch.equal(again, table)


SMOLLM2_DAMAGE = {
    "table-flipped": lambda f: flip_bytes(f / "embeddings.safetensors"),
    "table-truncated": lambda f: truncate(f / "embeddings.safetensors"),
    "vocabulary-not-json": lambda f: not_json(f / "vocabulary.json"),
    "tokenizer-not-json": lambda f: not_json(f / "tokenizer.json"),
    "meta-not-json": lambda f: not_json(f / "meta.json"),
    "meta-sha": lambda f: json_edit("table_sha256", "0" * 64)(f / "meta.json"),
}


@pytest.fixture()
def fake_smollm2(tmp_path, monkeypatch):
    """A SmolLM2-shaped cache built from a tiny table, so damage tests skip the 14 s GGUF build."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers

    from tinyemo_audit.label_space import smollm2

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    rows, dim = 40, 8
    monkeypatch.setattr(smollm2, "ROWS", rows)
    monkeypatch.setattr(smollm2, "DIM", dim)
    source = tmp_path / "fake.gguf"
    source.write_bytes(b"GGUF")
    monkeypatch.setattr(smollm2, "gguf_path", lambda: source)
    builds = []

    def build_cache(dest, src):
        from safetensors.torch import save_file

        from tinyemo_audit._io import atomic_directory, atomic_write_json

        builds.append(1)
        table = torch.arange(rows * dim, dtype=torch.float32).reshape(rows, dim) / 100.0
        vocab = {f"Ġw{i}": i for i in range(rows)}
        tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="Ġw0"))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        with atomic_directory(dest) as tmp:
            save_file({"embeddings": table}, str(tmp / "embeddings.safetensors"))
            tokenizer.save(str(tmp / "tokenizer.json"))
            atomic_write_json(tmp / "vocabulary.json", {"words": [f"w{i}" for i in range(rows)],
                                                         "ids": list(range(rows))})
            import hashlib
            atomic_write_json(tmp / "meta.json", {
                "format": smollm2.CACHE_FORMAT, "source": src.name, "source_size": src.stat().st_size,
                "rows": rows, "dim": dim, "bos_token_id": None,
                "table_sha256": hashlib.sha256(table.numpy().tobytes()).hexdigest()})

    monkeypatch.setattr(smollm2, "build_cache", build_cache)
    return smollm2, builds


@pytest.mark.parametrize("damage", sorted(SMOLLM2_DAMAGE))
def test_smollm2_cache_damage_is_rebuilt(damage, fake_smollm2):
    import torch

    smollm2, builds = fake_smollm2
    first = smollm2.load_smollm2().table.clone()  # the loaded table may map the file being damaged
    assert builds == [1]
    SMOLLM2_DAMAGE[damage](smollm2.space_cache_dir())
    again = smollm2.load_smollm2()
    assert builds == [1, 1]
    assert torch.equal(again.table, first)


def test_smollm2_cache_that_stays_broken_is_one_clear_line(fake_smollm2, monkeypatch):
    smollm2, _ = fake_smollm2
    monkeypatch.setattr(smollm2, "_read_cache", lambda folder: None)
    with pytest.raises(InputError, match="cannot be read back") as info:
        smollm2.load_smollm2()
    assert "\n" not in str(info.value)


# Bundles (not caches, but read back the same way) ------------------------------------------------

BUNDLE_DAMAGE = {
    "labels-truncated": (lambda b: truncate(b / "label_embeddings.safetensors"), "cannot read"),
    "labels-nan": (lambda b: _save_labels(b, float("nan")), "NaN or infinite"),
    "labels-shape": (lambda b: _save_labels(b, 0.0, rows=5), "expected a float table"),
    "labels-int": (lambda b: _save_labels(b, 0, dtype="int64"), "expected a float table"),
}


def _save_labels(folder: Path, value, *, rows: int = 3, dtype: str = "float32") -> None:
    import torch
    from safetensors.torch import save_file

    table = torch.full((rows, 4), value, dtype=getattr(torch, dtype))
    save_file({"label_embeddings": table}, str(folder / "label_embeddings.safetensors"))


@pytest.mark.parametrize("damage", sorted(BUNDLE_DAMAGE))
def test_damaged_bundle_label_table_is_one_clear_line(damage, tmp_path):
    import torch

    from tinyemo_audit._io import atomic_write_json
    from tinyemo_audit.model.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, load_bundle
    from tinyemo_audit.model.projector import MetricProjector, save_projector

    folder = tmp_path / "b"
    save_projector(MetricProjector(6, 4), folder / "projector.safetensors")
    _save_labels(folder, 0.5)
    atomic_write_json(folder / "bundle.json", {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "encoder": {}, "label_space": {},
        "taxonomy": {"classes": ["a", "b", "c"]}, "projector": {"d_in": 6, "d_out": 4}, "loss": {}})
    assert torch.equal(load_bundle(folder).label_embeddings, torch.full((3, 4), 0.5))
    corrupt, message = BUNDLE_DAMAGE[damage]
    corrupt(folder)
    with pytest.raises(InputError, match=message) as info:
        load_bundle(folder).label_embeddings
    assert "\n" not in str(info.value)
