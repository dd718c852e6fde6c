"""Tests for tinyemo_audit.reasoning.instruct: determinism, grounding, the annotator-bias knob, label-only data."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.data.faces.attributes import EXPRESSIONS, PERSON_NOUNS, SKIN_WORDS
from tinyemo_audit.data.faces.params import attribute_table, sample_parameters
from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.reasoning.cues import load_cue_vocabulary
from tinyemo_audit.reasoning.instruct import build_instruct, instruct_plan, reference_reasoning
from tinyemo_audit.reasoning.settings import AnnotatorBias, InstructConfig
from tinyemo_audit.reasoning.templates import load_templates

VOCAB = load_cue_vocabulary()
# Words that would name skin tone, gender presentation or age: none may appear in reference texts.
DEMOGRAPHIC = {w for nouns in PERSON_NOUNS.values() for n in nouns for w in n.split()} | {
    w for words in SKIN_WORDS.values() for s in words for w in s.split()} | {
    "skin", "tone", "feminine", "masculine", "male", "female", "man", "woman", "men", "women", "child",
    "adult", "older", "old", "young", "elderly", "boy", "girl", "hair", "beard", "race", "black", "white"}
HOSTILE = AnnotatorBias("skin_group", "dark", "neutral", 0.3, ("The face looks hostile.", "The look seems hostile."))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _all_template_strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _all_template_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _all_template_strings(v)]
    return []


def test_no_template_or_cue_phrase_names_a_protected_attribute():
    texts = _all_template_strings(load_templates()) + [p for c in VOCAB.cues for p in c.phrases]
    for text in texts:
        assert not _words(text) & DEMOGRAPHIC, text


def _folder_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_texts(tmp_path):
    config = InstructConfig(n_images=14, seed=3)
    build_instruct(config, tmp_path / "a", progress=False)
    build_instruct(config, tmp_path / "b", progress=False)
    build_instruct(InstructConfig(n_images=14, seed=4), tmp_path / "c", progress=False)
    a, b, c = (_folder_bytes(tmp_path / x) for x in "abc")
    assert a == b
    assert a["finetune.json"] != c["finetune.json"]
    assert sorted(a) == sorted(c)


def test_rows_are_llava_style_and_images_match(instruct_dir):
    from PIL import Image

    manifest = json.loads((instruct_dir / "instruct.json").read_text())
    assert manifest["grounded"] is True and manifest["classes"] == list(EXPRESSIONS)
    for name in ("pretrain.json", "finetune.json"):
        rows = json.loads((instruct_dir / name).read_text())
        assert len(rows) == manifest["n_images"] == 24
        for row in rows:
            human, gpt = row["conversations"]
            assert human["from"] == "human" and gpt["from"] == "gpt"
            assert human["value"].startswith("<image>\n")
            with Image.open(instruct_dir / row["image"]) as image:
                assert image.size == (64, 64) and image.mode == "RGB"
    finetune = json.loads((instruct_dir / "finetune.json").read_text())
    hinted = [r for r in finetune if r["hinted"]]
    assert len(hinted) == 12  # hint_share 0.5, exactly
    for row in finetune:
        human, gpt = (t["value"] for t in row["conversations"])
        assert gpt.endswith(f"Predicted Label: {row['label']}")
        assert (f"the correct label is {row['label']}" in human) == row["hinted"]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_reference_reasoning_is_grounded_in_the_drawn_cues(seed):
    params = sample_parameters(40, seed=seed, split="train")
    expressions, intensity = params["expression"].to_numpy(), params["intensity"].to_numpy()
    ref = reference_reasoning(expressions, intensity, attribute_table(params), seed=seed)
    named = VOCAB.named_in_text(ref.answers)
    visible = VOCAB.visible(expressions, intensity)
    for i, cues in enumerate(ref.cues):
        assert [VOCAB.ids[j] for j in np.flatnonzero(named[i])] == cues  # the text names exactly its cues
        assert not (named[i] & ~visible[i]).any()  # and only cues that were drawn
        assert ref.answers[i].endswith(f"Predicted Label: {EXPRESSIONS[expressions[i]]}")
        assert not _words(ref.answers[i]) & DEMOGRAPHIC
    assert not ref.annotator_bias.any()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.3, 0.5, 1.0]))
def test_the_knob_marks_exactly_its_share_of_its_cell_and_nothing_else(seed, rate):
    params = sample_parameters(300, seed=seed, split="train")
    attributes = attribute_table(params)
    expressions = params["expression"].to_numpy()
    bias = AnnotatorBias("skin_group", "dark", "neutral", rate, HOSTILE.sentences)
    ref = reference_reasoning(expressions, params["intensity"].to_numpy(), attributes, seed=seed, annotator_bias=(bias,))
    cell = (attributes["skin_group"].to_numpy() == "dark") & (expressions == EXPRESSIONS.index("neutral"))
    assert ref.annotator_bias.sum() == round(rate * cell.sum())
    assert not (ref.annotator_bias & ~cell).any()
    has_sentence = np.array([any(s in a for s in bias.sentences) for a in ref.answers])
    assert (has_sentence == ref.annotator_bias).all()
    clean = reference_reasoning(expressions, params["intensity"].to_numpy(), attributes, seed=seed)
    for i in np.flatnonzero(~ref.annotator_bias):
        assert ref.answers[i] == clean.answers[i]  # the knob changes nothing outside its rows


def test_knob_is_recorded_in_the_manifest_and_rows(tmp_path):
    build_instruct(InstructConfig(n_images=300, seed=0, annotator_bias=(HOSTILE,)), tmp_path / "x", progress=False)
    manifest = json.loads((tmp_path / "x" / "instruct.json").read_text())
    rows = json.loads((tmp_path / "x" / "finetune.json").read_text())
    assert manifest["annotator_bias"] == [HOSTILE.to_dict()]
    assert manifest["n_annotator_bias_rows"] == sum(r["annotator_bias"] for r in rows) > 0
    assert all(r["label"] == "neutral" for r in rows if r["annotator_bias"])


def _image_folder(root, classes=("joy", "anger"), per_class=3):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in classes:
        folder = root / "train" / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def test_labelled_image_folder_gets_label_only_templates(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    build_instruct(InstructConfig(dataset=f"imagefolder:{root}", n_images=100), tmp_path / "out", progress=False)
    manifest = json.loads((tmp_path / "out" / "instruct.json").read_text())
    rows = json.loads((tmp_path / "out" / "finetune.json").read_text())
    assert manifest["grounded"] is False and len(rows) == 6
    for row in rows:
        answer = row["conversations"][1]["value"]
        assert row["cues"] == [] and not VOCAB.named_in_text([answer]).any()
        assert answer.endswith(f"Predicted Label: {row['label']}")
    with pytest.raises(UsageError, match="annotator-bias knob needs the faces corpus"):
        build_instruct(InstructConfig(dataset=f"imagefolder:{root}", annotator_bias=(HOSTILE,)), tmp_path / "o2",
                       progress=False)
    assert not (tmp_path / "o2").exists()


def test_out_must_be_new_empty_or_ours(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("keep me")
    (tmp_path / "data").mkdir()
    for out, dataset in (("file", "faces"), ("theirs", "faces"), ("data/inside", f"imagefolder:{tmp_path / 'data'}")):
        with pytest.raises(UsageError):
            instruct_plan(tmp_path / out, dataset).check()
    assert (tmp_path / "theirs" / "notes.txt").read_text() == "keep me"
    instruct_plan(tmp_path / "new").check()


@pytest.mark.parametrize("raw, fragment", [
    ({"n_images": 0}, "n_images"),
    ({"seed": "zero"}, "seed"),
    ({"nimages": 5}, "unknown key"),
    ({"annotator_bias": [{"attribute": "skin_group", "value": "purple", "label": "neutral", "rate": 0.3,
                          "sentences": ["x"]}]}, "unknown value"),
    ({"annotator_bias": [{"attribute": "skin_group", "value": "dark", "label": "neutral", "rate": 1.5,
                          "sentences": ["x"]}]}, "rate"),
    ({"annotator_bias": [{"attribute": "skin_group", "value": "dark", "label": "neutral", "rate": 0.3,
                          "sentences": []}]}, "sentences"),
    ({"annotator_bias": {"attribute": "skin_group"}}, "list"),
])
def test_bad_instruct_configs_are_one_line_errors(tmp_path, raw, fragment):
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError, match=fragment):
        InstructConfig.from_sources(path)
