"""End to end on a TinyEmo-layout feature folder: train → bundle → eval, against a logistic probe."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.data.feature_folder import read_feature_folder
from tinyemo_audit.model.bundle import load_bundle

runner = CliRunner()
CLASSES = ("amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness")


def write_clustered_features(root, *, dim=48, n_per_class=(160, 40, 60), noise=1.6, seed=0):
    """Gaussian class clusters with overlap, so that accuracy is informative (well below 1)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(CLASSES), dim))
    for split, n in zip(("train", "val", "test"), n_per_class):
        for ci, label in enumerate(CLASSES):
            folder = root / split / label
            folder.mkdir(parents=True)
            x = centres[ci] + noise * rng.normal(size=(n, dim))
            for i, row in enumerate(x):
                torch.save(torch.tensor(row, dtype=torch.float32), folder / f"{i:04d}.pt")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = write_clustered_features(tmp_path_factory.mktemp("feats") / "mikels")
    out = tmp_path_factory.mktemp("bundles") / "mikels-smollm2"
    result = runner.invoke(
        app,
        ["train", "--dataset", f"features:{root}", "--label-space", "smollm2-135m", "--epochs", "20",
         "--seed", "3", "--encoder", "open_clip:ViT-L-14/openai", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    return root, out


def test_bundle_files_are_safe_formats(trained):
    _, out = trained
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".tinyemo-audit-outputs.json",  # the outputs manifest (JSON): what train wrote, with digests
        "MODEL_CARD.md", "bundle.json", "label_embeddings.safetensors", "metrics.json", "projector.safetensors",
    ]
    # Ordinary modes whatever safetensors does (it creates its files 0600).
    from tinyemo_audit._io import normal_file_mode

    assert {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {
        name: oct(normal_file_mode()) for name in names}
    spec = json.loads((out / "bundle.json").read_text())
    assert spec["projector"]["d_in"] == 48 and spec["projector"]["d_out"] == 576
    assert spec["taxonomy"]["classes"] == list(CLASSES)
    assert spec["training"]["selection"].startswith("best validation accuracy")


def test_eval_close_to_logistic_probe(trained):
    from sklearn.linear_model import LogisticRegression

    root, out = trained
    result = runner.invoke(app, ["eval", "--model", str(out), "--dataset", f"features:{root}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) >= {"accuracy", "per_class", "confusion", "labels", "n"}
    assert report["labels"] == list(CLASSES) and report["n"] == 8 * 60
    train, test = read_feature_folder(root, "train"), read_feature_folder(root, "test")
    probe = LogisticRegression(max_iter=2000).fit(train.features, train.labels)
    probe_acc = probe.score(test.features, test.labels)
    assert 0.5 < probe_acc < 0.99  # the task is neither trivial nor hopeless
    assert report["accuracy"] >= probe_acc - 0.05, (report["accuracy"], probe_acc)
    assert np.asarray(report["confusion"]).sum() == report["n"]


def test_same_seed_same_metrics(trained, tmp_path):
    root, first = trained
    again = tmp_path / "again"
    result = runner.invoke(
        app,
        ["train", "--dataset", f"features:{root}", "--label-space", "smollm2-135m", "--epochs", "20",
         "--seed", "3", "--encoder", "open_clip:ViT-L-14/openai", "--out", str(again)],
    )
    assert result.exit_code == 0, result.output
    a = json.loads((first / "metrics.json").read_text())
    b = json.loads((again / "metrics.json").read_text())
    assert a["test"] == b["test"] and a["projector_epochs"] == b["projector_epochs"]


def test_eval_text_output(trained):
    root, out = trained
    result = runner.invoke(app, ["eval", "--model", str(out), "--dataset", f"features:{root}"])
    assert result.exit_code == 0
    assert "accuracy" in result.stdout and "confusion" in result.stdout and "amusement" in result.stdout


def test_wrong_feature_dimension_exit_2(trained, tmp_path):
    _, out = trained
    other = write_clustered_features(tmp_path / "other", dim=12, n_per_class=(2, 2, 2))
    result = runner.invoke(app, ["eval", "--model", str(out), "--dataset", f"features:{other}"])
    assert result.exit_code == 2
    assert "expects features of dimension 48" in result.stderr


def test_load_bundle_rejects_non_bundle(tmp_path):
    from tinyemo_audit.errors import InputError

    (tmp_path / "bundle.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="is not a tinyemo-audit-bundle"):
        load_bundle(tmp_path)
