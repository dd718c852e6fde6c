"""tinyemo_audit/schema/train_config.py: any training config is a TrainConfig or one bounded InputError line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema_strategies import LONG, QUICK, assert_one_line, junk_values, number_values, text_values, yaml_text
from tinyemo_audit.errors import InputError
from tinyemo_audit.model.config import TrainConfig
from tinyemo_audit.model.tinyemo_import import TinyEmoImport
from tinyemo_audit.schema.run_request import SEED_MAX


def _maybe(strategy):
    return st.one_of(strategy, junk_values)


train_documents = st.one_of(
    st.fixed_dictionaries({}, optional={
        "dataset": _maybe(text_values), "datasets": _maybe(st.lists(text_values, max_size=3)),
        "epochs": _maybe(number_values), "encoder_epochs": _maybe(number_values), "seed": _maybe(number_values),
        "batch_size": _maybe(number_values), "max_lr": _maybe(number_values), "dropout": _maybe(number_values),
        "temperature": _maybe(number_values), "bos": _maybe(st.booleans()), "tokenizer": _maybe(text_values),
        "faces": _maybe(st.fixed_dictionaries({}, optional={
            "n_train": _maybe(number_values), "image_size": _maybe(number_values), "seed": _maybe(number_values),
            "biases": _maybe(st.lists(st.fixed_dictionaries({}, optional={
                "attribute": _maybe(st.sampled_from(["skin_group", "age", "hair"])),
                "value": _maybe(st.sampled_from(["dark", "adult", "x"])),
                "from_label": _maybe(st.sampled_from(["neutral", "calm"])),
                "to_label": _maybe(st.sampled_from(["angry", "x"])),
                "rate": _maybe(number_values)}), max_size=2))})),
        "bogus": junk_values,
    }),
    junk_values,
)


def _outcome(folder, document) -> None:
    path = folder / "train.yaml"
    path.write_text(yaml_text(document), encoding="utf-8")
    try:
        config = TrainConfig.from_yaml(path)
    except InputError as err:
        assert_one_line(str(err))
        return
    assert 0 <= config.seed <= SEED_MAX and config.epochs >= 1 and config.batch_size >= 2
    config.faces_config()  # the corpus accepts what the schema accepted


@QUICK
@given(train_documents)
def test_any_training_config_loads_or_is_one_line(tmp_path_factory, document):
    _outcome(tmp_path_factory.mktemp("c"), document)


@pytest.mark.slow
@LONG
@given(train_documents)
def test_any_training_config_loads_or_is_one_line_long(tmp_path_factory, document):
    _outcome(tmp_path_factory.mktemp("c"), document)


@pytest.mark.parametrize("seed", [-1, 2**32, 10**30])
def test_train_seed_out_of_range_is_refused_before_work(seed):
    with pytest.raises(InputError, match="seed: must be at (least 0|most 4294967295)"):
        TrainConfig.from_sources(None, seed=seed)


@pytest.mark.parametrize("text, fragment", [
    ("name: x\nlabel_space: llm:y\nencoder_dim: lots\n", "encoder_dim: must be an integer; got 'lots'"),
    ("name: x\nlabel_space: llm:y\nencoder_dim: 0\n", "encoder_dim: must be at least 1"),
    ("name: x\nlabel_space: llm:y\nbogus: 1\n", "unknown key 'bogus'; valid keys: name, label_space,"),
    ("label_space: llm:y\n", "missing required key 'name'"),
    ("name: x\nlabel_space: llm:y\ntemperature: -1\n", "temperature: must be greater than 0"),
])
def test_import_configs_are_checked(tmp_path, text, fragment):
    path = tmp_path / "variant.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        TinyEmoImport.from_yaml(path)
    assert fragment in str(info.value)
    assert_one_line(str(info.value))
