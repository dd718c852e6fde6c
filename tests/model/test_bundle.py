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
    ("projector", "d_in", "lots", "projector.d_in must be an integer, got 'lots'"),
    ("projector", "d_out", 4.0, "projector.d_out must be an integer, got 4.0"),
    ("projector", "d_in", True, "projector.d_in must be an integer, got True"),
    ("projector", "d_in", 0, "projector.d_in must be at least 1, got 0"),
    ("projector", "dropout", "0.2", "projector.dropout must be a number, got '0.2'"),
    ("loss", "temperature", "hot", "loss.temperature must be a number, got 'hot'"),
    ("loss", "temperature", -1, "loss.temperature must be positive, got -1"),
    ("taxonomy", "classes", "a,b", "taxonomy.classes must be a non-empty list of strings, got 'a,b'"),
    ("taxonomy", "classes", ["a", 3], "taxonomy.classes must be a non-empty list of strings"),
    ("taxonomy", "classes", [], "taxonomy.classes must be a non-empty list of strings"),
    ("label_space", "template", 7, "label_space.template must be a string, got 7"),
    ("label_space", "synonyms", "yes", "label_space.synonyms must be true or false, got 'yes'"),
    ("label_space", "tokenizer", 1, "label_space.tokenizer must be a string or null, got 1"),
    ("encoder", "spec", ["x"], "encoder.spec must be a string, got ['x']"),
    ("training", "datasets", [{"spec": 1}], "training.datasets must be a list of objects each with a string 'spec'"),
])
def test_a_mistyped_field_is_one_line_naming_file_and_field(bundle_dir, section, key, value, message):
    folder, spec = bundle_dir
    spec[section][key] = value
    _write(folder, spec)
    with pytest.raises(InputError) as info:
        load_bundle(folder)
    assert str(info.value) == f"{folder / 'bundle.json'}: {message}"


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(loss=[]), "'loss' must be an object, got []"),
    (lambda s: s.update(name=5), "'name' must be a string or null, got 5"),
    (lambda s: s["projector"].pop("d_in"), " lacks the key projector.d_in"),
    (lambda s: s.pop("taxonomy"), " lacks the key 'taxonomy'"),
])
def test_sections_and_required_fields(bundle_dir, change, message):
    folder, spec = bundle_dir
    change(spec)
    _write(folder, spec)
    with pytest.raises(InputError) as info:
        load_bundle(folder)
    sep = "" if message.startswith(" ") else ": "
    assert str(info.value) == f"{folder / 'bundle.json'}{sep}{message}"


def test_optional_fields_needed_later_fail_clearly(bundle_dir):
    folder, spec = bundle_dir
    del spec["loss"]["temperature"]
    _write(folder, spec)
    bundle = load_bundle(folder)  # a bundle used only for its label table need not have one
    with pytest.raises(InputError, match=r"bundle\.json lacks the key loss\.temperature$"):
        bundle.temperature
