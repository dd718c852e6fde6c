"""Generated fixture trees for every named dataset layout, checked through `datasets inspect --json`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tinyemo_audit.cli.datasets import datasets_app
from tinyemo_audit.data.dataset import UNLABELLED
from tinyemo_audit.data.layout_spec import list_layouts
from tinyemo_audit.data.registry import DATASETS, load_dataset
from tinyemo_audit.taxonomy import get_taxonomy


def write_image(path: Path, seed: int = 0, size=(12, 10), fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, format=fmt)
    return path


def inspect_json(spec: str, *args: str) -> dict:
    result = CliRunner().invoke(datasets_app, ["inspect", spec, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def nonzero(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if v}


def test_every_named_layout_is_registered():
    expected = {"emotionroi", "emoset", "webemo", "emotion6", "fi", "artphoto", "abstract", "unbiasedemo",
                "fairface", "utkface", "rafdb", "fer2013", "csv", "imagefolder"}
    assert expected <= set(list_layouts())
    for name in expected:
        DATASETS.validate(f"{name}:/somewhere")
    assert "faces" in DATASETS


def test_webemo_maps_misspelled_folders_to_the_taxonomy(tmp_path):
    counts = {"cheerfullness": 3, "irritabilty": 2, "rage": 1}
    for split, factor in (("train", 2), ("test", 1)):
        for label, n in counts.items():
            for i in range(n * factor):
                write_image(tmp_path / split / label / f"{i}.jpg", seed=i)
    report = inspect_json(f"webemo:{tmp_path}")
    assert report["taxonomy"] == "parrott25"
    assert report["classes"] == list(get_taxonomy("parrott25").classes)
    assert nonzero(report["splits"]["test"]["labels"]) == {"cheerfulness": 3, "irritability": 2, "rage": 1}
    assert nonzero(report["splits"]["train"]["labels"]) == {"cheerfulness": 6, "irritability": 4, "rage": 2}
    assert report["missing_splits"] == ["val"]
    assert report["n_items"] == 18 and report["n_skipped"] == 0


def test_unbiasedemo_keeps_the_subject_as_an_attribute(tmp_path):
    tree = {("joy", "baby"): 3, ("joy", "dog"): 1, ("anger", "dog"): 2, ("love", "group"): 2}
    for (emotion, subject), n in tree.items():
        for i in range(n):
            write_image(tmp_path / "images" / emotion / subject / f"{i}.jpg", seed=i)
    report = inspect_json(f"unbiasedemo:{tmp_path}", "--split", "test")
    test = report["splits"]["test"]
    assert test["n"] == 8
    assert nonzero(test["labels"]) == {"anger": 2, "joy": 4, "love": 2}
    assert test["attributes"] == {"subject": {"baby": 3, "dog": 3, "group": 2}}
    data = load_dataset(f"unbiasedemo:{tmp_path}", "test", size=8)
    dog_joy = (data.attributes["subject"] == "dog") & (data.label_names == "joy")
    assert int(dog_joy.sum()) == 1


@pytest.mark.parametrize("name, folder, taxonomy", [
    ("emotion6", "images", "ekman6"),
    ("fi", "emotion_dataset", "mikels8"),
])
def test_zero_shot_folder_sets_are_all_test(tmp_path, name, folder, taxonomy):
    classes = get_taxonomy(taxonomy).classes
    for k, label in enumerate(classes[:3]):
        for i in range(k + 1):
            write_image(tmp_path / folder / label / f"{label}_{i}.jpg", seed=i)
    report = inspect_json(f"{name}:{tmp_path}")
    assert nonzero(report["splits"]["test"]["labels"]) == {classes[0]: 1, classes[1]: 2, classes[2]: 3}
    assert report["missing_splits"] == ["train", "val"]


def test_emotionroi_reads_its_split_lists(tmp_path):
    lines = {"training": [], "testing": []}
    for label, n_train, n_test in (("anger", 3, 1), ("joy", 2, 2), ("fear", 1, 1)):
        for i in range(n_train + n_test):
            write_image(tmp_path / "images" / label / f"{i + 1}.jpg", seed=i)
            lines["training" if i < n_train else "testing"].append(f"{label}/{i + 1}.jpg")
    (tmp_path / "training_testing_split").mkdir()
    for name, rows in lines.items():
        (tmp_path / "training_testing_split" / f"{name}.txt").write_text("\n".join(rows) + "\n")
    report = inspect_json(f"emotionroi:{tmp_path}")
    assert nonzero(report["splits"]["train"]["labels"]) == {"anger": 3, "joy": 2, "fear": 1}
    assert nonzero(report["splits"]["test"]["labels"]) == {"anger": 1, "joy": 2, "fear": 1}
    assert report["missing_splits"] == ["val"]


def test_emoset_reads_its_json_split_lists(tmp_path):
    splits = {"train": [("amusement", 2), ("awe", 1)], "val": [("fear", 1)], "test": [("awe", 2), ("sadness", 1)]}
    for split, rows in splits.items():
        entries = []
        for label, n in rows:
            for i in range(n):
                rel = f"image/{label}/{label}_{split}_{i:05d}.jpg"
                write_image(tmp_path / rel, seed=i)
                entries.append([label, rel, f"annotation/{label}/{label}_{split}_{i:05d}.json"])
        (tmp_path / f"{split}.json").write_text(json.dumps(entries))
    report = inspect_json(f"emoset:{tmp_path}")
    assert nonzero(report["splits"]["train"]["labels"]) == {"amusement": 2, "awe": 1}
    assert nonzero(report["splits"]["val"]["labels"]) == {"fear": 1}
    assert nonzero(report["splits"]["test"]["labels"]) == {"awe": 2, "sadness": 1}
    assert report["missing_splits"] == []


def test_artphoto_labels_come_from_file_names(tmp_path):
    folder = tmp_path / "testImages_artphoto"
    for label, n in (("amusement", 2), ("sad", 3), ("awe", 1)):
        for i in range(n):
            write_image(folder / f"{label}_{i + 1}.jpg", seed=i)
    write_image(folder / "README.jpg")  # no <emotion>_<n> name
    report = inspect_json(f"artphoto:{tmp_path}", "--split", "test")
    test = report["splits"]["test"]
    assert nonzero(test["labels"]) == {"amusement": 2, "sadness": 3, "awe": 1}
    assert [s["reason"].startswith("file name does not match") for s in test["skipped"]] == [True]


def test_abstract_takes_the_majority_vote_and_drops_ties(tmp_path):
    header = "'abstract_img_name','Amusement','Anger','Awe','Content','Disgust','Excitement','Fear','Sad'"
    rows = [
        "'abstract_1.jpg',5,0,1,0,0,0,0,0",  # amusement
        "'abstract_2.jpg',0,0,0,0,0,0,1,4",  # sadness
        "'abstract_3.jpg',0,0,0,0,0,0,2,4",  # sadness
        "'abstract_4.jpg',3,0,3,0,0,0,0,0",  # tie amusement/awe
        "'abstract_5.jpg',0,0,0,0,0,0,0,0",  # no votes
    ]
    (tmp_path / "ABSTRACT_groundTruth.csv").write_text("\n".join([header, *rows]) + "\n")
    for i in range(1, 6):
        write_image(tmp_path / "testImages_abstract" / f"abstract_{i}.jpg", seed=i)
    report = inspect_json(f"abstract:{tmp_path}", "--split", "test")
    test = report["splits"]["test"]
    assert nonzero(test["labels"]) == {"amusement": 1, "sadness": 2}
    reasons = {s["id"]: s["reason"] for s in test["skipped"]}
    assert reasons["abstract_4"].startswith("tied vote (amusement, awe")
    assert reasons["abstract_5"] == "no votes"


def test_fairface_is_label_free_with_face_attributes(tmp_path):
    header = "file,age,gender,race,service_test"
    rows = {"train": ["train/1.jpg,20-29,Male,White,True", "train/2.jpg,3-9,Female,Black,False"],
            "val": ["val/1.jpg,20-29,Female,East Asian,True", "val/2.jpg,50-59,Female,Indian,True",
                    "val/3.jpg,20-29,Male,Indian,False"]}
    for split, lines in rows.items():
        (tmp_path / f"fairface_label_{split}.csv").write_text("\n".join([header, *lines]) + "\n")
        for line in lines:
            write_image(tmp_path / line.split(",")[0])
    report = inspect_json(f"fairface:{tmp_path}")
    test = report["splits"]["test"]
    assert test["n"] == 3 and not test["labelled"] and "labels" not in test
    assert test["attributes"]["gender"] == {"Female": 2, "Male": 1}
    assert test["attributes"]["race"] == {"East Asian": 1, "Indian": 2}
    assert set(test["attributes"]) == {"age", "gender", "race"}
    assert report["splits"]["train"]["n"] == 2
    data = load_dataset(f"fairface:{tmp_path}", "test", size=8)
    assert (data.labels == UNLABELLED).all() and not data.has_labels


def test_utkface_parses_attributes_from_file_names(tmp_path):
    folder = tmp_path / "UTKFace"
    names = ["1_0_2_20161219140623097.jpg.chip.jpg", "25_1_0_20170116174525125.jpg.chip.jpg",
             "26_0_1_20170116174525125.jpg.chip.jpg", "74_1_4_20170120134639935.jpg.chip.jpg",
             "39_1_20170116174525125.jpg.chip.jpg"]  # the last misses its race field
    for i, name in enumerate(names):
        write_image(folder / name, seed=i)
    report = inspect_json(f"utkface:{tmp_path}", "--split", "test")
    test = report["splits"]["test"]
    assert test["n"] == 4 and not test["labelled"]
    assert test["attributes"] == {
        "age": {"0-2": 1, "20-29": 2, "more than 70": 1},
        "gender": {"female": 2, "male": 2},
        "race": {"Asian": 1, "Black": 1, "Others": 1, "White": 1},
    }
    assert len(test["skipped"]) == 1 and "does not match" in test["skipped"][0]["reason"]


def test_rafdb_reads_its_label_list_codes_and_manual_attributes(tmp_path):
    entries = [("train_00001.jpg", 4), ("train_00002.jpg", 4), ("train_00003.jpg", 7), ("test_0001.jpg", 1),
               ("test_0002.jpg", 6)]
    (tmp_path / "EmoLabel").mkdir()
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text("".join(f"{n} {c}\n" for n, c in entries))
    for i, (name, _) in enumerate(entries):
        stem = name[:-4]
        write_image(tmp_path / "Image" / "aligned" / f"{stem}_aligned.jpg", seed=i)
        manual = tmp_path / "Annotation" / "manual" / f"{stem}_manu_attri.txt"
        manual.parent.mkdir(parents=True, exist_ok=True)
        landmarks = "".join(f"{10 * j}.5\t{20 * j}.5\n" for j in range(5))
        manual.write_text(landmarks + f"{i % 2}\n{i % 3}\n2\n")
    report = inspect_json(f"rafdb:{tmp_path}")
    assert nonzero(report["splits"]["train"]["labels"]) == {"happy": 2, "neutral": 1}
    assert nonzero(report["splits"]["test"]["labels"]) == {"surprise": 1, "angry": 1}
    assert report["splits"]["train"]["attributes"]["gender"] == {"female": 1, "male": 2}
    assert report["splits"]["test"]["attributes"]["race"] == {"African-American": 1, "Caucasian": 1}
    assert report["splits"]["test"]["attributes"]["age"] == {"20-39": 2}
    assert report["missing_splits"] == ["val"]


def test_imagefolder_without_label_folders_is_unlabelled(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"photo_{i}.png", seed=i, fmt="PNG")
    data = load_dataset(f"imagefolder:{tmp_path}", "test", size=16)
    assert len(data) == 3 and (data.labels == UNLABELLED).all()
    assert data.images.shape == (3, 16, 16, 3) and data.images.dtype == np.uint8
    report = inspect_json(f"imagefolder:{tmp_path}")
    assert report["missing_splits"] == ["train", "val"]


def test_imagefolder_with_splits_uses_the_labels_of_every_split(tmp_path):
    write_image(tmp_path / "train" / "cat" / "1.jpg")
    write_image(tmp_path / "train" / "dog" / "1.jpg")
    write_image(tmp_path / "test" / "dog" / "2.jpg")
    write_image(tmp_path / "test" / "dog" / "2.png", fmt="PNG")  # same id as 2.jpg
    data = load_dataset(f"imagefolder:{tmp_path}", "test", size=8)
    assert data.classes == ("cat", "dog") and data.label_names.tolist() == ["dog"]
    assert [s["reason"] for s in data.meta["skipped"]] == ["duplicate id (first kept)"]
    with pytest.raises(Exception, match="no 'val' split"):
        load_dataset(f"imagefolder:{tmp_path}", "val")


def test_layout_fields_can_be_overridden_per_call(tmp_path):
    for label in ("fear", "awe"):
        write_image(tmp_path / "holdout" / label / "1.jpg")
    data = load_dataset(f"fi:{tmp_path}", "test", size=8, splits={"test": ["holdout"]})
    assert sorted(data.label_names) == ["awe", "fear"]
    from tinyemo_audit.errors import UsageError

    with pytest.raises(UsageError, match="unknown field"):
        load_dataset(f"fi:{tmp_path}", "test", not_a_field=1)


def test_list_command_names_kinds_and_taxonomies():
    result = CliRunner().invoke(datasets_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["webemo"]["taxonomy"] == "parrott25" and rows["webemo"]["kind"] == "imagefolder"
    assert rows["fer2013"]["kind"] == "pixels" and rows["fairface"]["taxonomy"] is None
    text = CliRunner().invoke(datasets_app, ["list"])
    assert text.exit_code == 0 and "unbiasedemo:<root>" in text.output


def test_inspect_errors_are_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(datasets_app, ["inspect", "nosuch:/x"])
    assert result.exit_code == 2
    assert "unknown dataset 'nosuch:/x'" in result.output
    result = CliRunner().invoke(datasets_app, ["inspect", f"webemo:{tmp_path / 'absent'}"])
    assert result.exit_code == 2 and "not found" in result.output


def test_inspect_set_and_taxonomy_options(tmp_path):
    for label in ("happy", "sad"):
        write_image(tmp_path / "holdout" / label / "1.jpg")
    report = inspect_json(f"imagefolder:{tmp_path}", "--set", "splits={test: [holdout]}", "--taxonomy", "fer7")
    assert report["taxonomy"] == "fer7" and len(report["classes"]) == 7
    assert nonzero(report["splits"]["test"]["labels"]) == {"happy": 1, "sad": 1}
    bad = CliRunner().invoke(datasets_app, ["inspect", f"imagefolder:{tmp_path}", "--set", "nonsense"])
    assert bad.exit_code == 2 and "FIELD=VALUE" in bad.output
    bad = CliRunner().invoke(datasets_app, ["inspect", f"features:{tmp_path}", "--taxonomy", "fer7"])
    assert bad.exit_code == 2 and "apply to layout specs" in bad.output


def test_inspect_reads_feature_folders_too(tmp_path):
    import torch

    for split in ("train", "test"):
        for label in ("a", "b"):
            (tmp_path / split / label).mkdir(parents=True)
            torch.save(torch.ones(4), tmp_path / split / label / "x.pt")
    report = inspect_json(f"features:{tmp_path}")
    assert report["missing_splits"] == ["val"]
    assert report["splits"]["test"]["labels"] == {"a": 1, "b": 1}


def test_csv_needs_the_manifest_file_not_its_folder(tmp_path):
    from tinyemo_audit.errors import InputError

    with pytest.raises(InputError, match="give the manifest file"):
        load_dataset(f"csv:{tmp_path}", "test")


def test_a_folder_layout_given_a_file_says_so(tmp_path):
    from tinyemo_audit.errors import InputError

    path = write_image(tmp_path / "one.jpg")
    with pytest.raises(InputError, match="is a file; give the dataset's folder"):
        load_dataset(f"webemo:{path}", "test")
