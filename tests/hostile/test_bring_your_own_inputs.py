"""Hostile predictions files, embeddings, manifests and baselines through the real CLI: exit 0 or one line and exit 2.

Every case either audits (exit 0, a finite results.json) or ends with exactly one line
`tinyemo-audit: error: ...` on stderr and exit 2, with nothing written; never a traceback, never 3.
"""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app

runner = CliRunner()
SMALL = "n_boot: 100\nn_perm: 100\nn_perm_paired: 100\n"


def predictions(n=12):
    happy = np.linspace(0.1, 0.9, n)
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "label": ["happy", "sad"] * (n // 2),
                         "prediction": np.where(happy > 0.5, "happy", "sad"), "prob_happy": happy,
                         "prob_sad": 1 - happy, "site": ["a", "b", "c"] * (n // 3)})


def invoke(tmp_path, frame, *extra, manifest=None, embeddings=None):
    (tmp_path / "small.yaml").write_text(SMALL)
    frame.to_csv(tmp_path / "p.csv", index=False)
    args = ["run", "--predictions", str(tmp_path / "p.csv"), "--out", str(tmp_path / "run"),
            "--config", str(tmp_path / "small.yaml"), *extra]
    if manifest is not None:
        manifest.to_csv(tmp_path / "m.csv", index=False)
        args += ["--counterfactuals", str(tmp_path / "m.csv")]
    if embeddings is not None:
        np.save(tmp_path / "e.npy", embeddings)
        args += ["--embeddings", str(tmp_path / "e.npy")]
    return runner.invoke(app, args)


def assert_exit_2(result, fragment, tmp_path):
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("tinyemo-audit: error: ") and fragment in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("change, fragment", [
    (lambda f: f.assign(prediction=["joy"] + list(f["prediction"][1:])), "is not a class of the prob_ columns"),
    (lambda f: f.assign(prob_happy=[-0.2] + list(f["prob_happy"][1:])), "probabilities must be numbers from 0 to 1"),
    (lambda f: f.assign(prob_sad=[0.9] * len(f)), "not 1 (within 0.01)"),
    (lambda f: f.assign(prob_sad=[np.nan] + list(f["prob_sad"][1:])), "probabilities must be numbers"),
    (lambda f: f.assign(id=["r0"] * 2 + list(f["id"][2:])), "appears on rows 2 and 3"),
    (lambda f: f.drop(columns=["id"]), "no 'id' column"),
])
def test_bad_predictions(change, fragment, tmp_path):
    assert_exit_2(invoke(tmp_path, change(predictions())), fragment, tmp_path)


def test_embeddings_with_the_wrong_number_of_rows(tmp_path):
    assert_exit_2(invoke(tmp_path, predictions(), embeddings=np.zeros((5, 3))), "has 5 rows but", tmp_path)


def test_a_manifest_set_mixing_attributes(tmp_path):
    manifest = pd.DataFrame({"set_id": ["s", "s"], "attribute": ["site", "age"], "value": ["a", "b"],
                             "id": ["r0", "r1"]})
    assert_exit_2(invoke(tmp_path, predictions(), manifest=manifest), "mixes attributes", tmp_path)


def test_predictions_with_a_model(tmp_path):
    assert_exit_2(invoke(tmp_path, predictions(), "--model", "tinyemo-faces-mini"), "takes no --model", tmp_path)


def test_a_change_gate_without_a_baseline(tmp_path):
    (tmp_path / "g.yaml").write_text(json.dumps({"version": 1, "gates": [
        {"name": "n", "metric": "findings_count", "max": 0, "change": True}]}))
    assert_exit_2(invoke(tmp_path, predictions(), "--gates", str(tmp_path / "g.yaml")), "no baseline was given",
                  tmp_path)


def test_a_baseline_of_another_dataset(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps({"schema_version": "1.1", "run": {"dataset": "faces"}}))
    assert_exit_2(invoke(tmp_path, predictions(), "--gates", "lenient", "--baseline", str(tmp_path / "base.json")),
                  "a comparison needs the same data", tmp_path)


def test_sets_with_one_value_unknown_ids_and_partial_sets_are_counted(tmp_path):
    manifest = pd.DataFrame({"set_id": ["s1", "s1", "s2", "s2", "s3", "s4", "s4"],
                             "attribute": ["site"] * 7, "value": ["a", "b", "a", "zz", "a", "a", "b"],
                             "id": ["r0", "r1", "r2", "nope", "r3", "r4", "r5"]})
    result = invoke(tmp_path, predictions(), manifest=manifest)
    assert result.exit_code == 0, result.output
    entry = json.loads((tmp_path / "run" / "results.json").read_text())["counterfactual"]["site"]
    assert entry["n_identities"] == 2 and entry["n_sets_skipped"] == 2
    assert entry["skipped_rows"] == {"unknown id (not among the audited items)": 1}


CELL = st.one_of(st.just(""), st.just("nan"), st.just("-1"), st.just("2"), st.just("0.5"), st.just("happy"),
                 st.just("sad"), st.just("joy"), st.just("r1"), st.just("\x1b[31m"), st.just("\u202e"),
                 st.text(max_size=4))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["id", "label", "prediction", "prob_happy",
                                                                        "prob_sad", "site"]), CELL), max_size=6))
def test_corrupted_predictions_never_crash(tmp_path_factory, edits):
    tmp_path = tmp_path_factory.mktemp("corrupt")
    frame = predictions().astype(object)
    for row, column, value in edits:
        frame.loc[row, column] = value
    result = invoke(tmp_path, frame)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert_exit_2(result, "", tmp_path)
    else:
        json.loads((tmp_path / "run" / "results.json").read_text())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["set_id", "attribute", "value", "id"]), CELL),
                      max_size=5))
def test_corrupted_manifests_never_crash(tmp_path_factory, edits):
    """Any field of a counterfactual manifest empty, a control character, a number, an unknown id: 0 or one line."""
    tmp_path = tmp_path_factory.mktemp("corrupt-manifest")
    manifest = pd.DataFrame({"set_id": ["s1", "s1", "s2", "s2", "s3", "s3"], "attribute": ["site"] * 6,
                             "value": ["a", "b"] * 3, "id": [f"r{i}" for i in range(6)]}).astype(object)
    for row, column, value in edits:
        manifest.loc[row, column] = value
    result = invoke(tmp_path, predictions(), manifest=manifest)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert_exit_2(result, "", tmp_path)
    else:
        json.loads((tmp_path / "run" / "results.json").read_text())
