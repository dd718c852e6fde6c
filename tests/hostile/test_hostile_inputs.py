"""Hostile inputs through the real CLI: exit 2 with one ``error:`` line and no output files, or a counted skip.

The table of cases and outcomes is docs/hostile-inputs.md.
"""

from __future__ import annotations

import html.parser
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hostile_fixtures as hf
from tinyemo_audit.cli.main import app
from tinyemo_audit.model.bundle import list_bundles

runner = CliRunner()
ERROR = "tinyemo-audit: error: "
# What `run` and `eval` print on stderr before they fail: stage lines and tqdm bars (no errors).
needs_bundle = pytest.mark.skipif(hf.BUNDLE not in list_bundles(), reason="default bundle not trained")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def cli_process(*args) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: its own process, its true exit code and stderr."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def error_line(result) -> str:
    """Assert exit 2, no traceback, nothing on stdout and exactly one ``error:`` line; return it."""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    stderr, stdout = result.stderr, result.stdout
    assert code == 2, f"exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert "Traceback" not in stderr + stdout
    assert stdout == ""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(ERROR), lines[0]
    return lines[0][len(ERROR):]


def assert_no_output(out: Path) -> None:
    """Neither the output nor a half-written temporary sibling of it is left behind."""
    assert not out.exists()
    if out.parent.exists():
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []


def inspect_json(spec: str, *extra) -> dict:
    result = cli("datasets", "inspect", spec, "--split", "test", "--json", *extra)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def skipped_reasons(report: dict) -> dict[str, str]:
    return {s["id"]: s["reason"] for s in report["splits"]["test"]["skipped"]}


# ---------------------------------------------------------------- images inside datasets (skips)

SKIP_REASONS = {
    "zero_byte": "empty file (0 bytes)",
    "truncated": "truncated image (image file is truncated)",
    "not_an_image": "not an image Pillow can read",
    "bomb": "decompression-bomb guard: Pillow refused the image size",
}


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """test/happy: 3 good + 4 unreadable files; test/sad: 3 good + 5 files in unusual modes."""
    root = tmp_path_factory.mktemp("imagefolder")
    hf.good_images(root / "test" / "happy", 3)
    hf.good_images(root / "test" / "sad", 3, seed=1)
    hf.write_unreadable_images(root / "test" / "happy")
    hf.write_unusual_mode_images(root / "test" / "sad")
    return root


def test_bad_images_in_an_imagefolder_are_counted_skips(image_folder):
    report = inspect_json(f"imagefolder:{image_folder}")
    test = report["splits"]["test"]
    assert (report["n_items"], report["n_skipped"]) == (11, 4)
    assert test["labels"] == {"happy": 3, "sad": 8}  # CMYK, 16-bit, palette(s) and alpha all load
    assert skipped_reasons(report) == {f"happy/{k}": v for k, v in SKIP_REASONS.items()}
    assert test["problems"] == ["4 image file(s) skipped as unreadable, truncated or too large"]


def test_bad_images_in_a_csv_manifest_are_counted_skips(image_folder):
    folder = image_folder / "test"
    rows = [[f"happy/{p.name}", "happy"] for p in sorted((folder / "happy").iterdir())]
    rows += [[f"sad/{p.name}", "sad"] for p in sorted((folder / "sad").iterdir())]
    manifest = hf.write_csv(folder / "manifest.csv", ["path", "label"], rows)
    report = inspect_json(f"csv:{manifest}")
    assert (report["n_items"], report["n_skipped"]) == (11, 4)
    assert skipped_reasons(report) == {f"happy/{k}": v for k, v in SKIP_REASONS.items()}


def test_every_image_unreadable_exits_2(tmp_path):
    hf.write_unreadable_images(tmp_path / "test" / "happy")
    line = error_line(cli("datasets", "inspect", f"imagefolder:{tmp_path}", "--split", "test", "--json"))
    assert line == (f"cannot inspect imagefolder:{tmp_path}: no usable images in imagefolder:{tmp_path} "
                    f"(test split, {tmp_path / 'test'}): 4 skipped; first: decompression-bomb guard: "
                    "Pillow refused the image size")


@needs_bundle
def test_eval_counts_the_good_images(image_folder):
    result = cli("eval", "--dataset", f"imagefolder:{image_folder}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 11


@needs_bundle
def test_eval_reports_the_skipped_images(image_folder):
    result = cli("eval", "--dataset", f"imagefolder:{image_folder}", "--json")
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.stdout)
    assert (evaluation["n"], evaluation["n_skipped"]) == (11, 4)
    assert evaluation["skipped_items"] == {reason: 1 for reason in sorted(SKIP_REASONS.values())}
    text = cli("eval", "--dataset", f"imagefolder:{image_folder}").stdout
    assert "4 items skipped: 1 decompression-bomb guard" in text


@needs_bundle
def test_eval_table_shows_the_skipped_count(image_folder):
    result = cli("eval", "--dataset", f"imagefolder:{image_folder}", "--table", "--json")
    assert result.exit_code == 0, result.output
    (column,) = json.loads(result.stdout)["columns"]
    assert (column["n"], column["n_skipped"]) == (11, 4)


