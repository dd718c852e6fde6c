"""Class 5: degenerate data. Every probe decides whether it can run; no NaN or Infinity reaches results.json.

Hypothesis builds small datasets that break the probes' assumptions (one label, one group, a
group of one item, all one prediction, constant or duplicate features, n from 2 to 40) as
``features:`` folders or CSV manifests of images, and runs the real audit in-process with a small
budget (discovery on). The outcome is exit 0 with a finite, readable results.json whose skipped
probes are listed with reasons, or one ``InputError``/``UsageError`` line (exit 2) — never
another exception. The default budget is small (each example is a whole audit); ``-m slow`` runs
a larger one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_fixtures as hf
from tinyemo_audit.audit.runner import run_audit
from tinyemo_audit.errors import TinyEmoAuditError
from tinyemo_audit.model.bundle import list_bundles

pytestmark = pytest.mark.skipif(hf.BUNDLE not in list_bundles(), reason="default bundle not trained")
DIM = 384  # the default bundle's encoder dimension
LABELS = ("happy", "sad", "angry")


@st.composite
def degenerate(draw) -> dict:
    """One degenerate dataset: sizes, labels, groups and how its features vary."""
    n = draw(st.integers(2, 40))
    label_kind = draw(st.sampled_from(["one", "two", "random"]))
    labels = {"one": [0] * n, "two": [i % 2 for i in range(n)],
              "random": draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))}[label_kind]
    group_kind = draw(st.sampled_from(["none", "one", "single_item", "random"]))
    groups = {"none": None, "one": ["a"] * n, "single_item": ["b"] + ["a"] * (n - 1),
              "random": draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))}[group_kind]
    values = draw(st.sampled_from(["constant", "duplicates", "random"]))
    return {"n": n, "labels": [LABELS[i] for i in labels], "groups": groups, "values": values,
            "form": draw(st.sampled_from(["features", "csv"])), "seed": draw(st.integers(0, 2**16))}


def _vectors(case: dict) -> np.ndarray:
    rng = np.random.default_rng(case["seed"])
    n = case["n"]
    if case["values"] == "constant":
        return np.repeat(rng.normal(size=(1, DIM)), n, axis=0)
    if case["values"] == "duplicates":
        return rng.normal(size=(2, DIM))[np.arange(n) % 2]
    return rng.normal(size=(n, DIM))


def _write(case: dict, folder: Path) -> str:
    """The dataset on disk; returns its spec."""
    if case["form"] == "features":
        by_label: dict[str, list] = {}
        for label, vector in zip(case["labels"], _vectors(case)):
            by_label.setdefault(label, []).append(vector)
        return f"features:{hf.write_feature_folder(folder / 'features', by_label)}"
    from PIL import Image

    rng = np.random.default_rng(case["seed"])
    n = case["n"]
    base = {"constant": np.repeat(rng.integers(0, 256, (1, 16, 16, 3)), n, axis=0),
            "duplicates": rng.integers(0, 256, (2, 16, 16, 3))[np.arange(n) % 2],
            "random": rng.integers(0, 256, (n, 16, 16, 3))}[case["values"]].astype(np.uint8)
    rows = []
    for i in range(n):
        Image.fromarray(base[i]).save(folder / f"img{i:02d}.png")
        rows.append([f"img{i:02d}.png", case["labels"][i]] + ([case["groups"][i]] if case["groups"] else []))
    header = ["path", "label"] + (["group"] if case["groups"] else [])
    return f"csv:{hf.write_csv(folder / 'manifest.csv', header, rows)}"


def _no_constant(text: str):
    raise AssertionError(f"results.json holds {text}")


def audit_degenerate(case: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tk5-"))
    try:
        spec = _write(case, folder)
        config = hf.write_text(folder / "audit.yaml", hf.SMALL_BUDGET)
        try:
            outcome = run_audit(dataset=spec, out=folder / "run", config=config, seed=case["seed"], progress=False)
        except TinyEmoAuditError as err:  # exit 2: one line
            assert str(err) and "\n" not in str(err)
            assert not (folder / "run").exists()
            return
        assert outcome.exit_code == 0
        text = (folder / "run" / "results.json").read_text(encoding="utf-8")
        results = json.loads(text, parse_constant=_no_constant)  # NaN / Infinity literals refused
        from tinyemo_audit.audit.results import read_results

        read_results(folder / "run" / "results.json")  # the reader every later command uses accepts it
        run = results["run"]
        assert run["n"] == case["n"]
        for skipped in run["skipped"]:
            assert skipped["probe"] and skipped["reason"] and "\n" not in skipped["reason"]
        if not run["protected_attributes"]:
            assert any("no protected attribute" in s["reason"] for s in run["skipped"])
        if run["n"] < 20:
            assert results["clusters"] is None
            assert any(s["probe"].startswith("discovery") for s in run["skipped"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=degenerate())
def test_degenerate_datasets_audit_or_exit_2(case):
    audit_degenerate(case)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=degenerate())
def test_degenerate_datasets_audit_or_exit_2_long(case):
    audit_degenerate(case)


@pytest.mark.parametrize("case", [
    # the examples from the issue: one label (NaN Cramér's V), too few rows for discovery, a group of one
    {"n": 30, "labels": ["happy"] * 30, "groups": list("ab" * 15), "values": "random", "form": "csv", "seed": 1},
    {"n": 3, "labels": ["happy", "sad", "happy"], "groups": list("aba"), "values": "random", "form": "csv",
     "seed": 2},
    {"n": 20, "labels": ["happy", "sad"] * 10, "groups": ["b"] + ["a"] * 19, "values": "duplicates",
     "form": "csv", "seed": 3},
    {"n": 25, "labels": ["sad"] * 25, "groups": None, "values": "constant", "form": "features", "seed": 4},
    # found by the slow run: constant images give iEAT embeddings with no spread (undefined effect size)
    {"n": 12, "labels": ["happy"] * 11 + ["sad"], "groups": ["a"] * 10 + ["c"] * 2, "values": "constant",
     "form": "csv", "seed": 0},
])
def test_known_degenerate_cases(case):
    audit_degenerate(case)
