"""Bad inputs of `mitigate` (issue 17): one line on stderr, exit 2, nothing written, before any audit."""

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.paths import models_dir

runner = CliRunner()


def assert_exit_2(result, fragment, out):
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("tinyemo-audit: error: ") and fragment in result.stderr, result.stderr
    assert not out.exists()


def mitigate(out, *args):
    return runner.invoke(app, ["mitigate", "--out", str(out), *args])


def imported_projector(tmp_path):
    """The default bundle without its training record, as an imported TinyEmo projector has none."""
    folder = tmp_path / "imported"
    shutil.copytree(models_dir() / "tinyemo-faces-mini", folder)
    spec = json.loads((folder / "bundle.json").read_text())
    spec.pop("training")
    (folder / "bundle.json").write_text(json.dumps(spec))
    return folder


@pytest.mark.parametrize("method", ["reweigh", "correlation-remover", "all"])
def test_a_retraining_method_on_a_bundle_without_training_data(method, tmp_path):
    result = mitigate(tmp_path / "out", "--model", str(imported_projector(tmp_path)), "--method", method)
    assert_exit_2(result, "records none", tmp_path / "out")


def test_an_unknown_method(tmp_path):
    assert_exit_2(mitigate(tmp_path / "out", "--method", "magic"), "unknown mitigation method", tmp_path / "out")


def test_an_attribute_the_dataset_lacks(tmp_path):
    from tinyemo_audit.data.registry import load_dataset

    load_dataset("faces", "test")  # rendered once into the session cache: a cold render draws a progress bar
    result = mitigate(tmp_path / "out", "--method", "thresholds", "--attribute", "height")
    assert_exit_2(result, "is not an attribute of", tmp_path / "out")


def test_thresholds_on_a_label_free_dataset(tmp_path):
    from PIL import Image

    rows = ["path,site"]
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
        rows.append(f"{i}.png,{'ab'[i % 2]}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    result = mitigate(tmp_path / "out", "--method", "thresholds", "--dataset", f"csv:{tmp_path / 'm.csv'}")
    assert_exit_2(result, "labelled validation data", tmp_path / "out")


@pytest.mark.parametrize("option, value, fragment", [
    ("--alpha", "1.5", "alpha must be in [0, 1]"),
    ("--projection", "sideways", "unknown projection"),
    ("--rank", "0", "rank must be in [1, 64]"),
    ("--rates", "vibes", "unknown threshold rates"),
])
def test_an_option_out_of_range(option, value, fragment, tmp_path):
    assert_exit_2(mitigate(tmp_path / "out", option, value), fragment, tmp_path / "out")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=30).filter(
    lambda t: t not in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral") and "\x00" not in t
    and not t.startswith("-")))
def test_a_target_not_in_the_taxonomy(tmp_path, target):
    out = tmp_path / "out"
    assert_exit_2(mitigate(out, "--method", "thresholds", "--target", target), "is not a class of the bundle", out)
