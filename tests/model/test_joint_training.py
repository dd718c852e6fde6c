"""Joint training (TinyEmo's strategy): several datasets, one shared label vocabulary, one encoder."""

import json

import numpy as np
import pytest

from tinyemo_audit.data.feature_folder import read_feature_folder
from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.model.bundle import load_bundle
from tinyemo_audit.model.config import TrainConfig
from tinyemo_audit.model.joint import (
    JointData,
    check_feature_dims,
    dataset_key,
    match_taxonomy,
    merged_synonyms,
    shared_labels,
    short_labels,
    union_classes,
)
from tinyemo_audit.model.train import train_bundle
from tinyemo_audit.taxonomy import get_taxonomy
from fixture_files import write_class_features as write_features

MIKELS = get_taxonomy("mikels8").classes
EKMAN = get_taxonomy("ekman6").classes


def test_union_keeps_first_appearance_and_merges_shared_names():
    union = union_classes([MIKELS, EKMAN])
    assert union[: len(MIKELS)] == MIKELS
    assert union[len(MIKELS):] == ("joy", "surprise")  # anger, disgust, fear, sadness are shared words


def test_shared_labels_reindex_by_name():
    own = ("anger", "joy", "sadness")
    union = ("sadness", "awe", "anger", "joy")
    assert shared_labels(np.array([0, 1, 2, 2]), own, union).tolist() == [2, 3, 0, 0]
    with pytest.raises(InputError, match="not in the shared label space"):
        shared_labels(np.array([0]), ("zest",), union)


def test_match_taxonomy_by_class_set():
    assert match_taxonomy(sorted(EKMAN)) == "ekman6"
    assert match_taxonomy(sorted(MIKELS)) == "mikels8"
    assert match_taxonomy(("anger", "joy")) is None


def test_merged_synonyms_come_from_each_matching_taxonomy():
    synonyms = merged_synonyms([MIKELS, ("x", "y")])
    assert synonyms["awe"] == get_taxonomy("mikels8").synonyms["awe"]
    assert "x" not in synonyms


def test_dataset_key_resolves_paths(tmp_path, monkeypatch):
    (tmp_path / "emoset").mkdir()
    monkeypatch.chdir(tmp_path)
    assert dataset_key("features:emoset") == dataset_key(f"features:{tmp_path / 'emoset'}")
    assert dataset_key("faces") == "faces"
    assert short_labels(["features:/a/emoset", "features:/b/emoset", "webemo:/c/web"]) == {
        "features:/a/emoset": "features:/a/emoset", "features:/b/emoset": "features:/b/emoset",
        "webemo:/c/web": "web",
    }


def test_mismatched_dims_one_line():
    features = {"features:/a": {"train": np.zeros((2, 48))}, "features:/b": {"train": np.zeros((2, 12))}}
    with pytest.raises(InputError) as info:
        check_feature_dims(features)
    message = str(info.value)
    assert "features:/a: 48, features:/b: 12" in message and "one encoder" in message and "\n" not in message


def test_stacked_labels_use_the_union(tmp_path):
    a = write_features(tmp_path / "a", ("anger", "awe"), per_split=(2, 1, 1))
    b = write_features(tmp_path / "b", ("anger", "joy"), per_split=(3, 1, 1), seed=1)
    parts = {str(r): {s: read_feature_folder(r, s) for s in ("train", "val", "test")} for r in (a, b)}
    features = {k: {s: d.features for s, d in v.items()} for k, v in parts.items()}
    data = JointData(parts=parts, features=features, classes=("anger", "awe", "joy"))
    assert data.stacked_features("train").shape == (10, 16)
    assert data.stacked_labels("train").tolist() == [0, 0, 1, 1, 0, 0, 0, 2, 2, 2]


# --- configuration -----------------------------------------------------------------------------


def test_yaml_datasets_list(tmp_path):
    path = tmp_path / "joint.yaml"
    path.write_text("datasets: ['features:/x', 'features:/y']\nlabel_space: llm:/m\ntokenizer: /tok\nbos: true\n"
                    "dtype: bfloat16\n")
    cfg = TrainConfig.from_yaml(path)
    assert cfg.dataset_specs == ("features:/x", "features:/y") and cfg.is_joint
    assert (cfg.tokenizer, cfg.bos, cfg.dtype) == ("/tok", True, "bfloat16")
    assert TrainConfig.from_sources(path, datasets=["features:/z"]).dataset_specs == ("features:/z",)
    assert not TrainConfig.from_sources(path, datasets=["features:/z"]).is_joint


