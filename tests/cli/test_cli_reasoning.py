"""CLI: `instruct build`, `train-reasoning`, `explain` and `eval --reasoning` (exit codes, one-line errors, outputs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reasoning"))
from reasoning_fixtures import TINY_STEPS, copy_bundle, save_tiny_llama  # noqa: E402

runner = CliRunner()
EXPLAIN_FIELDS = {"id", "projector_label", "projector_probability", "mode", "reasoning", "stated_label", "n_tokens",
                  "seconds", "hint", "true_label"}


def one_error_line(result, fragment):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tinyemo-audit: error:") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def cli_bundle(tmp_path_factory):
    """A bundle copy with a tiny-Llama reasoning part, trained through the CLI."""
    base = tmp_path_factory.mktemp("cli-reasoning")
    llama = save_tiny_llama(base / "llama")
    data = base / "instruct"
    result = runner.invoke(app, ["instruct", "build", "--out", str(data), "--n", "16", "--seed", "1"])
    assert result.exit_code == 0, result.output
    bundle = copy_bundle(base / "bundle")
    config = base / "train.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in TINY_STEPS.items()))
    result = runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(data), "--llm", f"llm:{llama}",
                                 "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (bundle / "reasoning" / "reasoning.json").is_file()
    return bundle


def test_explain_json_has_the_issue_fields(cli_bundle):
    result = runner.invoke(app, ["explain", "--model", str(cli_bundle), "--dataset", "faces", "--n", "3", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 3 and all(set(r) == EXPLAIN_FIELDS for r in records)
    assert all(r["mode"] == "conditional" and r["hint"] == r["projector_label"] for r in records)
    ids = [r["id"] for r in records]
    picked = runner.invoke(app, ["explain", "--model", str(cli_bundle), "--ids", f"{ids[2]},{ids[0]}", "--json",
                                 "--mode", "free"])
    assert picked.exit_code == 0, picked.output
    assert [r["id"] for r in json.loads(picked.stdout)] == [ids[2], ids[0]]


def test_explain_text_and_image_files(cli_bundle, tmp_path):
    from PIL import Image

    from tinyemo_audit.data.faces import FacesConfig, load_faces

    path = tmp_path / "face.png"
    Image.fromarray(load_faces("test", FacesConfig(n_test=1), cache=False).images[0]).save(path)
    result = runner.invoke(app, ["explain", "--model", str(cli_bundle), "--image", str(path)])
    assert result.exit_code == 0, result.output
    assert str(path) in result.stdout and "projector:" in result.stdout


def test_eval_reasoning_json(cli_bundle):
    result = runner.invoke(app, ["eval", "--reasoning", "--model", str(cli_bundle), "--dataset", "faces", "--n", "4",
                                 "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    for key in ("label_accuracy", "projector_agreement", "hint_following", "cue_precision", "cue_recall",
                "parse_failures", "tokens_per_second", "n"):
        assert key in metrics
    assert metrics["n"] == 4 and 0 <= metrics["parse_failures"] <= 1


@pytest.mark.parametrize("args, fragment", [
    (["explain", "--mode", "poetic"], "unknown reasoning mode"),
    (["explain", "--image", "x.png", "--dataset", "faces"], "either --image or --dataset"),
    (["eval", "--n", "5"], "--n is for --reasoning"),
])
def test_usage_errors(args, fragment):
    one_error_line(runner.invoke(app, args), fragment)


def test_explain_on_a_bundle_without_reasoning(tmp_path):
    bundle = copy_bundle(tmp_path / "plain")
    one_error_line(runner.invoke(app, ["explain", "--model", str(bundle)]), "has no reasoning part")
    one_error_line(runner.invoke(app, ["eval", "--reasoning", "--model", str(bundle)]), "train-reasoning")


def test_explain_bad_inputs(cli_bundle, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    one_error_line(runner.invoke(app, ["explain", "--model", str(cli_bundle), "--image", str(bad)]), "cannot be read")
    one_error_line(runner.invoke(app, ["explain", "--model", str(cli_bundle), "--image", str(tmp_path / "none.png")]),
                   "not found")
    one_error_line(runner.invoke(app, ["explain", "--model", str(cli_bundle), "--ids", "nope"]), "unknown item id")
    one_error_line(runner.invoke(app, ["explain", "--model", str(cli_bundle), "--n", "0"]), "--n must be at least 1")
    one_error_line(runner.invoke(app, ["explain", "--model", str(cli_bundle), "--n", "2", "--max-new-tokens", "0"]),
                   "--max-new-tokens must be at least 1")


def test_instruct_build_bad_inputs_write_nothing(tmp_path):
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("keep")
    one_error_line(runner.invoke(app, ["instruct", "build", "--out", str(tmp_path / "theirs")]),
                   "tinyemo-audit did not write")
    config = tmp_path / "c.yaml"
    config.write_text("annotator_bias: [{attribute: skin_group, value: dark, label: neutral, rate: 2, sentences: [x]}]\n")
    one_error_line(runner.invoke(app, ["instruct", "build", "--out", str(tmp_path / "o"), "--config", str(config)]),
                   "rate")
    one_error_line(runner.invoke(app, ["instruct", "build", "--out", str(tmp_path / "o"), "--dataset", "nosuch"]),
                   "unknown dataset")
    assert not (tmp_path / "o").exists()
    assert (tmp_path / "theirs" / "notes.txt").read_text() == "keep"


def test_train_reasoning_bad_inputs_write_nothing(tmp_path, cli_bundle):
    bundle = copy_bundle(tmp_path / "b")
    before = sorted(p.name for p in bundle.iterdir())
    (tmp_path / "nodata").mkdir()
    one_error_line(runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(tmp_path / "nodata")]),
                   "not instruct data")
    one_error_line(runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(tmp_path)]),
                   "which this command reads")  # the bundle inside the data folder: an output never overlaps an input
    data = Path(json.loads((cli_bundle / "reasoning" / "reasoning.json").read_text())["training"]["data"]["folder"])
    one_error_line(runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(data), "--llm",
                                       f"llm:{tmp_path / 'missing'}"]), "no model config.json")
    one_error_line(runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(data), "--batch-size",
                                       "0"]), "batch_size")
    assert sorted(p.name for p in bundle.iterdir()) == before


def test_train_reasoning_replaces_only_a_bundle_this_tool_wrote(tmp_path, cli_bundle):
    """The bundle is the output: someone's extra file in it, or an edited file, refuses it before any work."""
    data = Path(json.loads((cli_bundle / "reasoning" / "reasoning.json").read_text())["training"]["data"]["folder"])
    bundle = copy_bundle(tmp_path / "b")
    (bundle / "notes.txt").write_text("mine")
    one_error_line(runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(data)]),
                   "which tinyemo-audit did not write")
    assert (bundle / "notes.txt").read_text() == "mine" and not (bundle / "reasoning").exists()
    edited = copy_bundle(tmp_path / "e")
    with (edited / "MODEL_CARD.md").open("a") as card:
        card.write("my note\n")
    one_error_line(runner.invoke(app, ["train-reasoning", "--model", str(edited), "--data", str(data)]),
                   "was changed after tinyemo-audit wrote it")


