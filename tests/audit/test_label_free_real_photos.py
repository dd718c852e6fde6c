"""A label-free audit of real photos (scikit-image's LFW crops) through the real CLI: skips stated, rates audited."""

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.data.skimage_photos import (
    ATTRIBUTES,
    lfw_subset_crops,
    photo_attributes,
    write_lfw_subset,
)
from tinyemo_audit.errors import UsageError

runner = CliRunner()
# Every probe a label-free audit must say it skipped, with a word its reason must contain.
EXPECTED_SKIPS = {
    "performance: accuracy, TPR and FPR per group": "no labels",
    "disparities: accuracy difference and ratio, equalized odds, TPR and FPR differences": "no labels",
    "confusion matrices": "no labels",
    "discovery: error rate, error ratio and SliceLine score per cluster": "no labels",
    "dataset bias: label–attribute association (Cramér's V, NMI, Theil's U)": "no labels",
    "counterfactual image twins": "twins",
    # The reasoning audit is off by default (configs/audit/default.yaml) until it is calibrated.
    "reasoning audit (what the MM-LLM writes about counterfactual twins)": "reasoning.enabled is false",
}
LABEL_METRICS = ("accuracy", "tpr", "fpr", "confusion")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_lfw_subset(tmp_path_factory.mktemp("photos") / "lfw", seed=0)


