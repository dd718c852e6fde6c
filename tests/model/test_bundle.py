"""bundle.json validation on load: every field's type is checked, with bundle.json and the field named."""

import json

import pytest

from tinyemo_audit.errors import InputError
from tinyemo_audit.model.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, load_bundle


@pytest.fixture
def bundle_dir(tmp_path):
    """A loadable minimal bundle (weights are never read by load_bundle itself)."""
    from safetensors.torch import save_file
    import torch

    from tinyemo_audit.model.projector import MetricProjector, save_projector

    folder = tmp_path / "b"
    save_projector(MetricProjector(6, 4), folder / "projector.safetensors")
    save_file({"label_embeddings": torch.ones(2, 4) / 2}, str(folder / "label_embeddings.safetensors"))
    spec = {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "name": "b",
        "encoder": {"spec": "faces-mini", "weights": None, "dim": 6},
        "label_space": {"spec": "minilm", "dim": 4, "template": "{label}", "synonyms": False, "bos": False,
                        "tokenizer": None, "dtype": "float32", "trust_remote_code": False},
        "taxonomy": {"name": "t", "classes": ["a", "b"]},
        "projector": {"d_in": 6, "d_out": 4, "dropout": 0.2, "weights": "projector.safetensors"},
        "loss": {"name": "infonce", "temperature": 0.1},
        "training": {"datasets": [{"spec": "features:/x"}]},
    }
    (folder / "bundle.json").write_text(json.dumps(spec))
    return folder, spec


def _write(folder, spec):
    (folder / "bundle.json").write_text(json.dumps(spec))


def test_a_well_typed_bundle_loads(bundle_dir):
    folder, _ = bundle_dir
    bundle = load_bundle(folder)
    assert bundle.classes == ("a", "b") and bundle.temperature == 0.1


@pytest.mark.parametrize("section, key, value, message", [
    ("projector", "d_in", "lots", "projector.d_in: must be an integer; got 'lots'"),
    ("projector", "d_out", 4.0, "projector.d_out: must be an integer; got 4.0"),
    ("projector", "d_in", True, "projector.d_in: must be an integer; got True"),
    ("projector", "d_in", 0, "projector.d_in: must be at least 1; got 0"),
    ("projector", "d_in", 10**18, "projector.d_in: must be at most 1048576; got 1000000000000000000"),
    ("projector", "dropout", "0.2", "projector.dropout: must be a number; got '0.2'"),
    ("projector", "dropout", 1.5, "projector.dropout: must be less than 1.0; got 1.5"),
    ("loss", "temperature", "hot", "loss.temperature: must be a number; got 'hot'"),
    ("loss", "temperature", -1, "loss.temperature: must be greater than 0.0; got -1"),
    ("taxonomy", "classes", "a,b", "taxonomy.classes: must be a list; got 'a,b'"),
    ("taxonomy", "classes", ["a", 3], "taxonomy.classes[1]: must be a string; got 3"),
    ("taxonomy", "classes", [], "taxonomy.classes: must not be empty; got []"),
    ("taxonomy", "classes", ["a", "a"], "taxonomy.classes: lists the class 'a' twice"),
    ("taxonomy", "classes", ["a", "b\x1b[2J"], "taxonomy.classes[1]: must not hold control characters; got 'b\\x1b[2J'"),
    ("label_space", "template", 7, "label_space.template: must be a string; got 7"),
    ("label_space", "synonyms", "yes", "label_space.synonyms: must be true or false; got 'yes'"),
    ("label_space", "tokenizer", 1, "label_space.tokenizer: must be a string; got 1"),
    ("encoder", "spec", ["x"], "encoder.spec: must be a string; got ['x']"),
    ("training", "datasets", [{"spec": 1}], "training.datasets[0].spec: must be a string; got 1"),
])
def test_a_mistyped_field_is_one_line_naming_file_and_field(bundle_dir, section, key, value, message):
    folder, spec = bundle_dir
    spec[section][key] = value
    _write(folder, spec)
    with pytest.raises(InputError) as info:
        load_bundle(folder)
    assert str(info.value) == f"{folder / 'bundle.json'}: {message}"


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(loss=[]), "loss: must be a mapping; got []"),
    (lambda s: s.update(name=5), "name: must be a string; got 5"),
    (lambda s: s["projector"].pop("d_in"), "projector: missing required key 'd_in'"),
    (lambda s: s.pop("taxonomy"), "missing required key 'taxonomy'"),
])
def test_sections_and_required_fields(bundle_dir, change, message):
    folder, spec = bundle_dir
    change(spec)
    _write(folder, spec)
    with pytest.raises(InputError) as info:
        load_bundle(folder)
    assert str(info.value) == f"{folder / 'bundle.json'}: {message}"


def test_unknown_keys_are_kept_for_newer_writers(bundle_dir):
    folder, spec = bundle_dir
    spec["future_section"] = {"x": 1}
    spec["projector"]["future_key"] = [1, 2]
    _write(folder, spec)
    assert load_bundle(folder).spec["future_section"] == {"x": 1}


@pytest.mark.parametrize("text, fragment", [
    ('{"format": "tinyemo-audit-bundle", "version": NaN}', "NaN is not a JSON number"),
    ('{"format": "tinyemo-audit-bundle", "version": 1, "x": ' + "9" * 5000 + "}", "an integer of 5,000 digits"),
    ('{"format": "tinyemo-audit-bundle", "version": 1, "x": ' + "[" * 10000 + "]" * 10000 + "}", "nested more than"),
    ('{"format": "tinyemo-audit-bundle", "version": true}', "has bundle version True"),
])
def test_hostile_json_is_one_line(bundle_dir, text, fragment):
    folder, _ = bundle_dir
    (folder / "bundle.json").write_text(text)
    with pytest.raises(InputError) as info:
        load_bundle(folder)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_optional_fields_needed_later_fail_clearly(bundle_dir):
    folder, spec = bundle_dir
    del spec["loss"]["temperature"]
    _write(folder, spec)
    bundle = load_bundle(folder)  # a bundle used only for its label table need not have one
    with pytest.raises(InputError, match=r"bundle\.json lacks the key loss\.temperature$"):
        bundle.temperature


def _step_file(folder, name, **tensors):
    import numpy as np
    from safetensors.numpy import save_file

    save_file({k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}, str(folder / name))


def test_step_weights_are_read_only_from_regular_finite_files_inside_the_bundle(tmp_path):
    import os

    from tinyemo_audit.model.bundle import Bundle

    folder = tmp_path / "b"
    folder.mkdir()
    bundle = Bundle(path=folder, spec={})
    _step_file(folder, "ok.safetensors", beta=[[1.0, 2.0]], sensitive_mean=[0.5])
    assert bundle.step_tensors("ok.safetensors")["beta"].tolist() == [[1.0, 2.0]]
    _step_file(tmp_path, "outside.safetensors", beta=[[1.0]])
    with pytest.raises(InputError, match="outside the bundle"):
        bundle.step_tensors("../outside.safetensors")
    _step_file(folder, "nan.safetensors", beta=[[float("nan")]])
    with pytest.raises(InputError, match="not a finite float tensor"):
        bundle.step_tensors("nan.safetensors")
    # a FIFO would block safetensors' open forever: refused before it is opened
    os.mkfifo(folder / "pipe.safetensors")
    with pytest.raises(InputError, match="step weights .*FIFO"):
        bundle.step_tensors("pipe.safetensors")
