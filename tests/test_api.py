"""The Python API end to end on the default and control bundles: the done-when checks of bring-your-own.

- the default bundle's own predictions on faces, fed back as a predictions file, give the same
  group metrics, disparities and retrieval skew as the bundle path;
- the faces twins written as a user manifest give the same twin probes as the rendered twins;
- ``compare`` of the default bundle's run and the control bundle's lists the planted biases as gone,
  and a gate on the change catches the regression the other way round;
- docs/api.md's example runs as written.
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyemo_audit import AuditResult, audit_model, compare, load_results
from tinyemo_audit.errors import UsageError
from tinyemo_audit.model.bundle import list_bundles

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not {"tinyemo-faces-mini", "faces-mini-clean"} <= set(list_bundles()),
                                reason="bundles not trained")
# Fewer resamples than the defaults keep the runs quick; twins stay at the default count, which the
# planted neutral-face biases need (about 60 neutral pairs).
CONFIG = {"n_boot": 200, "n_perm": 200, "n_perm_paired": 2000}
N = 1000
# q-values come from one BH correction over every test of an audit: a predictions-only audit runs
# fewer probes (no text probes, no twins), so its q-values and what they decide differ by design.
FAMILY_KEYS = {"q_value", "not_flagged", "finding_id"}
PLANTED = ('Darker skin pushes neutral faces toward "angry"', 'A feminine presentation pushes neutral faces toward "happy"')


def _without(node, keys=FAMILY_KEYS):
    if isinstance(node, dict):
        return {k: _without(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_without(v, keys) for v in node]
    return node


@pytest.fixture(scope="module")
def default_run():
    return audit_model(dataset="faces", model="tinyemo-faces-mini", n=N, config=CONFIG)


@pytest.fixture(scope="module")
def control_run():
    return audit_model(dataset="faces", model="faces-mini-clean", n=N, config=CONFIG)


def bundle_predictions(model: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A bundle's predictions on the faces test split as a predictions table (with scores) and embeddings."""
    from tinyemo_audit.data.registry import load_dataset
    from tinyemo_audit.model.bundle import load_bundle
    from tinyemo_audit.model.classifier import predict

    data = load_dataset("faces", "test")
    preds = predict(load_bundle(model), data, progress=False)
    table = pd.DataFrame({"id": data.ids, "label": np.asarray(data.classes)[data.labels],
                          "prediction": np.asarray(preds.classes)[preds.predicted]})
    for prefix, values in (("prob_", preds.probabilities), ("score_", preds.similarities)):
        for k, name in enumerate(preds.classes):
            table[f"{prefix}{name}"] = values[:, k]
    for attribute in data.meta["protected_attributes"]:
        table[attribute] = data.attributes[attribute].to_numpy()
    return table, preds.embeddings


def test_predictions_reproduce_the_bundle_path(default_run, tmp_path):
    table, embeddings = bundle_predictions("tinyemo-faces-mini")
    path = tmp_path / "predictions.parquet"
    table.to_parquet(path, index=False)
    np.save(tmp_path / "embeddings.npy", embeddings)
    result = audit_model(predictions=path, embeddings=tmp_path / "embeddings.npy", n=N, config=CONFIG)
    bundle, file = default_run.results, result.results
    for section in ("performance", "disparities", "skew", "dataset_bias"):
        assert _without(file[section]) == _without(bundle[section]), section
    assert file["run"]["protected_attributes"] == bundle["run"]["protected_attributes"]
    assert file["run"]["inputs"]["kind"] == "predictions" and file["text_probes"] is None
    skipped = {s["probe"] for s in file["run"]["skipped"]}
    assert {"counterfactual image twins", "counterfactual text probes (prompt pairs in the label space)"} <= skipped


def test_predictions_without_embeddings_or_probabilities_list_what_cannot_run(tmp_path):
    table, _ = bundle_predictions("tinyemo-faces-mini")
    csv = tmp_path / "predictions.csv"
    table[["id", "label", "prediction", "skin_group"]].head(400).to_csv(csv, index=False)
    result = audit_model(predictions=csv, config=CONFIG)
    reasons = {s["probe"]: s["reason"] for s in result.results["run"]["skipped"]}
    assert "prob_<class>" in reasons["retrieval skew (MaxSkew@k, NDKL)"]
    assert "--embeddings" in reasons["discovery (UMAP, clusters, names)"]
    assert result.results["disparities"]["skin_group"]["accuracy_difference"]["value"] is not None


