"""CLI: joint `train` (repeatable --dataset, --tokenizer/--bos/--dtype) and `eval` tables (--zero-shot)."""

import csv
import json

import pytest
import torch
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from fixture_files import write_class_features as write_features

runner = CliRunner()
EKMAN = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
MIKELS = ("amusement", "anger", "awe", "contentment", "disgust", "excitement", "fear", "sadness")
FER = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def one_error_line(result, fragment):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli-joint")
    roots = {
        "emoset": write_features(base / "emoset", MIKELS, per_split=(6, 3, 3), seed=1),
        "emotionroi": write_features(base / "emotionroi", EKMAN, per_split=(6, 3, 3), seed=2),
        "fer": write_features(base / "fer", FER, per_split=(6, 3, 3), seed=3),
    }
    out = base / "joint"
    result = runner.invoke(app, [
        "train", "--dataset", f"features:{roots['emoset']}", "--dataset", f"features:{roots['emotionroi']}",
        "--label-space", "smollm2-135m", "--epochs", "1", "--seed", "0", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    return roots, out


def test_train_with_repeated_dataset_is_joint(trained):
    roots, out = trained
    spec = json.loads((out / "bundle.json").read_text())
    assert spec["training"]["joint"] is True
    assert [r["spec"] for r in spec["training"]["datasets"]] == [
        f"features:{roots['emoset']}", f"features:{roots['emotionroi']}",
    ]
    assert len(spec["taxonomy"]["classes"]) == 10  # 8 Mikels + joy + surprise


def test_eval_table_text(trained):
    roots, out = trained
    result = runner.invoke(app, [
        "eval", "--model", str(out), "--dataset", f"features:{roots['emotionroi']}",
        "--dataset", f"features:{roots['fer']}",
    ])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("model"))
    assert header.split()[-2:] == ["emotionroi", "fer"]
    row = next(line for line in lines if line.startswith("joint"))
    assert "emoset, emotionroi" in row
    roi_cell, fer_cell = row.split()[-2:]
    assert not roi_cell.endswith("*") and fer_cell.endswith("*")
    assert "* zero-shot" in result.stdout and "fer = features:" in result.stdout


def test_eval_table_json_shape(trained):
    roots, out = trained
    specs = [f"features:{roots[name]}" for name in ("emoset", "emotionroi", "fer")]
    args = ["eval", "--model", str(out), "--json"] + [x for s in specs for x in ("--dataset", s)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    assert [c["spec"] for c in table["columns"]] == specs
    assert [c["n_classes"] for c in table["columns"]] == [8, 6, 7]
    assert [c["taxonomy"] for c in table["columns"]] == ["mikels8", "ekman6", "fer7"]
    (row,) = table["rows"]
    assert row["model"] == "joint" and row["trained_on"] == specs[:2]
    assert [row["cells"][s]["status"] for s in specs] == ["trained on", "trained on", "zero-shot"]
    assert all(0.0 <= row["cells"][s]["accuracy"] <= 100.0 for s in specs)


def test_two_models_and_table_files(trained, tmp_path):
    roots, out = trained
    single = tmp_path / "fer-only"
    result = runner.invoke(app, ["train", "--dataset", f"features:{roots['fer']}", "--label-space", "smollm2-135m",
                                 "--epochs", "1", "--out", str(single)])
    assert result.exit_code == 0, result.output
    assert not json.loads((single / "bundle.json").read_text())["training"]["joint"]
    specs = [f"features:{roots['emotionroi']}", f"features:{roots['fer']}"]
    base = ["eval", "--model", str(out), "--model", str(single), "--dataset", specs[0], "--dataset", specs[1]]
    result = runner.invoke(app, [*base, "--markdown", "--table-out", str(tmp_path / "t.csv")])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == "| model | trained on | emotionroi | fer |"
    joint_row, fer_row = rows[1].split(" | "), rows[2].split(" | ")
    assert joint_row[-1].endswith("\\* |") and not joint_row[-2].endswith("*")
    assert fer_row[-2].endswith("\\*") and not fer_row[-1].rstrip(" |").endswith("*")
    with open(tmp_path / "t.csv", newline="") as handle:
        grid = list(csv.reader(handle))
    assert grid[0] == ["model", "trained on", "emotionroi", "fer"]
    assert [r[0] for r in grid[1:]] == ["joint", "fer-only"]
    assert grid[1][3].endswith("*") and grid[2][2].endswith("*") and not grid[2][3].endswith("*")
    md = tmp_path / "t.md"
    assert runner.invoke(app, [*base, "--table-out", str(md)]).exit_code == 0
    assert md.read_text().startswith("| model | trained on | emotionroi | fer |")
    one_error_line(runner.invoke(app, [*base, "--table-out", str(tmp_path / "t.txt")]), "must end in one of .md")


def test_zero_shot_flag(trained):
    roots, out = trained
    ok = runner.invoke(app, ["eval", "--model", str(out), "--dataset", f"features:{roots['fer']}", "--zero-shot",
                             "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["status"] == "zero-shot" and report["labels"] == list(FER) and report["n"] == 7 * 3
    refused = runner.invoke(app, ["eval", "--model", str(out), "--dataset", f"features:{roots['fer']}",
                                  "--dataset", f"features:{roots['emoset']}", "--zero-shot"])
    one_error_line(refused, "was trained on features:")


def test_mismatched_encoder_dims_exit_2(tmp_path):
    a = write_features(tmp_path / "a", EKMAN, dim=16, per_split=(2, 1, 1))
    b = write_features(tmp_path / "b", FER, dim=8, per_split=(2, 1, 1))
    result = runner.invoke(app, ["train", "--dataset", f"features:{a}", "--dataset", f"features:{b}",
                                 "--label-space", "smollm2-135m", "--out", str(tmp_path / "out")])
    one_error_line(result, "datasets disagree on feature dimension")
    assert not (tmp_path / "out").exists()


def test_tokenizer_flag_needs_an_llm_space(tmp_path):
    result = runner.invoke(app, ["train", "--dataset", f"features:{tmp_path}", "--label-space", "smollm2-135m",
                                 "--tokenizer", str(tmp_path), "--out", str(tmp_path / "out")])
    one_error_line(result, "tokenizer applies to llm:<id-or-path> only")
    result = runner.invoke(app, ["train", "--dataset", f"features:{tmp_path}", "--label-space", "minilm", "--bos",
                                 "--out", str(tmp_path / "out")])
    one_error_line(result, "bos applies to LLM label spaces only")


def _tiny_llama(folder, *, vocab_size):
    """A 16-d one-layer Llama (random weights) with a byte-level BPE tokenizer that has a BOS token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size + len(alphabet), special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=alphabet, show_progress=False)
    tk.train_from_iterator([" ".join(EKMAN + MIKELS + FER)] * 10, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=400, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, bos_token_id=1, eos_token_id=2)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return tokenizer


def test_llm_flags_reach_the_label_space(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    roots, _ = trained
    model_dir, tok_dir = tmp_path / "llama", tmp_path / "other-tokenizer"
    _tiny_llama(model_dir, vocab_size=120)
    _tiny_llama(tok_dir, vocab_size=60).save_pretrained(str(tok_dir))  # a different vocabulary
    common = ["train", "--dataset", f"features:{roots['emotionroi']}", "--label-space", f"llm:{model_dir}",
              "--epochs", "1"]
    plain = runner.invoke(app, [*common, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    tuned = runner.invoke(app, [*common, "--tokenizer", str(tok_dir), "--bos", "--dtype", "float16",
                                "--out", str(tmp_path / "tuned")])
    assert tuned.exit_code == 0, tuned.output
    recorded = json.loads((tmp_path / "tuned" / "bundle.json").read_text())["label_space"]
    assert (recorded["tokenizer"], recorded["bos"], recorded["dtype"]) == (str(tok_dir), True, "float16")
    assert recorded["dim"] == 16
    assert json.loads((tmp_path / "plain" / "bundle.json").read_text())["label_space"]["bos"] is False
    from safetensors.torch import load_file

    a = load_file(tmp_path / "plain" / "label_embeddings.safetensors")["label_embeddings"]
    b = load_file(tmp_path / "tuned" / "label_embeddings.safetensors")["label_embeddings"]
    assert a.dtype == b.dtype == torch.float32 and not torch.allclose(a, b)
    # Zero-shot classes are embedded by the bundle's own label space, with its tokenizer/BOS/dtype.
    result = runner.invoke(app, ["eval", "--model", str(tmp_path / "tuned"), "--dataset", f"features:{roots['fer']}",
                                 "--zero-shot", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["labels"] == list(FER)
