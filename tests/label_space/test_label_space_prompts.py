"""Tests for tinyemo_audit.label_space.prompts: templates as data and per-class label embeddings."""

from __future__ import annotations

import pytest
import torch

from tinyemo_audit.errors import UnknownNameError, UsageError
from tinyemo_audit.label_space import LabelSpace, get_template, label_embeddings, list_templates
from tinyemo_audit.label_space.prompts import default_template, render
from tinyemo_audit.taxonomy import get_taxonomy, list_taxonomies


class RecordingSpace(LabelSpace):
    """Embeds each text as a fixed random unit vector and remembers what it was asked."""

    spec = "recording"
    dim = 8

    def __init__(self):
        self.seen: list[str] = []
        self._vectors: dict[str, torch.Tensor] = {}
        self._generator = torch.Generator().manual_seed(0)

    def embed_texts(self, texts):
        self.seen.extend(texts)
        for t in texts:
            if t not in self._vectors:
                self._vectors[t] = torch.randn(self.dim, generator=self._generator)
        return torch.nn.functional.normalize(torch.stack([self._vectors[t] for t in texts]), dim=1)


def test_plain_labels_are_the_text_embeddings():
    space = RecordingSpace()
    got = label_embeddings(space, ["angry", "sad"])
    assert space.seen == ["angry", "sad"]
    torch.testing.assert_close(got, space.embed_texts(["angry", "sad"]))


def test_template_literal_and_by_name():
    space = RecordingSpace()
    label_embeddings(space, ["fear"], template="a scene evoking {label} to viewers")
    label_embeddings(space, ["fear"], template="scene")
    assert space.seen == ["a scene evoking fear to viewers"] * 2


def test_synonyms_are_averaged_then_normalised():
    space = RecordingSpace()
    synonyms = {"happy": ["happy", "joyful", "cheerful"]}
    got = label_embeddings(space, ["happy", "sad"], template="face", synonyms=synonyms)
    rendered = [f"a face expressing {w}" for w in synonyms["happy"]]
    mean = space.embed_texts(rendered).mean(0)
    torch.testing.assert_close(got[0], mean / mean.norm())
    # A class without synonyms uses its own name.
    torch.testing.assert_close(got[1], space.embed_texts(["a face expressing sad"])[0])
    torch.testing.assert_close(got.norm(dim=1), torch.ones(2))


def test_taxonomy_synonyms_work_with_every_template():
    space = RecordingSpace()
    taxonomy = get_taxonomy("fer7")
    for name in list_templates():
        got = label_embeddings(space, taxonomy.classes, template=name, synonyms=taxonomy.synonyms)
        assert got.shape == (7, space.dim)


def test_bad_inputs():
    space = RecordingSpace()
    with pytest.raises(UnknownNameError, match="scene"):
        label_embeddings(space, ["a"], template="no-such-template")
    with pytest.raises(UsageError):
        label_embeddings(space, [])
    with pytest.raises(UsageError):
        label_embeddings(space, ["a", "a"])
    with pytest.raises(UsageError):
        label_embeddings(space, ["a"], synonyms={"a": []})


def test_shipped_templates():
    assert "scene" in list_templates()
    assert get_template("scene") == "a scene evoking {label} to viewers"
    assert all("{label}" in get_template(name) for name in list_templates())
    for taxonomy in list_taxonomies():
        assert "{label}" in default_template(taxonomy)
    assert render("{x} {label}", "awe") == "{x} awe"