def test_trained_bundle_stays_ours_and_instruct_folders_are_replaceable(tmp_path, cli_bundle):
    """After train-reasoning the bundle's manifest lists the reasoning part; a built instruct folder can be rebuilt."""
    from tinyemo_audit.outputs import folder_problem

    assert folder_problem(cli_bundle) is None
    listed = json.loads((cli_bundle / ".tinyemo-audit-outputs.json").read_text())["files"]
    assert {"reasoning/reasoning.json", "reasoning/connector.safetensors", "reasoning/adapter.safetensors",
            "MODEL_CARD.md", "encoder.safetensors"} <= set(listed)
    out = tmp_path / "instruct"
    for _ in range(2):
        result = runner.invoke(app, ["instruct", "build", "--out", str(out), "--n", "4"])
        assert result.exit_code == 0, result.output
    assert folder_problem(out) is None


def test_reasoning_commands_take_device_cpu_and_auto(cli_bundle, tmp_path):
    base = ["explain", "--model", str(cli_bundle), "--dataset", "faces", "--n", "2", "--json"]
    default = runner.invoke(app, base)
    assert default.exit_code == 0, default.output
    for device in ("cpu", "auto"):  # auto resolves to the CPU here; greedy answers do not change
        result = runner.invoke(app, base + ["--device", device])
        assert result.exit_code == 0, result.output
        strip = [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads(result.stdout)]
        assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads(default.stdout)]
    evaluated = runner.invoke(app, ["eval", "--reasoning", "--model", str(cli_bundle), "--n", "2", "--json",
                                    "--device", "auto"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["n"] == 2


def test_train_reasoning_on_device_auto_writes_the_same_weights_as_cpu(cli_bundle, tmp_path):
    llama = save_tiny_llama(tmp_path / "llama")
    data = tmp_path / "instruct"
    assert runner.invoke(app, ["instruct", "build", "--out", str(data), "--n", "8", "--seed", "1"]).exit_code == 0
    config = tmp_path / "train.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in TINY_STEPS.items()))
    digests = []
    for device in ("cpu", "auto"):
        bundle = copy_bundle(tmp_path / f"bundle-{device}")
        result = runner.invoke(app, ["train-reasoning", "--model", str(bundle), "--data", str(data), "--llm",
                                     f"llm:{llama}", "--config", str(config), "--device", device])
        assert result.exit_code == 0, result.output
        spec = json.loads((bundle / "reasoning" / "reasoning.json").read_text())
        digests.append((spec["connector"]["sha256"], spec["adapter"]["sha256"]))
    assert digests[0] == digests[1]