def test_single_dataset_keeps_working(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("dataset: features:/x\n")
    assert TrainConfig.from_yaml(path).dataset_specs == ("features:/x",)
    assert TrainConfig.from_sources(None, datasets=["a", "b"]).dataset_specs == ("a", "b")
    assert TrainConfig.from_sources(None, dataset="a").dataset_specs == ("a",)


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"label_space": "smollm2-135m", "tokenizer": "/tok"}, "tokenizer applies to llm:<id-or-path> only"),
        ({"label_space": "minilm", "bos": True}, "bos applies to LLM label spaces only"),
        ({"label_space": "minilm", "dtype": "float16"}, "dtype applies to LLM label spaces only"),
        ({"label_space": "smollm2-135m", "dtype": "int8"}, "unknown dtype 'int8'"),
    ],
)
def test_label_space_options_checked_before_work(tmp_path, options, fragment):
    cfg = TrainConfig(dataset=f"features:{tmp_path / 'missing'}", **options)
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        train_bundle(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


# --- training ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def joint_bundle(tmp_path_factory):
    base = tmp_path_factory.mktemp("joint")
    mikels = write_features(base / "emoset", MIKELS, seed=1)
    ekman = write_features(base / "emotionroi", EKMAN, seed=2)
    cfg = TrainConfig(datasets=[f"features:{mikels}", f"features:{ekman}"], label_space="smollm2-135m",
                      epochs=2, seed=0, name="joint-test")
    return mikels, ekman, train_bundle(cfg, base / "bundle", progress=False)


def test_joint_bundle_uses_the_union_label_set(joint_bundle):
    mikels, ekman, out = joint_bundle
    spec = json.loads((out / "bundle.json").read_text())
    union = list(MIKELS) + ["joy", "surprise"]
    # Feature folders list classes sorted; the union follows the datasets' own order.
    assert spec["taxonomy"] == {"name": "joint", "classes": list(union_classes([sorted(MIKELS), sorted(EKMAN)]))}
    assert sorted(spec["taxonomy"]["classes"]) == sorted(union)
    assert tuple(load_bundle(out).label_embeddings.shape) == (10, 576)
    assert spec["training"]["joint"] is True
    assert spec["training"]["n"] == {"train": 14 * 8, "val": 14 * 4, "test": 14 * 4}


def test_joint_bundle_records_its_datasets(joint_bundle):
    mikels, ekman, out = joint_bundle
    spec = json.loads((out / "bundle.json").read_text())
    records = spec["training"]["datasets"]
    assert [r["spec"] for r in records] == [f"features:{mikels}", f"features:{ekman}"]
    assert [r["taxonomy"] for r in records] == ["mikels8", "ekman6"]
    assert records[1]["classes"] == sorted(EKMAN) and records[1]["n"] == {"train": 48, "val": 24, "test": 24}
    per_dataset = spec["metrics"]["per_dataset"]
    assert set(per_dataset) == {f"features:{mikels}", f"features:{ekman}"}
    assert all(0.0 <= v["test_accuracy"] <= 1.0 for v in per_dataset.values())
    card = (out / "MODEL_CARD.md").read_text()
    assert "Joint training: one label vocabulary" in card and f"`features:{ekman}` | ekman6 | 6 | 48 / 24 / 24" in card
    assert spec["label_space"]["bos"] is False and spec["label_space"]["dtype"] == "float32"


def test_mismatched_encoder_dims_refuse_training(tmp_path):
    a = write_features(tmp_path / "a", ("anger", "joy"), dim=16, per_split=(2, 1, 1))
    b = write_features(tmp_path / "b", ("awe", "fear"), dim=8, per_split=(2, 1, 1))
    cfg = TrainConfig(datasets=[f"features:{a}", f"features:{b}"], label_space="smollm2-135m", epochs=1)
    with pytest.raises(InputError, match="datasets disagree on feature dimension"):
        train_bundle(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_list_of_one_is_the_single_dataset_form(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("datasets: ['features:/x']\n")
    cfg = TrainConfig.from_yaml(path)
    assert (cfg.dataset, cfg.datasets, cfg.is_joint) == ("features:/x", [], False)
    joint = TrainConfig.from_dict({"datasets": ["a", "b"]})
    assert joint.dataset == "a" and joint.dataset_specs == ("a", "b")


def test_audit_and_eval_classify_a_joint_bundle_identically(joint_bundle):
    from tinyemo_audit.data.registry import load_dataset
    from tinyemo_audit.model.classifier import predict
    from tinyemo_audit.model.evaluate import candidate_embeddings, evaluate_bundle, evaluation_summary

    _, ekman, out = joint_bundle
    bundle = load_bundle(out)
    data = load_dataset(f"features:{ekman}", "test")
    # Ekman's six words are all in the joint label set: both paths must use the stored rows.
    rows = [bundle.classes.index(c) for c in data.classes]
    stored = bundle.label_embeddings.numpy()[rows]
    assert np.array_equal(bundle.embed_classes(data.classes).numpy(), stored)
    assert np.array_equal(candidate_embeddings(bundle, data.classes), stored)
    audit = predict(bundle, data, progress=False)  # what the audit runner classifies with
    evaluation = evaluate_bundle(bundle, data, progress=False)
    assert evaluation_summary(data.labels, audit.predicted, data.classes)["confusion"] == evaluation["confusion"]
    assert evaluation["n"] == len(data) and evaluation["n_skipped"] == 0 and evaluation["skipped_items"] == {}


def test_zero_shot_candidates_use_synonyms_when_the_bundle_did(joint_bundle):
    from tinyemo_audit.label_space import label_embeddings

    _, _, out = joint_bundle
    bundle = load_bundle(out)
    fer = tuple(sorted(get_taxonomy("fer7").classes))  # "angry", "happy", ... were never trained on
    plain = label_embeddings(bundle.label_space(), fer, template="{label}")
    assert np.allclose(bundle.embed_classes(fer).numpy(), plain.numpy())
    bundle.spec["label_space"]["synonyms"] = True
    with_synonyms = label_embeddings(bundle.label_space(), fer, template="{label}",
                                     synonyms=get_taxonomy("fer7").synonyms)
    assert np.allclose(bundle.embed_classes(fer).numpy(), with_synonyms.numpy())
    assert not np.allclose(with_synonyms.numpy(), plain.numpy())