@pytest.fixture(scope="module")
def audit(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "lfw-run"
    result = runner.invoke(app, ["run", "--dataset", f"csv:{photos.manifest}", "--model", "tinyemo-faces-mini",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_manifest_has_no_labels_and_declared_attributes(photos):
    table = pd.read_csv(photos.manifest, dtype=str)
    assert list(table.columns) == ["path", "id", *ATTRIBUTES]
    assert len(table) == 200 and table["id"].is_unique
    assert table["content"].value_counts().to_dict() == {"face": 100, "background": 100}
    assert table["placebo"].value_counts().to_dict() == {"A": 100, "B": 100}
    assert sorted(table["brightness"].value_counts().tolist()) == [66, 67, 67]
    first = Image.open(photos.manifest.parent / table["path"][0])
    assert first.size == (25, 25)
    # The photos on disk are the crops scikit-image ships, byte for byte in pixels.
    crops, _ = lfw_subset_crops()
    assert np.array_equal(np.asarray(first), crops[0])


def test_brightness_tertiles_follow_mean_grey_level():
    crops, is_face = lfw_subset_crops()
    attrs = photo_attributes(crops, is_face, seed=0)
    mean = crops.reshape(len(crops), -1).mean(axis=1)
    by_group = {g: mean[attrs["brightness"] == g] for g in ("dark", "mid", "bright")}
    assert by_group["dark"].max() <= by_group["mid"].min() <= by_group["mid"].max() <= by_group["bright"].min()


def test_placebo_split_is_seeded():
    crops, is_face = lfw_subset_crops(faces_only=True)
    a = photo_attributes(crops, is_face, seed=3)["placebo"]
    assert a.equals(photo_attributes(crops, is_face, seed=3)["placebo"])
    assert not a.equals(photo_attributes(crops, is_face, seed=4)["placebo"])
    assert len(crops) == 100 and is_face.all()


def test_refuses_an_existing_folder(tmp_path):
    with pytest.raises(UsageError, match="already exists"):
        write_lfw_subset(tmp_path)


def test_run_is_label_free_on_every_attribute(audit):
    out, results = audit
    assert sorted(p.name for p in out.iterdir()) == [
        ".tinyemo-audit-outputs.json", "report.html", "results.json", "timings.json"]
    run = results["run"]
    assert run["labelled"] is False and run["n"] == 200
    assert run["protected_attributes"] == list(ATTRIBUTES)


def test_results_list_skipped_label_dependent_metrics_with_reasons(audit):
    _, results = audit
    skipped = {s["probe"]: s for s in results["run"]["skipped"]}
    assert set(skipped) == set(EXPECTED_SKIPS)
    for probe, word in EXPECTED_SKIPS.items():
        assert word in skipped[probe]["reason"], probe
        assert skipped[probe]["metrics"], probe


def test_no_label_dependent_values(audit):
    _, results = audit
    assert "counterfactual" not in results
    assert results["performance"]["overall"] is None
    for block in results["performance"]["by_attribute"].values():
        for group in block["groups"].values():
            assert not set(group) & set(LABEL_METRICS)
    for block in results["disparities"].values():
        assert set(block) == {"selection_rate_difference"}
    assert results["dataset_bias"]["stereotype"] == {}
    assert results["clusters"]["points"]["error"] is None and results["clusters"]["points"]["label"] is None
    for item in results["clusters"]["items"]:
        assert item["error_rate"] is None and item["sliceline_score"] is None and "p_value" not in item
    for finding in results["findings"]:
        assert finding["kind"] != "cluster"  # cluster findings rest on error rates
        if finding["kind"] == "disparity":
            assert finding["evidence"]["statistic"].startswith("selection_rate")


def test_prediction_distribution_per_group(audit):
    _, results = audit
    classes = results["run"]["classes"]
    by_attribute = results["performance"]["by_attribute"]
    assert set(by_attribute) == set(ATTRIBUTES)
    for attr, block in by_attribute.items():
        groups = block["groups"]
        assert sum(g["n"] for g in groups.values()) == 200, attr
        for name, group in groups.items():
            rates = [group["selection_rate"][c]["value"] for c in classes]
            assert sum(rates) == pytest.approx(1.0), (attr, name)  # every image is given exactly one emotion
        for stat in results["disparities"][attr]["selection_rate_difference"].values():
            assert 0 <= stat["q_value"] <= 1


def test_placebo_groups_are_not_flagged(audit):
    """The negative control: a seeded coin flip must not come out as a bias."""
    _, results = audit
    assert not [f for f in results["findings"] if f.get("attribute") == "placebo"]


def test_report_shows_the_skipped_section_open(audit):
    out, _ = audit
    page = (out / "report.html").read_text(encoding="utf-8")
    section = re.search(r'<section id="skipped">(.*?)</section>', page, flags=re.S)
    assert section is not None
    assert "<details" not in section.group(1)  # visible without a click
    text = html.unescape(re.sub(r"<[^>]+>", " ", section.group(1)))
    assert "Skipped on this dataset" in text and "This dataset has no labels" in text
    for probe, word in EXPECTED_SKIPS.items():
        assert probe in text and word in text, probe
    assert 'href="#skipped"' in page and "the next section says which, and why" in page
    assert "Per-group prediction rates" in page and "not measured: no labels" in page


def test_gates_skip_label_dependent_checks(audit, tmp_path):
    out, _ = audit
    junit, summary = tmp_path / "gates.xml", tmp_path / "gates.md"
    result = runner.invoke(app, ["gate", str(out / "results.json"), "--gates", "lenient",
                                 "--junit", str(junit), "--summary", str(summary)])
    assert result.exit_code == 0, result.output
    xml = junit.read_text(encoding="utf-8")
    # overall accuracy, 4 label gates x 3 attributes, flip rate, and the 2 reasoning gates (no reasoning section)
    assert xml.count("<skipped ") == 16
    assert "needs labels" in xml and "needs counterfactual twins" in xml
    assert "<error" not in xml
    assert "16 skipped" in summary.read_text(encoding="utf-8")


def test_label_free_report_in_headless_chromium(audit, tmp_path):
    """Every chart of the label-free report draws (the prediction-rate bars included), with no console errors."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
    from chromium_cdp import open_report

    out, _ = audit
    with open_report(out / "report.html", tmp_path / "profile", height=2400) as chrome:
        # 3 prediction-rate charts (one per attribute), the embedding map, then probes and dataset charts.
        assert chrome.charts["plots"] >= 4 and chrome.charts["drawn"] == chrome.charts["plots"]
        assert chrome.console_errors() == []
