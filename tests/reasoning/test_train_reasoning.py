"""Tests for tinyemo_audit.reasoning.train and part: the connector/LoRA path on a tiny Llama, the bundle part, bad inputs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tinyemo_audit.errors import InputError, UsageError, WeightsUnavailableError
from tinyemo_audit.model.bundle import load_bundle
from tinyemo_audit.reasoning.explain import explain_images, explain_twins
from tinyemo_audit.reasoning.settings import ReasoningTrainConfig
from tinyemo_audit.reasoning.train import train_reasoning

from reasoning_fixtures import TINY_STEPS, copy_bundle, save_tiny_llama


def test_part_holds_weights_spec_and_card(trained_bundle, tiny_llama):
    part = trained_bundle / "reasoning"
    assert sorted(p.name for p in part.iterdir()) == ["adapter.safetensors", "connector.safetensors", "reasoning.json"]
    spec = json.loads((part / "reasoning.json").read_text())
    assert spec["base"]["spec"] == f"llm:{tiny_llama}" and len(spec["base"]["sha256"]) == 64
    assert spec["connector"] == {**spec["connector"], "d_in": 384, "d_llm": 32, "visual_tokens": 4}
    assert [s["steps"] for s in spec["training"]["stages"]] == [2, 2]
    assert spec["training"]["data"]["n_images"] == 24
    assert not list(trained_bundle.glob("*.bin")) and not list(part.glob("*.bin"))
    card = (trained_bundle / "MODEL_CARD.md").read_text()
    assert card.count("## Reasoning (MM-LLM)") == 1
    assert card.index("## Reasoning (MM-LLM)") < card.index("## Intended use and limits")


def test_bundle_reads_its_part_lazily(trained_bundle):
    bundle = load_bundle(trained_bundle)
    assert bundle.has_reasoning
    assert "reasoning" not in bundle.__dict__  # nothing read until asked
    assert bundle.reasoning.classes == bundle.classes


def test_reloaded_part_explains_deterministically(trained_bundle):
    from tinyemo_audit.data.faces import FacesConfig, load_faces

    images = load_faces("test", FacesConfig(n_test=5), cache=False).images
    first = explain_images(load_bundle(trained_bundle), images, mode="conditional")
    again = explain_images(load_bundle(trained_bundle), images, mode="conditional")
    assert [e.reasoning for e in first] == [e.reasoning for e in again]
    assert all(e.hint == e.projector_label and 0 < e.projector_probability <= 1 for e in first)
    free = explain_images(load_bundle(trained_bundle), images, mode="free")
    assert all(e.hint is None and e.mode == "free" for e in free)


def test_twins_share_the_hint_of_their_reference(trained_bundle):
    from tinyemo_audit.data.faces import FacesConfig, load_twins

    twins = load_twins("skin_group", FacesConfig(), n_identities=2, cache=False)
    out = explain_twins(load_bundle(trained_bundle), twins, mode="conditional")
    assert len(out) == 2 and all(len(row) == 3 for row in out)
    for row in out:
        assert len({e.hint for e in row}) == 1 and row[0].hint == row[0].projector_label


def test_a_bundle_whose_step_reads_the_attribute_explains_twins_with_their_groups(trained_bundle, tmp_path):
    # A mitigated bundle (model/steps.py) needs each item's protected groups for the projector's label:
    # the twins' cells carry theirs (held attributes + the varied one); without them it is one InputError.
    from tinyemo_audit.data.faces import FacesConfig, load_twins
    from tinyemo_audit.reasoning.explain import explain_features
    from tinyemo_audit.reasoning.features import image_features

    folder = tmp_path / "with-step"
    shutil.copytree(trained_bundle, folder)
    spec = json.loads((folder / "bundle.json").read_text())
    spec["decision"] = {"kind": "group-offsets", "attributes": ["skin_group"],
                        "offsets": [{"group": {"skin_group": g}, "logits": {"angry": 0.0}}
                                    for g in ("light", "medium", "dark")]}
    (folder / "bundle.json").write_text(json.dumps(spec))
    bundle, plain = load_bundle(folder), load_bundle(trained_bundle)
    twins = load_twins("skin_group", FacesConfig(), n_identities=2, cache=False)
    stepped = explain_twins(bundle, twins, mode="conditional")
    reference = explain_twins(plain, twins, mode="conditional")
    # zero offsets: the same labels and texts as the bundle without the step
    assert [[e.projector_label for e in row] for row in stepped] == [[e.projector_label for e in row] for row in reference]
    assert [[e.reasoning for e in row] for row in stepped] == [[e.reasoning for e in row] for row in reference]
    features = image_features(bundle, twins.images[:, 0])
    with pytest.raises(InputError, match="uses the protected attribute 'skin_group' at prediction time"):
        explain_features(bundle, features, ["a", "b"], mode="free")


def test_cell_attributes_are_the_held_ones_plus_the_varied_value():
    from tinyemo_audit.data.faces import FacesConfig, load_twins

    twins = load_twins("gender", FacesConfig(), n_identities=3, cache=False)
    cells = twins.cell_attributes()
    k = len(twins.values)
    assert len(cells) == 3 * k and list(cells["gender"]) == list(twins.values) * 3
    for i in range(3):
        for name in twins.attributes.columns.drop("gender", errors="ignore"):
            assert set(cells[name].iloc[i * k:(i + 1) * k]) == {twins.attributes[name].iloc[i]}


def test_retraining_replaces_the_part_and_keeps_one_card_section(tmp_path, tiny_llama, instruct_dir):
    bundle = copy_bundle(tmp_path / "b")
    config = ReasoningTrainConfig(llm=f"llm:{tiny_llama}", **TINY_STEPS)
    train_reasoning(bundle, instruct_dir, config, progress=False)
    first = (bundle / "reasoning" / "connector.safetensors").read_bytes()
    train_reasoning(bundle, instruct_dir, ReasoningTrainConfig(llm=f"llm:{tiny_llama}", seed=1, **TINY_STEPS),
                    progress=False)
    assert (bundle / "reasoning" / "connector.safetensors").read_bytes() != first
    assert (bundle / "MODEL_CARD.md").read_text().count("## Reasoning (MM-LLM)") == 1


# Bad input: one line, nothing written ---------------------------------------------------------------------


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def fresh_bundle(tmp_path):
    return copy_bundle(tmp_path / "bundle")


def _train(bundle, data, llm, **extra):
    return train_reasoning(bundle, data, ReasoningTrainConfig(llm=llm, **{**TINY_STEPS, **extra}), progress=False)


def test_data_that_is_not_instruct_data(fresh_bundle, tmp_path, tiny_llama):
    before = _snapshot(fresh_bundle)
    (tmp_path / "empty").mkdir()
    for folder, fragment in ((tmp_path / "empty", "no instruct.json"), (tmp_path / "missing", "not a folder")):
        with pytest.raises(InputError, match=fragment):
            _train(fresh_bundle, folder, f"llm:{tiny_llama}")
    assert _snapshot(fresh_bundle) == before


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: (d / "instruct.json").write_text('{"format": "other"}'), "is not a tinyemo-audit-instruct"),
    (lambda d: (d / "finetune.json").write_text("[{\"id\": \"x\"}]"), "string 'image'"),
    (lambda d: (d / "finetune.json").write_text(json.dumps([{"id": "x", "image": "../../etc/passwd",
                                                             "conversations": []}])), "not inside"),
    (lambda d: (d / "finetune.json").write_text(json.dumps([{"id": "x", "image": "images/000000.png",
        "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "no label"}]}])),
     "states no label"),
    (lambda d: (d / "pretrain.json").write_text("not json"), "not valid JSON"),
    (lambda d: (d / "images" / "000003.png").write_bytes(b"\x89PNG broken"), "cannot be read"),
    (lambda d: (d / "images" / "000003.png").unlink(), "not found"),
])
def test_damaged_instruct_data_is_refused_before_training(fresh_bundle, tmp_path, tiny_llama, instruct_dir,
                                                          damage, fragment):
    data = shutil.copytree(instruct_dir, tmp_path / "data")
    damage(data)
    before = _snapshot(fresh_bundle)
    with pytest.raises(InputError, match=fragment):
        _train(fresh_bundle, data, f"llm:{tiny_llama}")
    assert _snapshot(fresh_bundle) == before


def test_missing_or_unknown_base(fresh_bundle, tmp_path, instruct_dir):
    before = _snapshot(fresh_bundle)
    with pytest.raises(WeightsUnavailableError, match="config.json"):
        _train(fresh_bundle, instruct_dir, f"llm:{tmp_path / 'nowhere'}")
    with pytest.raises(UsageError, match="unknown base LLM"):
        _train(fresh_bundle, instruct_dir, "gpt-99")
    assert _snapshot(fresh_bundle) == before


def test_pickled_weights_are_never_loaded(fresh_bundle, tmp_path, instruct_dir, tiny_llama):
    folder = shutil.copytree(tiny_llama, tmp_path / "pickled")
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(WeightsUnavailableError, match="safetensors weights only"):
        _train(fresh_bundle, instruct_dir, f"llm:{folder}")


def test_lora_targets_that_do_not_exist(fresh_bundle, instruct_dir, tiny_llama):
    with pytest.raises(InputError, match="do not fit"):
        _train(fresh_bundle, instruct_dir, f"llm:{tiny_llama}", lora_targets=("no_such_proj",))
    assert not (fresh_bundle / "reasoning").exists()


def test_instruct_labels_the_bundle_does_not_know(fresh_bundle, tmp_path, instruct_dir, tiny_llama):
    data = shutil.copytree(instruct_dir, tmp_path / "data")
    manifest = json.loads((data / "instruct.json").read_text())
    manifest["classes"] = manifest["classes"] + ["bored"]
    (data / "instruct.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="not among bundle"):
        _train(fresh_bundle, data, f"llm:{tiny_llama}")


def _part_copy(trained_bundle, tmp_path):
    return shutil.copytree(trained_bundle, tmp_path / "copy")


def test_explain_without_a_part_says_how_to_add_one(fresh_bundle):
    with pytest.raises(InputError, match="train-reasoning"):
        explain_images(load_bundle(fresh_bundle), np.zeros((1, 64, 64, 3), np.uint8))


def test_adapter_trained_on_another_base_is_refused(trained_bundle, tmp_path):
    bundle = _part_copy(trained_bundle, tmp_path)
    spec = json.loads((bundle / "reasoning" / "reasoning.json").read_text())
    other = save_tiny_llama(tmp_path / "other-llama", seed=5)
    spec["base"]["spec"] = f"llm:{other}"  # same architecture, other weights: digest differs
    (bundle / "reasoning" / "reasoning.json").write_text(json.dumps(spec))
    with pytest.raises(InputError, match="was trained on base .* sha256"):
        explain_images(load_bundle(bundle), np.zeros((1, 64, 64, 3), np.uint8))


def test_connector_that_does_not_fit_the_encoder_or_base(trained_bundle, tmp_path):
    from safetensors.torch import save_file

    from tinyemo_audit.input_files import file_sha256
    from tinyemo_audit.reasoning.mmllm import build_connector

    bundle = _part_copy(trained_bundle, tmp_path)
    part = bundle / "reasoning"
    spec = json.loads((part / "reasoning.json").read_text())
    spec["connector"]["d_in"] = 100
    (part / "reasoning.json").write_text(json.dumps(spec))
    with pytest.raises(InputError, match="100-d features but the bundle's encoder gives 384-d"):
        explain_images(load_bundle(bundle), np.zeros((1, 64, 64, 3), np.uint8))
    spec["connector"]["d_in"] = 384
    save_file(build_connector(384, 16, 4).state_dict(), str(part / "connector.safetensors"))
    spec["connector"]["sha256"] = file_sha256(part / "connector.safetensors", what="x")
    (part / "reasoning.json").write_text(json.dumps(spec))
    with pytest.raises(InputError, match="holds tensors"):
        explain_images(load_bundle(bundle), np.zeros((1, 64, 64, 3), np.uint8))


def test_damaged_weights_or_spec(trained_bundle, tmp_path):
    bundle = _part_copy(trained_bundle, tmp_path)
    part = bundle / "reasoning"
    (part / "adapter.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match="does not match the sha256"):
        explain_images(load_bundle(bundle), np.zeros((1, 64, 64, 3), np.uint8))
    (part / "reasoning.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_bundle(bundle).reasoning
    (part / "reasoning.json").write_text(json.dumps({"format": "tinyemo-audit-reasoning", "version": 1}))
    with pytest.raises(InputError, match="missing required key 'base'"):
        load_bundle(bundle).reasoning


def test_encoder_swapped_after_training_is_refused(trained_bundle, tmp_path):
    bundle = _part_copy(trained_bundle, tmp_path)
    clean = load_bundle("faces-mini-clean")
    # Same architecture, same dimension: only the digest can tell.
    shutil.copy(clean.path / "encoder.safetensors", bundle / "encoder.safetensors")
    if (clean.path / "encoder.safetensors").read_bytes() == (trained_bundle / "encoder.safetensors").read_bytes():
        pytest.skip("the two shipped bundles share their encoder file")
    with pytest.raises(InputError, match="another encoder"):
        explain_images(load_bundle(bundle), np.zeros((1, 64, 64, 3), np.uint8))
