"""Kept generations (reasoning.generation_cache): a batch is read back only when everything that decides it is the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyemo_audit.model.bundle import load_bundle
from tinyemo_audit.reasoning.explain import explain_features, reasoning_model
from tinyemo_audit.reasoning import generation_cache
from tinyemo_audit.reasoning.settings import GenerationSettings

SETTINGS = GenerationSettings(max_new_tokens=6, batch_size=3)


@pytest.fixture()
def counted(trained_bundle, monkeypatch, tmp_path):
    """The trained tiny bundle with a fresh cache folder and a count of real generate calls."""
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    bundle = load_bundle(trained_bundle)
    model = reasoning_model(bundle)
    calls = []
    real = model.llm.generate

    def generate(*args, **kwargs):
        calls.append(kwargs.get("input_ids", args[0] if args else None))
        return real(*args, **kwargs)

    monkeypatch.setattr(model.llm, "generate", generate)
    features = np.random.default_rng(0).normal(size=(5, bundle.spec["encoder"]["dim"])).astype(np.float32)
    return bundle, model, calls, features, tmp_path / "cache" / generation_cache.FOLDER


def _texts(bundle, features, **kwargs):
    out = explain_features(bundle, features, [str(i) for i in range(len(features))], settings=SETTINGS, **kwargs)
    return [(e.reasoning, e.stated_label, e.n_tokens) for e in out]


def test_a_kept_batch_is_read_back_exactly(counted):
    bundle, model, calls, features, folder = counted
    first = _texts(bundle, features, mode="free", cache=True)
    assert len(calls) == 2 and len(list(folder.rglob("*.json"))) == 2  # 5 items in batches of 3: two batches
    again = _texts(bundle, features, mode="free", cache=True)
    assert again == first and len(calls) == 2  # nothing generated the second time


def test_anything_that_decides_a_batch_makes_it_a_new_one(counted):
    bundle, model, calls, features, folder = counted
    _texts(bundle, features, mode="free", cache=True)
    _texts(bundle, features, mode="conditional", hints=["happy"] * 5, cache=True)  # other prompts
    assert len(calls) == 4
    changed = features.copy()
    changed[4] += 1.0  # one image of the second batch differs: only that batch is generated
    _texts(bundle, changed, mode="free", cache=True)
    assert len(calls) == 5
    longer = GenerationSettings(max_new_tokens=7, batch_size=3)
    explain_features(bundle, features, list("abcde"), mode="free", settings=longer, cache=True)
    assert len(calls) == 7
    model.identity = "another part"
    _texts(bundle, features, mode="free", cache=True)
    assert len(calls) == 9


def test_no_cache_sampling_or_a_damaged_entry_generates(counted):
    bundle, model, calls, features, folder = counted
    _texts(bundle, features, mode="free")  # explain and eval: never kept
    assert len(calls) == 2 and not folder.exists()
    sampled = GenerationSettings(max_new_tokens=6, batch_size=3, do_sample=True, seed=1)
    explain_features(bundle, features, list("abcde"), mode="free", settings=sampled, cache=True)
    assert len(calls) == 4 and not folder.exists()
    first = _texts(bundle, features, mode="free", cache=True)
    for path in folder.rglob("*.json"):
        entry = json.loads(path.read_text())
        path.write_text(json.dumps({**entry, "rows": entry["rows"][:-1]}))  # a row short: not that batch
    assert _texts(bundle, features, mode="free", cache=True) == first and len(calls) == 8


def test_a_cache_that_cannot_be_written_costs_nothing_but_the_reuse(counted, monkeypatch):
    bundle, model, calls, features, folder = counted

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tinyemo_audit._io.atomic_write_json", full_disk)
    first = _texts(bundle, features, mode="free", cache=True)
    assert len(calls) == 2 and len(first) == 5 and not list(folder.rglob("*.json"))