# ---------------------------------------------------------------- CSV manifests

def test_csv_missing_path_column(tmp_path):
    manifest = hf.write_csv(tmp_path / "m.csv", ["file", "label"], [["a.png", "happy"]])
    line = error_line(cli_process("datasets", "inspect", f"csv:{manifest}", "--json"))
    assert line == f"cannot inspect csv:{manifest}: {manifest} has no 'path' column (columns: file, label)"


@needs_bundle
def test_audit_of_a_csv_missing_its_path_column_writes_nothing(tmp_path):
    manifest = hf.write_csv(tmp_path / "m.csv", ["file", "label"], [["a.png", "happy"]])
    out = tmp_path / "run"
    line = error_line(cli("run", "--dataset", f"csv:{manifest}", "--out", out))  # not even a stage line
    assert line == f"{manifest} has no 'path' column (columns: file, label)"
    assert_no_output(out)


@needs_bundle
def test_csv_missing_label_column_when_eval_needs_labels(tmp_path):
    names = hf.good_images(tmp_path, 2)
    manifest = hf.write_csv(tmp_path / "m.csv", ["path", "group"], [[n, "a"] for n in names])
    line = error_line(cli("eval", "--dataset", f"csv:{manifest}"))
    assert line == f"csv:{manifest} test split has unlabelled items; eval needs labels"


def test_csv_every_label_unknown(tmp_path):
    names = hf.good_images(tmp_path, 2)
    manifest = hf.write_csv(tmp_path / "m.csv", ["path", "label"], [[names[0], "happy"], [names[1], "bogus"]])
    line = error_line(cli("datasets", "inspect", f"csv:{manifest}", "--taxonomy", "ekman6", "--json"))
    assert line == (f"none of the 2 labels in {manifest} is a ekman6 class (found: bogus, happy); "
                    "valid: anger, disgust, fear, joy, sadness, surprise")