def test_manifest_of_the_faces_twins_reproduces_the_twin_probes(default_run, tmp_path):
    from tinyemo_audit.data.faces.manifest import twin_manifest

    manifest = twin_manifest(tmp_path / "twins", n_identities=420)
    result = audit_model(dataset="faces", counterfactuals=manifest, n=N, config=CONFIG)
    ignore = FAMILY_KEYS | {"source", "skipped_rows", "skipped_sets", "n_sets_skipped"}
    assert _without(result.results["counterfactual"], ignore) == _without(default_run.results["counterfactual"], ignore)
    assert result.results["counterfactual"]["gender"]["n_sets_skipped"] == 0


def test_item_twins_of_a_predictions_file_reproduce_the_shifts(tmp_path):
    """Twins given as rows of a predictions file (with score_ columns) give the bundle's shifts."""
    from tinyemo_audit.audit._twins import counterfactual_probe, item_twins, predict_twins
    from tinyemo_audit.audit.settings import load_settings
    from tinyemo_audit.data.faces import load_twins
    from tinyemo_audit.data.predictions import read_predictions
    from tinyemo_audit.model.bundle import load_bundle

    bundle, settings = load_bundle("tinyemo-faces-mini"), {**load_settings(), **CONFIG}
    twins = load_twins("gender", n_identities=80)
    rendered = predict_twins(bundle, twins, progress=False)
    n_id, n_val, k = rendered.probabilities.shape
    ids = np.array([[f"{i}:{v}" for v in twins.values] for i in twins.ids])
    table = pd.DataFrame({"id": ids.ravel(), "prediction": np.asarray(twins.classes)[rendered.predicted.ravel()]})
    for c, name in enumerate(twins.classes):
        table[f"prob_{name}"] = rendered.probabilities[:, :, c].ravel()
        table[f"score_{name}"] = rendered.similarities[:, :, c].ravel()
    data, preds = read_predictions(table)
    from dataclasses import replace

    as_items = item_twins(replace(twins, images=None, item_ids=ids), preds, data.ids, score="score")
    kwargs = dict(reference="masculine", temperature=bundle.temperature, settings=settings, seed=0)
    expected, got = counterfactual_probe(rendered, **kwargs), counterfactual_probe(as_items, **kwargs)
    for a, b in zip(expected["shifts"], got["shifts"]):
        assert {k: a[k] for k in a if k != "test"} == {k: b[k] for k in b if k != "test"}
    assert got["flip_rate"] == expected["flip_rate"]
    for value in expected["kl"]:  # from P itself instead of similarity / temperature: equal up to rounding
        assert got["kl"][value]["value"] == pytest.approx(expected["kl"][value]["value"], rel=1e-3, abs=1e-6)


def test_compare_lists_the_planted_biases_as_gone(default_run, control_run, tmp_path):
    comparison = compare(default_run, control_run)
    gone = {f["title"] for f in comparison.gone}
    assert set(PLANTED) <= gone
    assert not any(f["title"] in PLANTED for f in comparison.new)
    change = comparison.metric("counterfactual.skin_group.flip_rate")
    assert change["ci_low"] is not None and change["ci_low"] <= change["value"] <= change["ci_high"]
    assert comparison.metric("counterfactual.skin_group.shifts.dark.neutral.angry.prob_shift")["value"] < -0.05
    page = comparison.to_html(tmp_path / "comparison.html").read_text()
    assert "gone" in page and PLANTED[0].replace('"', "&quot;") in page
    data = json.loads(comparison.to_json(tmp_path / "comparison.json"))
    assert data["summary"]["findings"]["gone"] >= 2


def test_a_change_gate_catches_the_regression(default_run, control_run):
    from tinyemo_audit.gates import parse_gates

    spec = parse_gates({"version": 1, "gates": [
        {"name": "no new findings", "metric": "findings_count", "max": 0, "change": True},
        {"name": "flip rate may not grow", "metric": "counterfactual.{attribute}.flip_rate", "on": "ci_low",
         "max": 0.02, "change": True}]})
    regression = default_run.gate(spec, baseline=control_run)  # the biased model after the clean one
    assert not regression.passed and regression.exit_code == 1
    assert any(o.status == "FAIL" and o.gate == "no new findings" for o in regression.outcomes)
    assert control_run.gate(spec, baseline=default_run).passed  # the fix passes against the biased baseline
    with pytest.raises(UsageError, match="no baseline was given"):
        default_run.gate(spec)


def test_results_round_trip(default_run, tmp_path):
    path = tmp_path / "results.json"
    default_run.to_json(path)
    again = load_results(path)
    assert isinstance(again, AuditResult) and again.findings == default_run.findings
    assert default_run.to_html(tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_docs_api_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/api.md has no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own documentation
