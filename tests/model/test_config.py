"""TrainConfig: YAML loading, overrides, and one-line errors for unknown keys and wrong types."""

import pytest

from tinyemo_audit.errors import InputError
from tinyemo_audit.model.config import TrainConfig
from tinyemo_audit.paths import configs_dir


def test_shipped_configs_load():
    for path in sorted((configs_dir() / "models").glob("*.yaml")):
        cfg = TrainConfig.from_yaml(path)
        assert cfg.dataset == "faces"
        assert cfg.name == path.stem


def test_default_bundle_config_plants_two_biases():
    cfg = TrainConfig.from_yaml(configs_dir() / "models" / "tinyemo-faces-mini.yaml")
    biases = cfg.faces["biases"]
    assert len(biases) == 2
    assert all(b["rate"] >= 0.2 for b in biases)


def test_flags_override_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("dataset: faces\nepochs: 3\nloss: cosine\n")
    cfg = TrainConfig.from_sources(path, epochs=7, loss=None, seed=5)
    assert (cfg.epochs, cfg.loss, cfg.seed) == (7, "cosine", 5)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("epochz: 3\n", "unknown key(s) epochz"),
        ("epochs: three\n", "epochs must be int"),
        ("epochs: true\n", "epochs must be int"),
        ("epochs: 0\n", "epochs must be at least 1"),
        ("- a\n- b\n", "expected a mapping"),
        ("faces: {n_trian: 5}\n", "unknown faces key(s) n_trian"),
        ("faces: {biases: [{attribute: age}]}\n", "each faces bias needs exactly the keys"),
        ("dataset: [unclosed\n", "is not valid YAML"),
        ("dataset: a\ndatasets: [b, c]\n", "either dataset (one) or datasets (several)"),
        ("datasets: features:/x\n", "datasets must be list"),
        ("datasets: [a, a]\n", "lists a dataset twice"),
        ("datasets: [a, 3]\n", "list of dataset specs"),
        ("tokenizer: 5\n", "tokenizer must be str"),
        ("bos: maybe\n", "bos must be bool"),
    ],
)
def test_bad_configs_raise_one_line(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        TrainConfig.from_yaml(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")


def test_float_accepts_int():
    assert TrainConfig.from_dict({"max_lr": 1}).max_lr == 1