def test_csv_empty_file(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(b"")
    line = error_line(cli("datasets", "inspect", f"csv:{manifest}", "--json"))
    assert line == f"cannot inspect csv:{manifest}: cannot read CSV {manifest}: No columns to parse from file"


def test_csv_header_only(tmp_path):
    manifest = hf.write_csv(tmp_path / "m.csv", ["path", "label"], [])
    line = error_line(cli("datasets", "inspect", f"csv:{manifest}", "--json"))
    assert line == f"cannot inspect csv:{manifest}: no items in csv:{manifest} (test split): {manifest} lists none"


def test_csv_not_utf8(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_bytes("path,label\nimg.png,h\xe9ureux\n".encode("latin-1"))
    line = error_line(cli("datasets", "inspect", f"csv:{manifest}", "--json"))
    assert line == (f"cannot inspect csv:{manifest}: cannot read CSV {manifest}: it is not UTF-8 text "
                    "(byte 0xe9 on line 2); save it as UTF-8")


@pytest.fixture
def rows_manifest(tmp_path):
    """Write ``path,label,gender[,id]`` rows over 4 good images; returns (csv spec, folder)."""

    def write(rows, header=("path", "label", "gender")):
        hf.good_images(tmp_path, 4)
        return f"csv:{hf.write_csv(tmp_path / 'm.csv', header, rows)}"

    return write


def test_csv_some_labels_unknown_are_skipped(rows_manifest):
    spec = rows_manifest([["ok00.png", "joy", "f"], ["ok01.png", "bogus", "m"], ["ok02.png", "anger", "m"]])
    report = inspect_json(spec, "--taxonomy", "ekman6")
    assert report["n_items"] == 2 and skipped_reasons(report) == {"ok01": "unknown label 'bogus'"}
    assert "test: unknown labels skipped: 'bogus' x1" in report["problems"]


def test_csv_nan_label_is_skipped(rows_manifest):
    report = inspect_json(rows_manifest([["ok00.png", "", "f"], ["ok01.png", "happy", "m"], ["ok02.png", "sad", "m"]]))
    assert report["n_items"] == 2 and skipped_reasons(report) == {"ok00": "missing label"}


def test_csv_nan_attribute_becomes_unknown(rows_manifest):
    report = inspect_json(rows_manifest([["ok00.png", "happy", ""], ["ok01.png", "sad", "m"], ["ok02.png", "sad", "f"]]))
    assert report["n_skipped"] == 0
    assert report["splits"]["test"]["attributes"] == {"gender": {"f": 1, "m": 1, "unknown": 1}}
    assert "test: 1 missing value(s) in attribute 'gender' set to 'unknown'" in report["problems"]


def test_csv_duplicate_paths_are_skipped(rows_manifest):
    report = inspect_json(rows_manifest([["ok00.png", "happy", "f"], ["ok00.png", "sad", "m"], ["ok01.png", "sad", "m"]]))
    assert report["n_items"] == 2 and skipped_reasons(report) == {"ok00": "duplicate id (first kept)"}


def test_csv_duplicate_ids_are_skipped(rows_manifest):
    spec = rows_manifest([["ok00.png", "happy", "f", "x"], ["ok01.png", "sad", "m", "x"], ["ok02.png", "sad", "m", "y"]],
                         header=("path", "label", "gender", "id"))
    report = inspect_json(spec)
    assert report["n_items"] == 2
    assert report["splits"]["test"]["skipped"] == [
        {"id": "x", "path": str(Path(spec[4:]).parent / "ok01.png"), "reason": "duplicate id (first kept)"}]


def test_csv_path_escaping_the_root_is_never_read(rows_manifest, tmp_path):
    spec = rows_manifest([["../../../../../../etc/passwd", "happy", "f"], ["ok00.png", "happy", "m"],
                          ["ok01.png", "sad", "f"]])
    report = inspect_json(spec)
    assert report["n_items"] == 2
    assert skipped_reasons(report) == {"../../../../../../etc/passwd": f"path leaves the dataset folder {tmp_path}"}


def test_csv_control_characters_are_skipped_with_their_field(rows_manifest, tmp_path):
    hf.random_png(tmp_path / "bell\x07.png", 9)
    spec = rows_manifest([["ok00.png", "hap\x00py", "f"], ["bell\x07.png", "sad", "m"],
                          ["ok01.png", "sad", f"{hf.RTL_OVERRIDE}m"], ["ok02.png", "happy", "f"], ["ok03.png", "sad", "m"]])
    report = inspect_json(spec)
    assert report["n_items"] == 2
    assert skipped_reasons(report) == {"ok00": "control character in label", "bell\x07": "control character in file name or id",
                                       "ok01": "control character in attribute 'gender'"}


# ---------------------------------------------------------------- feature folders

@needs_bundle
@pytest.mark.parametrize("case, line", [
    ("wrong_dim", "the projector expects features of dimension 384, got shape (6, 10)"),
    ("nan", "feature folder {root}/test contains NaN or infinite values"),
    ("inf", "feature folder {root}/test contains NaN or infinite values"),
    ("mixed_dims", "feature files disagree on dimension: {root}/test/happy/000.pt has 384, {root}/test/sad/000.pt has another"),
    ("count_mismatch", "{root}/test/features.npy holds float32 (4, 4) but the manifest says float32 (5, 4)"),
])
def test_bad_feature_folders(tmp_path, case, line):
    root = tmp_path / "features"
    ok = np.ones(384, dtype=np.float32)
    if case == "wrong_dim":
        hf.write_feature_folder(root, {"happy": [np.ones(10)] * 3, "sad": [np.ones(10)] * 3})
    elif case in ("nan", "inf"):
        hf.write_feature_folder(root, {"happy": [ok, np.full(384, np.nan if case == "nan" else np.inf)], "sad": [ok]})
    elif case == "mixed_dims":
        hf.write_feature_folder(root, {"happy": [ok], "sad": [np.ones(383)]})
    else:
        hf.write_feature_store(root, rows=4, claimed_rows=5)
        manifest = root / "test" / "manifest.json"
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": "tinyemo-audit-features"}))
    assert error_line(cli("eval", "--dataset", f"features:{root}")) == line.format(root=root)


def test_feature_file_pickle_payload_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    (tmp_path / "f" / "test" / "happy").mkdir(parents=True)
    hf.write_pickle_checkpoint(tmp_path / "f" / "test" / "happy" / "0.pt", marker)
    line = error_line(cli("datasets", "inspect", f"features:{tmp_path / 'f'}", "--split", "test"))
    assert line == (f"cannot inspect features:{tmp_path / 'f'}: cannot read feature file "
                    f"{tmp_path / 'f' / 'test' / 'happy' / '0.pt'}: UnpicklingError")
    assert not marker.exists()


# ---------------------------------------------------------------- checkpoints and bundles

IMPORT = ["import-tinyemo", "--encoder", "faces-mini", "--encoder-dim", "384", "--label-space", "minilm",
          "--taxonomy", "ekman6"]


@pytest.mark.parametrize("kind", ["torch_zip", "raw_pickle"])
def test_checkpoint_pickle_payload_never_runs(tmp_path, kind):
    marker, out = tmp_path / "PWNED", tmp_path / "bundle"
    write = hf.write_pickle_checkpoint if kind == "torch_zip" else hf.write_raw_pickle
    checkpoint = write(tmp_path / ("evil.bin" if kind == "torch_zip" else "evil.pt"), marker)
    result = cli_process(*IMPORT, "--projector", f"tinyemo:{checkpoint}", "--out", out)
    line = error_line(result)
    assert line.startswith(f"refusing checkpoint {checkpoint}: it is not a plain tensor checkpoint (it holds "
                           "Python objects that could run code when loaded")
    assert line.endswith("); convert it to safetensors")
    # torch's own advice (re-run with weights_only=False) is wrong for a hostile file: never relayed.
    assert "weights_only" not in line and "likely succeed" not in line
    assert not marker.exists()
    assert_no_output(out)
    # The payload is live: an unsafe load would have run it (so the check above can fail).
    control = tmp_path / "control"
    unsafe = ("import torch,sys; torch.load(sys.argv[1], weights_only=False)" if kind == "torch_zip"
              else "import pickle,sys; pickle.load(open(sys.argv[1], 'rb'))")
    subprocess.run([sys.executable, "-c", unsafe, str(write(tmp_path / f"live{checkpoint.suffix}", control))],
                   capture_output=True, timeout=60)
    assert control.exists()


@pytest.mark.parametrize("case, line", [
    ("wrong_shape", "TinyEmo projector p.safetensors takes 5-d image features (model.0.weight [7, 5]) but encoder "
                    "faces-mini gives 384-d features"),
    ("garbage", "cannot load checkpoint {file}: Error while deserializing header: invalid header length"),
])
def test_bad_safetensors_checkpoint(tmp_path, case, line):
    from safetensors.numpy import save_file

    file, out = tmp_path / "p.safetensors", tmp_path / "bundle"
    if case == "wrong_shape":
        save_file({"model.0.weight": np.zeros((7, 5), np.float32), "model.4.weight": np.zeros((3, 7), np.float32)}, str(file))
    else:
        file.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    assert error_line(cli(*IMPORT, "--projector", f"tinyemo:{file}", "--out", out)) == line.format(file=file)
    assert_no_output(out)


@needs_bundle
@pytest.mark.parametrize("case, line", [
    ("json_corrupt", "bundle file {b}/bundle.json is not valid JSON: Expecting property name enclosed in double "
                     "quotes (line 1, column 2)"),
    ("json_list", "{b}/bundle.json is not a tinyemo-audit-bundle file"),
    ("json_wrong_type", "{b}/bundle.json: projector.d_in: must be an integer; got 'lots'"),
    ("missing_file", "bundle {b} lacks projector.safetensors"),
    ("int_weights", "projector {b}/projector.safetensors: projector checkpoint entry 'model.0.bias' is torch.int32, "
                    "expected a floating-point tensor"),
    ("nan_weights", "projector {b}/projector.safetensors: projector checkpoint entry 'model.4.weight' contains NaN "
                    "or infinite values"),
])
def test_damaged_bundles(tmp_path, case, line):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    bundle = hf.copy_bundle(tmp_path / "b")
    projector = bundle / "projector.safetensors"
    if case == "json_corrupt":
        (bundle / "bundle.json").write_text("{not json")
    elif case == "json_list":
        (bundle / "bundle.json").write_text("[1, 2]")
    elif case == "json_wrong_type":
        spec = json.loads((bundle / "bundle.json").read_text())
        spec["projector"]["d_in"] = "lots"
        (bundle / "bundle.json").write_text(json.dumps(spec))
    elif case == "missing_file":
        projector.unlink()
    else:
        with safe_open(str(projector), "np") as handle:
            metadata = handle.metadata()
        tensors = load_file(str(projector))
        if case == "int_weights":
            tensors = {k: v.astype(np.int32) for k, v in tensors.items()}
        else:
            tensors["model.4.weight"] = np.full_like(tensors["model.4.weight"], np.nan)
        save_file(tensors, str(projector), metadata=metadata)
    hf.write_feature_folder(tmp_path / "f", {"happy": [np.ones(384)], "sad": [np.ones(384)]})
    assert error_line(cli("eval", "--model", bundle, "--dataset", f"features:{tmp_path / 'f'}")) == line.format(b=bundle)


# ---------------------------------------------------------------- configs

BAD_YAML = {
    "unknown_key": "bogus_key: 1\n",
    "wrong_type": "{key}: lots\n",
    "not_a_mapping": "- 1\n- 2\n",
    "python_tag": hf.PYTHON_TAG_YAML,
}
EXPECTED_CONFIG_ERRORS = {
    ("train", "unknown_key"): "{p}: unknown key 'bogus_key'; valid keys: dataset, datasets, encoder, encoder_weights, "
                              "encoder_epochs, label_space, tokenizer, bos, dtype, template, synonyms, taxonomy, loss, "
                              "temperature, epochs, batch_size, max_lr, weight_decay, dropout, seed, "
                              "trust_remote_code, name, description, faces",
    ("train", "wrong_type"): "{p}: epochs: must be an integer; got 'lots'",
    ("train", "not_a_mapping"): "{p}: expected a mapping of settings, got list",
    ("train", "python_tag"): "training config file {p} is not valid YAML: could not determine a constructor for the tag "
                             "'tag:yaml.org,2002:python/object/apply:os.system' (line 1, column 7)",
    ("audit", "unknown_key"): "{p}: unknown key 'bogus_key'; valid keys: n_boot, n_perm, n_perm_paired, q_max, "
                              "min_group_size, min_effect, twins_per_attribute, reference_groups, skew_k, discovery, "
                              "example_reasoning, association_sets, text_probes",
    ("audit", "wrong_type"): "{p}: n_boot: must be an integer; got 'lots'",
    ("audit", "not_a_mapping"): "{p}: expected a mapping of settings, got list",
    ("audit", "python_tag"): "audit config {p} is not valid YAML: could not determine a constructor for the tag "
                             "'tag:yaml.org,2002:python/object/apply:os.system' (line 1, column 7)",
    ("gates", "unknown_key"): "{p}: unknown key 'bogus_key'; valid keys: version, description, when_missing, baseline, gates",
    ("gates", "wrong_type"): "{p}: gates: must be a list; got 'lots'",
    ("gates", "not_a_mapping"): "{p}: must be a mapping; got [1, 2]",
    ("gates", "python_tag"): "gate file {p} is not valid YAML: could not determine a constructor for the tag "
                             "'tag:yaml.org,2002:python/object/apply:os.system' (line 1, column 7)",
}


@needs_bundle
@pytest.mark.parametrize("what, case", sorted(EXPECTED_CONFIG_ERRORS))
def test_bad_config_files(tmp_path, what, case):
    marker, out = tmp_path / "PWNED", tmp_path / "out"
    key = {"train": "epochs", "audit": "n_boot", "gates": "gates"}[what]
    text = BAD_YAML[case].format(key=key, marker=marker)
    if what == "gates" and case == "wrong_type":
        text = "version: 1\n" + text
    config = hf.write_text(tmp_path / f"{what}.yaml", text)
    if what == "train":
        args = ["train", "--config", config, "--out", out]
    else:
        args = ["run", "--dataset", "faces", "--out", out, "--config" if what == "audit" else "--gates", config]
    assert error_line(cli(*args)) == EXPECTED_CONFIG_ERRORS[(what, case)].format(p=config)
    assert not marker.exists()
    assert_no_output(out)


def test_audit_config_python_tag_in_a_real_process(tmp_path):
    marker, out = tmp_path / "PWNED", tmp_path / "out"
    config = hf.write_text(tmp_path / "audit.yaml", hf.PYTHON_TAG_YAML.format(marker=marker))
    line = error_line(cli_process("run", "--config", config, "--out", out))
    assert line.startswith(f"audit config {config} is not valid YAML: could not determine a constructor")
    assert not marker.exists()
    assert_no_output(out)


# ---------------------------------------------------------------- names and numbers

@pytest.mark.parametrize("args, line", [
    (["run", "--dataset", "nosuch:/x"], "unknown dataset 'nosuch:/x'; valid choices: abstract:<...>, artphoto:<...>, "
                                        "csv:<...>, emoset:<...>, emotion6:<...>, emotionroi:<...>, faces, "
                                        "fairface:<...>, features:<...>, fer2013:<...>, fi:<...>, imagefolder:<...>, "
                                        "rafdb:<...>, unbiasedemo:<...>, utkface:<...>, webemo:<...>"),
    (["eval", "--split", "dev"], "unknown split 'dev'; valid choices: train, val, test"),
    (["run", "--n", "0"], "--n must be an integer from 2 to 1,000,000,000; got 0"),
    (["run", "--n", "-5"], "--n must be an integer from 2 to 1,000,000,000; got -5"),
    (["run", "--n-twins", "0"], "--n-twins must be an integer from 2 to 5,000; got 0"),
    (["run", "--seed", "-1"], "--seed must be an integer from 0 to 4,294,967,295; got -1"),
    (["run", "--seed", str(2**32)], "--seed must be an integer from 0 to 4,294,967,295; got 4294967296"),
])
def test_bad_names_and_numbers(tmp_path, args, line):
    out = tmp_path / "out"
    assert error_line(cli(*args, *(["--out", out] if args[0] == "run" else []))) == line
    assert_no_output(out)


@needs_bundle
def test_unknown_model_lists_choices_in_a_real_process(tmp_path):
    line = error_line(cli_process("run", "--model", "nosuch", "--out", tmp_path / "out"))
    assert line.startswith("unknown model 'nosuch'; valid choices: <bundle folder>, ")
    assert hf.BUNDLE in line
    assert_no_output(tmp_path / "out")


# ---------------------------------------------------------------- one real audit on a hostile manifest

@pytest.fixture(scope="module")
def hostile_audit(tmp_path_factory):
    """24 usable rows with HTML and quotes in labels, file names and groups, plus 3 rows with control
    characters; ``site`` has a single group and ``region`` is empty everywhere."""
    folder = tmp_path_factory.mktemp("hostile-audit")
    labels = (hf.SCRIPT, "it's \"sad\"")
    groups = ("<b>north</b>", "south & \"east\"")
    rows = []
    for i in range(24):
        name = f"{hf.IMG_TAG}'\"{i:02d}.png"
        hf.random_png(folder / name, i)
        rows.append([name, labels[i % 2], groups[i * 2 // 24], "HQ", ""])
    for i, (label, group) in enumerate([("bell\x07", groups[0]), (labels[0], f"{hf.RTL_OVERRIDE}south"),
                                        (labels[1], "north\x1b[31m")]):
        hf.random_png(folder / f"ctl{i}.png", 100 + i)
        rows.append([f"ctl{i}.png", label, group, "HQ", ""])
    manifest = hf.write_csv(folder / "m.csv", ["path", "label", "group", "site", "region"], rows)
    out = folder / "run"
    result = cli("run", "--dataset", f"csv:{manifest}", "--out", out, "--seed", "0")
    return folder, out, result


@needs_bundle
def test_hostile_text_reaches_the_report_escaped(hostile_audit):
    folder, out, result = hostile_audit
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["n"] == 24
    assert sorted(results["run"]["classes"]) == sorted([hf.SCRIPT, "it's \"sad\""])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert hf.SCRIPT not in page and hf.IMG_TAG not in page and "<b>north</b>" not in page
    assert "&lt;script&gt;" in page or "\\u003cscript\\u003e" in page
    for bad in ("\x07", "\x1b", hf.RTL_OVERRIDE):
        assert bad not in page

    class Tags(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.handlers, self.script_text = [], []
            self._in_script = False

        def handle_starttag(self, tag, attrs):
            self.handlers += [(tag, k) for k, _ in attrs if k.startswith("on")]
            self._in_script = tag == "script"

        def handle_endtag(self, tag):
            self._in_script = False if tag == "script" else self._in_script

        def handle_data(self, data):
            if self._in_script:
                self.script_text.append(data)

    parser = Tags()
    parser.feed(page)
    parser.close()
    assert parser.handlers == []
    assert not any('alert("owned")' in text for text in parser.script_text)


@needs_bundle
def test_audit_reports_the_items_it_skipped(hostile_audit):
    _, out, _ = hostile_audit
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["n_skipped_items"] == 3
    assert results["run"]["skipped_items"] == {"control character in attribute 'group'": 2,
                                               "control character in label": 1}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "3 dataset items skipped while loading: 2 control character in attribute &#x27;group&#x27;, " in page


@needs_bundle
def test_audit_reports_attributes_without_two_groups(hostile_audit):
    _, out, _ = hostile_audit
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["protected_attributes"] == ["group"]
    entries = {s["probe"]: s for s in results["run"]["skipped"]}
    site, region = entries["group comparisons by attribute 'site'"], entries["group comparisons by attribute 'region'"]
    assert site["reason"].startswith("attribute 'site' has a single group ('HQ') in the audited items")
    assert region["reason"].startswith("attribute 'region' has no values in the audited items")
    assert "disparities.site" in site["metrics"] and "performance.by_attribute.region" in region["metrics"]


@needs_bundle
def test_out_that_is_an_existing_file(hostile_audit):
    folder, _, _ = hostile_audit
    target = folder / "notes.txt"
    target.write_text("keep me")
    result = cli("run", "--dataset", f"csv:{folder / 'm.csv'}", "--out", target)
    assert target.read_text() == "keep me"
    assert error_line(result) == f"--out {target} is a file; give a folder"


@pytest.mark.parametrize("contents", [
    {"chapter1.tex": "keep me"},
    # Another tool's results folder: a results.json does not make a folder a run this tool wrote.
    {"results.json": "{}", "figures.csv": "a,b\n"},
    {"results.json": "{}"},
])
def test_out_that_is_a_folder_this_tool_did_not_write(tmp_path, contents):
    from tinyemo_audit.outputs import MANIFEST_NAME, NOT_OURS_FOLDER

    target = tmp_path / "thesis"
    target.mkdir()
    for name, text in contents.items():
        (target / name).write_text(text)
    line = error_line(cli("run", "--dataset", "faces", "--out", target))
    assert line == f"--out {target} " + NOT_OURS_FOLDER.format(manifest=MANIFEST_NAME)
    assert {p.name: p.read_text() for p in target.iterdir()} == contents


def test_out_that_is_new_empty_or_a_run_this_tool_wrote_is_accepted(tmp_path):
    from tinyemo_audit.audit.runner import run_outputs
    from tinyemo_audit.outputs import write_folder_manifest

    (tmp_path / "empty").mkdir()
    (tmp_path / "old-run").mkdir()
    (tmp_path / "old-run" / "results.json").write_text("{}")
    write_folder_manifest(tmp_path / "old-run")
    for ok in (tmp_path / "new", tmp_path / "empty", tmp_path / "old-run"):
        run_outputs(ok, junit=None, dataset="faces", model="tinyemo-faces-mini", config=None, gates=None).check()


# ---------------------------------------------------------------- outputs: never an input, never someone's file
# Rows 60-78 of docs/hostile-inputs.md (classes 1 and 4): every case exits 2 with one line before any work,
# and what stood at the path is unchanged.

GATES = Path(__file__).resolve().parents[2] / "configs" / "gates" / "lenient.yaml"


@pytest.fixture
def run_copy(hostile_audit, tmp_path):
    """A private copy of the hostile audit's run folder (its manifest included)."""
    import shutil

    _, out, result = hostile_audit
    if result.exit_code != 0:
        pytest.skip("the hostile audit did not run")
    return Path(shutil.copytree(out, tmp_path / "run"))


def _unchanged(paths: list[Path]):
    before = {p: p.read_bytes() for p in paths}
    return lambda: all(p.read_bytes() == data for p, data in before.items())


@needs_bundle
@pytest.mark.parametrize("args, fragment", [
    (["report", "{results}", "--out", "{results}"], "--out {results} is the results file this command reads"),
    (["report", "{results}", "--out", "{link}"], "--out {link} is the results file this command reads"),
    (["gate", "{results}", "--gates", "{gates}", "--junit", "{results}"],
     "--junit {results} is the results file this command reads"),
    (["gate", "{results}", "--gates", "{gates}", "--summary", "{gates}"],
     "--summary {gates} is the gate file this command reads"),
    (["gate", "{results}", "--gates", "{gates}", "--junit", "{run}/x.xml", "--summary", "{run}/x.xml"],
     "--summary {run}/x.xml overlaps --junit {run}/x.xml"),
    (["report", "{results}", "--out", "{run}"], "--out {run} is a folder; give a file path"),
    (["gate", "{results}", "--gates", "{gates}", "--junit", "{tmp}"], "--junit {tmp} is a folder; give a file path"),
    (["report", "{results}", "--out", "{notes}"], "--out {notes} exists and was not written by tinyemo-audit"),
    (["report", "{results}", "--out", "{notes}/report.html"],
     "--out {notes}/report.html cannot be created: {notes} is a file, not a folder"),
    (["report", "{results}", "--out", "/proc/tinyemo/report.html"], "is under /proc"),
    (["report", "{results}", "--out", "/sys/report.html"], "is under /sys"),
    (["report", "{results}", "--out", "/dev/null"], "--out /dev/null is a character device, not a file"),
])
def test_outputs_that_are_inputs_or_unwritable_are_refused_before_any_work(run_copy, tmp_path, args, fragment):
    import shutil

    results, notes, link = run_copy / "results.json", tmp_path / "notes.html", tmp_path / "link.json"
    notes.write_text("my notes")
    link.symlink_to(results)
    gates = Path(shutil.copy(GATES, tmp_path / "gates.yaml"))
    values = dict(results=results, run=run_copy, gates=gates, notes=notes, link=link, tmp=tmp_path)
    same = _unchanged([results, notes, gates, *run_copy.iterdir()])
    line = error_line(cli(*[a.format(**values) for a in args]))
    assert fragment.format(**values) in line
    assert same()
    assert not (run_copy / "x.xml").exists() and not (run_copy / "junit.xml").exists()


@needs_bundle
def test_report_rewrites_its_own_page_but_not_one_a_person_edited(run_copy):
    page = run_copy / "report.html"
    result = cli("report", run_copy / "results.json")
    assert result.exit_code == 0, result.output
    page.write_text(page.read_text() + "<!-- my review notes -->")
    line = error_line(cli("report", run_copy / "results.json"))
    assert line == f"--out {page} was changed after tinyemo-audit wrote it"
    assert page.read_text().endswith("<!-- my review notes -->")


@needs_bundle
def test_gate_writes_junit_and_summary_beside_the_run_and_keeps_it_replaceable(run_copy):
    from tinyemo_audit.outputs import folder_problem

    result = cli("gate", run_copy / "results.json", "--gates", GATES)
    assert result.exit_code in (0, 1), result.output
    assert (run_copy / "junit.xml").is_file() and (run_copy / "summary.md").is_file()
    assert folder_problem(run_copy) is None  # a later `run --out` may still replace it whole


@pytest.mark.parametrize("where", ["root", "inside", "symlink"])
def test_run_out_pointing_at_the_dataset_folder_is_refused(tmp_path, where):
    root = tmp_path / "faces-photos"
    hf.good_images(root / "test" / "happy", 2)
    hf.good_images(root / "test" / "sad", 2, seed=1)
    out = {"root": root, "inside": root / "test" / "report", "symlink": tmp_path / "alias"}[where]
    if where == "symlink":
        out.symlink_to(root)
    same = _unchanged(sorted(p for p in root.rglob("*") if p.is_file()))
    line = error_line(cli("run", "--dataset", f"imagefolder:{root}", "--out", out))
    assert "dataset imagefolder:" in line and "this command reads" in line
    assert same() and not (root / "test" / "report").exists()


def test_a_cache_path_that_is_a_file_is_refused_before_any_work(tmp_path):
    cache = tmp_path / "cache"
    cache.write_text("a file")
    env_result = subprocess.run(
        [sys.executable, "-m", "tinyemo_audit.cli.main", "run", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env={**os.environ, "TINYEMO_AUDIT_CACHE": str(cache)}, timeout=120)
    line = error_line(env_result)
    assert line.startswith(f"the cache folder {cache} is a file; give a folder")
    assert cache.read_text() == "a file"
    assert_no_output(tmp_path / "run")


def test_train_out_that_is_not_a_bundle_this_tool_wrote_is_refused(tmp_path):
    from tinyemo_audit.outputs import MANIFEST_NAME, NOT_OURS_FOLDER

    target = tmp_path / "my-models"
    target.mkdir()
    (target / "weights.bin").write_bytes(b"\x00" * 8)
    line = error_line(cli("train", "--out", target, "--epochs", "1"))
    assert line == f"--out {target} " + NOT_OURS_FOLDER.format(manifest=MANIFEST_NAME)
    assert [p.name for p in target.iterdir()] == ["weights.bin"]


def test_train_out_that_is_a_bundle_with_an_edited_file_is_refused(tmp_path):
    bundle = hf.copy_bundle(tmp_path / "b")
    (bundle / "MODEL_CARD.md").write_text("my edits")
    line = error_line(cli("train", "--out", bundle, "--epochs", "1"))
    assert line == f"--out {bundle} holds MODEL_CARD.md, which was changed after tinyemo-audit wrote it"


@pytest.mark.parametrize("where", ["not ours", "file", "proc", "inside data"])
def test_instruct_build_out_follows_the_output_rules(tmp_path, where):
    from tinyemo_audit.outputs import MANIFEST_NAME, NOT_OURS_FOLDER

    data = tmp_path / "photos"
    (data / "happy").mkdir(parents=True)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("keep")
    (tmp_path / "file.txt").write_text("keep")
    target, dataset, expected = {
        "not ours": (notes, "faces", f"--out {notes} " + NOT_OURS_FOLDER.format(manifest=MANIFEST_NAME)),
        "file": (tmp_path / "file.txt", "faces", f"--out {tmp_path / 'file.txt'} is a file; give a folder"),
        "proc": (Path("/proc/tinyemo/instruct"), "faces", "is under /proc"),
        "inside data": (data / "instruct", f"imagefolder:{data}", "which this command reads"),
    }[where]
    line = error_line(cli("instruct", "build", "--out", target, "--dataset", dataset, "--n", "4"))
    assert line.startswith(expected) if where in ("not ours", "file") else expected in line
    assert (notes / "mine.txt").read_text() == "keep" and (tmp_path / "file.txt").read_text() == "keep"
    assert not (data / "instruct").exists()


def test_train_reasoning_refuses_a_bundle_it_did_not_write_before_any_work(tmp_path):
    from tinyemo_audit.outputs import MANIFEST_NAME, NOT_OURS_FOLDER

    bundle = hf.copy_bundle(tmp_path / "b")
    (bundle / MANIFEST_NAME).unlink()
    before = sorted(p.relative_to(bundle) for p in bundle.rglob("*"))
    line = error_line(cli("train-reasoning", "--model", bundle, "--data", tmp_path / "nowhere"))
    assert line == f"--model {bundle} " + NOT_OURS_FOLDER.format(manifest=MANIFEST_NAME)
    assert sorted(p.relative_to(bundle) for p in bundle.rglob("*")) == before


def test_embed_out_that_is_not_a_feature_cache_is_refused(tmp_path):
    target = tmp_path / "feats"
    (target / "test").mkdir(parents=True)
    (target / "test" / "features.npy").write_bytes(b"someone's array")
    line = error_line(cli("embed", "--encoder", "faces-mini", "--dataset", "faces", "--out", target))
    assert line.startswith(f"--out {target} is not a feature cache embed wrote")
    assert (target / "test" / "features.npy").read_bytes() == b"someone's array"


@pytest.mark.parametrize("name", ["table.md", "folder.md"])
def test_eval_table_out_is_checked_before_any_evaluation(tmp_path, name):
    target = tmp_path / name
    if name == "folder.md":
        target.mkdir()
    else:
        target.write_text("| my | table |")
    line = error_line(cli("eval", "--table-out", target, "--model", "no-such-bundle"))
    assert line.startswith(f"--table-out {target} ")
    if name == "table.md":
        assert target.read_text() == "| my | table |"


def test_faces_preview_refuses_a_png_it_did_not_write(tmp_path):
    png = tmp_path / "holiday.png"
    hf.random_png(png, 0)
    same = _unchanged([png])
    line = error_line(cli_process("faces", "preview", "--out", png))
    assert line == f"--out {png} exists and was not written by tinyemo-audit (its folder's .tinyemo-audit-outputs.json does not list it)"
    assert same()


def test_an_output_name_that_is_not_utf8_is_written_and_recognised(tmp_path):
    """Row O18: undecodable bytes in a file name reach stdout and the manifest escaped, never as a crash."""
    target = os.fsencode(tmp_path) + b"/sheet-\xff.png"
    for _ in range(2):  # the second run replaces the first: the manifest recognises the odd name
        result = subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", "faces", "preview", "--out", target],
                                capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
        assert (result.returncode, result.stderr) == (0, b""), result.stderr
        assert b"\\udcff" in result.stdout
    assert os.path.isfile(target)
    listed = json.loads((tmp_path / ".tinyemo-audit-outputs.json").read_text())["files"]
    assert list(listed) == ["sheet-\udcff.png"]
