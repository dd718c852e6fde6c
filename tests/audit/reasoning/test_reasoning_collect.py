"""Tests of audit/reasoning/_collect.py: when the reasoning audit runs, and the texts it gets through the explain API.

The reasoning package (issue 13) is replaced by a stand-in with the same interface
(``explain_twins(bundle, twins, mode=, hints=, settings=, progress=)`` returning
``[identity][value]`` Explanation-like records, and ``reference_reasoning``), so no LLM runs.
"""

import sys
import types
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from tinyemo_audit.audit.reasoning import _collect
from tinyemo_audit.audit.reasoning._collect import collect_texts, reasoning_status, select_identities
from tinyemo_audit.data.dataset import TwinSet
from tinyemo_audit.errors import UsageError

from reasoning_audit_fixtures import CLASSES, fast_settings


@dataclass
class Generation:
    max_new_tokens: int = 64


@dataclass
class Explained:
    reasoning: str
    stated_label: str | None


class Bundle:
    name = "stand-in"

    def __init__(self, has_reasoning=True):
        self.has_reasoning = has_reasoning
        self.reasoning = types.SimpleNamespace(generation=Generation(), classes=CLASSES)


@pytest.fixture
def fake_reasoning(monkeypatch):
    calls = []

    def explain_twins(bundle, twins, *, mode, hints=None, settings=None, progress=False, cache=False):
        calls.append({"mode": mode, "hints": hints, "tokens": settings.max_new_tokens, "n": len(twins), "cache": cache})
        return [[Explained(f"{mode} {v} hint {None if hints is None else hints[i]}", "angry" if v == "dark" else "joy")
                 for v in twins.values] for i in range(len(twins))]

    def reference_reasoning(expressions, intensity, *, seed=0):
        return types.SimpleNamespace(reasoning=[f"ref {e} {x:.1f}" for e, x in zip(expressions, intensity)])

    module = types.ModuleType("tinyemo_audit.reasoning")
    module.explain_twins, module.reference_reasoning = explain_twins, reference_reasoning
    monkeypatch.setitem(sys.modules, "tinyemo_audit.reasoning", module)
    monkeypatch.setattr(_collect, "_package_available", lambda: True)
    return calls


def _twin_predictions(n=6):
    labels = np.array([2, 0, 2, 1, 2, 2])[:n]
    twins = TwinSet("skin_group", ("light", "dark"), CLASSES, np.zeros((n, 2, 2, 2, 3), np.uint8), labels,
                    np.array([f"t{i}" for i in range(n)]), pd.DataFrame(index=range(n)),
                    meta={"intensity": np.linspace(0.1, 0.6, n)})
    predicted = np.tile(np.array([[1], [0]]), (n // 2, 2))  # reference column: happy, angry, happy, ...
    return {"skin_group": types.SimpleNamespace(twins=twins, predicted=predicted)}


def test_status_reasons_and_required():
    settings = fast_settings()
    assert reasoning_status(None, settings) == _collect.SKIP_NO_BUNDLE
    assert reasoning_status(object(), settings) == _collect.SKIP_NO_PACKAGE  # a bundle of a build without issue 13
    off = fast_settings(enabled=False)
    assert reasoning_status(Bundle(), off) == _collect.SKIP_DISABLED
    required = fast_settings(enabled=True)
    with pytest.raises(UsageError, match="reasoning.enabled is true"):
        reasoning_status(None, required)


def test_status_with_the_package(fake_reasoning):
    assert reasoning_status(Bundle(has_reasoning=False), fast_settings()) == _collect.SKIP_NO_PART
    assert reasoning_status(Bundle(), fast_settings()) is None
    with pytest.raises(UsageError, match="has no reasoning part; add one with"):
        reasoning_status(Bundle(has_reasoning=False), fast_settings(enabled=True))


def test_select_identities_even_and_bounded():
    labels = np.array([2, 0, 2, 1, 2, 2, 0])
    assert select_identities(labels, CLASSES, None, 4).tolist() == [0, 1, 3, 6]  # angry 1, happy 3, neutral 0; angry 6
    assert select_identities(labels, CLASSES, ["neutral"], 3).tolist() == [0, 2, 4]
    assert select_identities(labels, CLASSES, ["neutral", "angry"], 10).tolist() == [0, 1, 2, 4, 5, 6]
    assert select_identities(labels, CLASSES, ["surprise"], 3).tolist() == []


def test_texts_through_the_explain_interface(fake_reasoning):
    settings = fast_settings(expressions=["neutral"], twins_per_attribute=3, max_new_tokens=16)
    texts = collect_texts(Bundle(), _twin_predictions(), settings, {"skin_group": "light"}, seed=0)
    tt = texts["skin_group"]
    assert tt.ids.tolist() == ["t0", "t2", "t4"] and tt.labels.tolist() == [2, 2, 2]
    assert [c["mode"] for c in fake_reasoning] == ["free", "conditional"]
    assert all(c["tokens"] == 16 for c in fake_reasoning)  # the cost bound caps the part's 64
    assert all(c["cache"] for c in fake_reasoning)  # the audit reads kept batches (reasoning.generation_cache)
    # Conditional hint: the projector's label of each identity's reference (light) twin, for both twins.
    assert fake_reasoning[1]["hints"] == ["happy", "happy", "happy"]
    assert tt.conditional[0].tolist() == ["conditional light hint happy", "conditional dark hint happy"]
    assert tt.stated[0].tolist() == [None, "angry"]  # a label outside the classes reads as no label
    assert tt.reference[:, 0].tolist() == tt.reference[:, 1].tolist() and tt.reference[0, 0] == "ref 2 0.1"


def test_attributes_setting_and_items_without_images(fake_reasoning):
    skipped = []
    preds = _twin_predictions()
    assert collect_texts(Bundle(), preds, fast_settings(attributes=["age"]), {}, seed=0) == {}
    preds["skin_group"].twins.images = None
    assert collect_texts(Bundle(), preds, fast_settings(), {}, seed=0, skipped=skipped) == {}
    assert skipped[0]["reason"] == _collect.SKIP_NO_IMAGES


def test_a_damaged_part_is_bad_input_before_any_work(fake_reasoning):
    from tinyemo_audit.errors import InputError

    class Damaged(Bundle):
        @property
        def reasoning(self):
            raise InputError("models/x/reasoning/reasoning.json is not valid JSON (Expecting value)")

        @reasoning.setter
        def reasoning(self, value):
            pass

    with pytest.raises(InputError, match="not valid JSON"):
        reasoning_status(Damaged(), fast_settings())
