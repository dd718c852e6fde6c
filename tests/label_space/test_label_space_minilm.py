"""Tests for tinyemo_audit.label_space.minilm: labels embedded by the MiniLM sentence encoder."""

from __future__ import annotations

import pytest
import torch

from tinyemo_audit.errors import UsageError
from tinyemo_audit.label_space import resolve_label_space
from tinyemo_audit.label_space.minilm import MiniLMLabelSpace
from tinyemo_audit.text_encoder import minilm_text_encoder


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def test_embed_texts_is_the_sentence_encoder(cache):
    space = resolve_label_space("minilm")
    assert space.spec == "minilm" and space.dim == 384
    texts = ["angry", "a scene evoking fear to viewers"]
    got = space.embed_texts(texts)
    assert got.shape == (2, 384) and got.dtype == torch.float32
    torch.testing.assert_close(got, torch.from_numpy(minilm_text_encoder().encode(texts)))
    torch.testing.assert_close(got.norm(dim=1), torch.ones(2))


def test_vocabulary_is_whole_words_and_cached(cache, monkeypatch):
    words, embeddings = MiniLMLabelSpace(vocabulary_limit=40).vocabulary()
    assert len(words) == 40 == embeddings.shape[0]
    assert all(len(w) >= 3 and w.isalpha() and not w.startswith("#") for w in words)
    torch.testing.assert_close(embeddings[:3], resolve_label_space("minilm").embed_texts(words[:3]))
    assert list((cache / "label_space" / "minilm").glob("vocabulary-40-*/embeddings.safetensors"))

    def no_encoding(self, texts):
        raise AssertionError("vocabulary was re-embedded instead of read from the cache")

    monkeypatch.setattr(MiniLMLabelSpace, "embed_texts", no_encoding)
    words_again, embeddings_again = MiniLMLabelSpace(vocabulary_limit=40).vocabulary()
    assert words_again == words and torch.equal(embeddings_again, embeddings)


def test_fingerprint_is_stable():
    assert MiniLMLabelSpace().fingerprint() == MiniLMLabelSpace().fingerprint()
    assert len(MiniLMLabelSpace().fingerprint()) == 16


@pytest.mark.parametrize("kwargs", [{"bos": True}, {"tokenizer": "x"}, {"dtype": "float16"}])
def test_llm_only_options_are_rejected(kwargs):
    with pytest.raises(UsageError):
        resolve_label_space("minilm", **kwargs)
