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
        ("epochz: 3\n", "unknown key 'epochz'; valid keys: dataset, datasets, encoder"),
        ("epochs: three\n", "epochs: must be an integer; got 'three'"),
        ("epochs: true\n", "epochs: must be an integer; got True"),
        ("epochs: 0\n", "epochs: must be at least 1; got 0"),
        ("- a\n- b\n", "expected a mapping"),
        ("faces: {n_trian: 5}\n", "faces: unknown key 'n_trian'; valid keys: n_train"),
        ("faces: {biases: [{attribute: age}]}\n", "faces.biases[0]: missing required key 'value'"),
        ("dataset: [unclosed\n", "is not valid YAML"),
        ("dataset: a\ndatasets: [b, c]\n", "either dataset (one) or datasets (several)"),
        ("datasets: features:/x\n", "datasets: must be a list; got 'features:/x'"),
        ("datasets: [a, a]\n", "datasets: lists the dataset 'a' twice"),
        ("datasets: [a, 3]\n", "datasets[1]: must be a string; got 3"),
        ("tokenizer: 5\n", "tokenizer: must be a string; got 5"),
        ("bos: maybe\n", "bos: must be true or false; got 'maybe'"),
        ("seed: -1\n", "seed: must be at least 0; got -1"),
        ("seed: 4294967296\n", "seed: must be at most 4294967295; got 4294967296"),
        ("epochs: null\n", "epochs: must not be null"),
        ("batch_size: 1\n", "batch_size: must be at least 2"),
        ("max_lr: .nan\n", "max_lr: must be a finite number"),
        ("dropout: 1\n", "dropout: must be less than 1"),
        ("temperature: 0\n", "temperature: must be greater than 0"),
        ("faces: {biases: [{attribute: hair, value: x, from_label: sad, to_label: angry, rate: 0.1}]}\n",
         "faces.biases[0]: unknown bias attribute 'hair'"),
        ("faces: {biases: [{attribute: age, value: adult, from_label: sad, to_label: angry, rate: 2}]}\n",
         "faces.biases[0].rate: must be at most 1"),
        ("faces: {image_size: 8}\n", "faces.image_size: must be at least 16"),
    ],
)
def test_bad_configs_raise_one_line(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        TrainConfig.from_yaml(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert len(str(info.value)) <= 378


def test_missing_config_file(tmp_path):
    with pytest.raises(InputError, match="training config file not found"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")


def test_float_accepts_int():
    assert TrainConfig.from_dict({"max_lr": 1}).max_lr == 1
