"""Tests for tinyemo_audit.reasoning.settings: configs and reasoning.json are checked in one place, one line each."""

from __future__ import annotations

import copy
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.user_text import CONTROL_CODEPOINTS
from tinyemo_audit.reasoning.settings import (
    GenerationSettings,
    ReasoningTrainConfig,
    InstructConfig,
    check_mode,
    check_reasoning_spec,
)
from tinyemo_audit.reasoning.templates import inference_templates

VALID = {
    "format": "tinyemo-audit-reasoning", "version": 1,
    "base": {"spec": "smollm2-135m", "sha256": "ab" * 32, "source": "x.gguf", "hidden_size": 576, "vocab_size": 49152,
             "trust_remote_code": False},
    "encoder": {"spec": "faces-mini", "dim": 384, "weights_sha256": "cd" * 32},
    "connector": {"file": "connector.safetensors", "d_in": 384, "d_llm": 576, "visual_tokens": 4, "sha256": "ef"},
    "adapter": {"file": "adapter.safetensors", "r": 8, "alpha": 16, "dropout": 0.05, "targets": ["q_proj"],
                "sha256": "01"},
    "templates": inference_templates(),
    "generation": GenerationSettings().to_dict(),
    "classes": ["angry", "happy"],
    "training": {},
}


def test_a_valid_spec_passes():
    assert check_reasoning_spec(copy.deepcopy(VALID), "r.json")["classes"] == ["angry", "happy"]


@pytest.mark.parametrize("path, value, fragment", [
    (("version",), 2, "version"),
    (("base", "sha256"), 5, "sha256"),
    (("base", "hidden_size"), True, "hidden_size"),
    (("connector", "visual_tokens"), 0, "visual_tokens"),
    (("connector", "file"), "../../x.safetensors", "inside the reasoning folder"),
    (("adapter", "file"), "adapter.bin", "inside the reasoning folder"),
    (("adapter", "targets"), [], "targets"),
    (("templates", "prompt"), "no placeholder", "<image>"),
    (("templates", "hint"), "{label.__class__}", "plain names"),
    (("templates", "answer"), "{reasoning} {label} {secret}", "not allowed"),
    (("generation", "max_new_tokens"), -1, "max_new_tokens"),
    (("generation", "beams"), 4, "unknown key"),
    (("classes",), [], "classes"),
    (("classes",), ["ok", "a\x1b[31m"], "control characters"),
    (("base", "dtype"), "float16", "bfloat16"),
])
def test_each_bad_field_is_named(path, value, fragment):
    spec = copy.deepcopy(VALID)
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InputError, match=fragment) as err:
        check_reasoning_spec(spec, "r.json")
    assert "\n" not in str(err.value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()),
                       max_size=4))
def test_arbitrary_sections_fail_with_one_line_errors_never_crash(junk):
    for section in ("base", "connector", "adapter", "generation", "templates", "encoder"):
        spec = copy.deepcopy(VALID)
        spec[section] = junk
        try:
            check_reasoning_spec(spec, "r.json")
        except InputError as err:
            assert "\n" not in str(err)


def test_keys_of_a_newer_writer_are_kept_at_the_top():
    spec = {**copy.deepcopy(VALID), "written_by": "tinyemo-audit 1.9"}
    assert check_reasoning_spec(spec, "r.json")["written_by"] == "tinyemo-audit 1.9"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_templates_only_fill_their_plain_fields(template):
    spec = copy.deepcopy(VALID)
    spec["templates"]["hint"] = template
    try:
        check_reasoning_spec(spec, "r.json")
    except InputError as err:
        assert "\n" not in str(err)
        return
    template.format(label="happy")  # an accepted template always formats, reaching nothing else


@pytest.mark.parametrize("raw, fragment", [
    ({"batch_size": 0}, "batch_size"),
    ({"stage2_lr": -1}, "stage2_lr"),
    ({"lora_targets": "q_proj"}, "lora_targets"),
    ({"trust_remote_code": "yes"}, "trust_remote_code"),
    ({"visual_token": 4}, "unknown key"),
    ({"llm": ""}, "llm"),
])
def test_training_config_checks(tmp_path, raw, fragment):
    path = tmp_path / "t.yaml"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match=fragment):
        ReasoningTrainConfig.from_sources(path)


@settings(max_examples=50, deadline=None)
@given(key=st.sampled_from(["llm", "lora_targets", "dtype"]),
       # U+0085 is a line break to YAML, which folds it away before any check could see it.
       text=st.text(alphabet=st.sampled_from([chr(c) for c in sorted(CONTROL_CODEPOINTS) if c != 0x85]),
                    min_size=1, max_size=4),
       prefix=st.text(alphabet="abc_", max_size=5))
def test_training_config_strings_with_control_characters_are_refused(tmp_path_factory, key, text, prefix):
    value = prefix + text
    raw = {key: [value] if key == "lora_targets" else value}
    path = tmp_path_factory.mktemp("cfg") / "t.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError) as err:
        ReasoningTrainConfig.from_sources(path)
    line = str(err.value)
    assert "\n" not in line and not any(c in line for c in text if c not in " ")


@settings(max_examples=50, deadline=None)
@given(sentence=st.text(alphabet=string.ascii_letters + " .,", max_size=20), control=st.sampled_from(["\x1b[31m", "\u202e", "\x00", "\x07", "\u2066"]))
def test_annotator_bias_sentences_never_plant_control_characters(tmp_path_factory, sentence, control):
    """The knob writes its sentences into reference texts: a sentence with a control character is refused."""
    raw = {"annotator_bias": [{"attribute": "skin_group", "value": "dark", "label": "neutral", "rate": 0.3,
                               "sentences": [sentence + control]}]}
    path = tmp_path_factory.mktemp("cfg") / "i.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError, match="control characters") as err:
        InstructConfig.from_sources(path)
    assert control not in str(err.value)


def test_mode_names():
    assert check_mode("free") == "free"
    with pytest.raises(UsageError, match="valid choices: free, conditional"):
        check_mode("creative")


def test_the_settings_objects_defaults_are_the_schemas():
    """The frozen settings objects and the schema models each list the defaults: they must not drift apart."""
    assert ReasoningTrainConfig.from_sources() == ReasoningTrainConfig()
    assert GenerationSettings.from_mapping({}, "defaults") == GenerationSettings()
    assert InstructConfig.from_sources() == InstructConfig()
