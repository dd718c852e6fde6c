"""CSV manifests (csv:<manifest>) and the FER2013 pixel-string CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tinyemo_audit.cli.datasets import datasets_app
from tinyemo_audit.data.dataset import UNLABELLED
from tinyemo_audit.data.registry import load_dataset
from tinyemo_audit.errors import InputError, UsageError


def write_image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (9, 7), (value, 255 - value, 40)).save(path)


def manifest(tmp_path: Path, text: str, images=()) -> Path:
    for name in images:
        write_image(tmp_path / name, value=len(name) * 10 % 256)
    path = tmp_path / "manifest.csv"
    path.write_text(text)
    return path


def test_manifest_with_labels_ids_attributes_and_splits(tmp_path):
    path = manifest(tmp_path, (
        "path,label,id,split,gender,age\n"
        "img/a.jpg,happy,a,train,female,30\n"
        "img/b.jpg,sad,b,test,male,40\n"
        "img/c.jpg,happy,c,test,female,\n"
    ), images=["img/a.jpg", "img/b.jpg", "img/c.jpg"])
    data = load_dataset(f"csv:{path}", "test", size=16)
    assert data.ids.tolist() == ["b", "c"]
    assert data.classes == ("happy", "sad")  # every label of the manifest, not only this split's
    assert data.label_names.tolist() == ["sad", "happy"]
    assert data.attributes.to_dict("list") == {"gender": ["male", "female"], "age": ["40", "unknown"]}
    assert any("missing value" in p for p in data.meta["problems"])
    assert data.meta["paths"][0] == str(tmp_path / "img" / "b.jpg")
    train = load_dataset(f"csv:{path}", "train", size=16, taxonomy="fer7")
    assert train.classes[train.labels[0]] == "happy" and len(train.classes) == 7


def test_manifest_without_label_column_is_unlabelled_test_only(tmp_path):
    path = manifest(tmp_path, "path,skin\nx.png,dark\ny.png,light\n", images=["x.png", "y.png"])
    data = load_dataset(f"csv:{path}", "test", size=8)
    assert (data.labels == UNLABELLED).all() and data.classes == ()
    assert data.ids.tolist() == ["x", "y"] and data.attributes["skin"].tolist() == ["dark", "light"]
    with pytest.raises(InputError, match="no 'split' column"):
        load_dataset(f"csv:{path}", "train")


def test_missing_path_column_is_a_one_line_error_naming_it(tmp_path):
    path = manifest(tmp_path, "file,label\nx.png,happy\n", images=["x.png"])
    with pytest.raises(InputError, match=r"has no 'path' column \(columns: file, label\)"):
        load_dataset(f"csv:{path}", "test")
    result = CliRunner().invoke(datasets_app, ["inspect", f"csv:{path}"])
    assert result.exit_code == 2
    assert "has no 'path' column" in result.output and result.output.count("\n") == 1


def test_fairface_missing_attribute_column_is_named(tmp_path):
    (tmp_path / "fairface_label_val.csv").write_text("file,age,gender\nval/1.jpg,3-9,Male\n")
    write_image(tmp_path / "val" / "1.jpg")
    with pytest.raises(InputError, match="has no 'race' column"):
        load_dataset(f"fairface:{tmp_path}", "test")


def test_unknown_and_missing_labels_and_duplicate_ids_are_skipped_and_counted(tmp_path):
    path = manifest(tmp_path, (
        "path,label,id\n"
        "a.png,happy,a\n"
        "b.png,joyous,b\n"
        "c.png,,c\n"
        "d.png,sad,a\n"
        ",sad,e\n"
        "f.png,Sad,f\n"
    ), images=["a.png", "b.png", "c.png", "d.png", "f.png"])
    data = load_dataset(f"csv:{path}", "test", size=8, taxonomy="fer7")
    assert data.ids.tolist() == ["a", "f"]
    assert data.label_names.tolist() == ["happy", "sad"]  # matched case-insensitively
    reasons = {s["id"]: s["reason"] for s in data.meta["skipped"]}
    assert reasons == {"e": "missing path", "a": "duplicate id (first kept)", "b": "unknown label 'joyous'",
                       "c": "missing label"}
    problems = " | ".join(data.meta["problems"])
    assert "unknown labels skipped: 'joyous' x1" in problems and "duplicate id" in problems


def test_all_labels_unknown_is_a_usage_error(tmp_path):
    path = manifest(tmp_path, "path,label\na.png,blue\nb.png,green\n", images=["a.png", "b.png"])
    with pytest.raises(UsageError, match="none of the 2 labels .* is a fer7 class"):
        load_dataset(f"csv:{path}", "test", taxonomy="fer7")


def test_inspect_reports_skips_and_counts_for_a_manifest(tmp_path):
    path = manifest(tmp_path, "path,label,group\na.png,x,g1\nb.png,y,g2\nmissing.png,x,g1\n",
                    images=["a.png", "b.png"])
    result = CliRunner().invoke(datasets_app, ["inspect", f"csv:{path}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    test = report["splits"]["test"]
    assert test["labels"] == {"x": 1, "y": 1} and test["attributes"] == {"group": {"g1": 1, "g2": 1}}
    assert test["skipped"][0]["path"].endswith("missing.png") and "cannot read file" in test["skipped"][0]["reason"]
    assert report["missing_splits"] == ["train", "val"]


def fer_csv(tmp_path: Path, rows) -> Path:
    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,pixels,Usage\n" + "".join(f"{e},{p},{u}\n" for e, p, u in rows))
    return path


def pixels(value: int, n: int = 48 * 48) -> str:
    return " ".join([str(value)] * n)


def test_fer2013_pixel_strings(tmp_path):
    gradient = " ".join(str(v % 256) for v in range(48 * 48))
    fer_csv(tmp_path, [
        (3, gradient, "Training"),
        (0, pixels(10), "PrivateTest"),
        (6, pixels(200), "PrivateTest"),
        (5, pixels(7, n=100), "PrivateTest"),      # wrong length
        (4, pixels(300), "PrivateTest"),            # out of range
        (4, pixels(1)[:-1] + "x", "PrivateTest"),  # not a number
        (2, pixels(50), "PublicTest"),
    ])
    test = load_dataset(f"fer2013:{tmp_path}", "test")
    assert test.images.shape == (2, 48, 48, 3)
    assert test.label_names.tolist() == ["angry", "neutral"]
    assert (test.images[0] == 10).all() and (test.images[1] == 200).all()
    reasons = sorted(s["reason"] for s in test.meta["skipped"])
    assert reasons[0].startswith("pixel string has 100 values") and len(reasons) == 3
    assert all("0-255" in r for r in reasons[1:])
    train = load_dataset(f"fer2013:{tmp_path / 'fer2013.csv'}", "train")
    assert train.label_names.tolist() == ["happy"]
    assert train.images[0, 0, :5, 0].tolist() == [0, 1, 2, 3, 4]
    val = load_dataset(f"fer2013:{tmp_path}", "val", size=96)
    assert val.images.shape == (1, 96, 96, 3) and val.label_names.tolist() == ["fear"]
    report = json.loads(CliRunner().invoke(datasets_app, ["inspect", f"fer2013:{tmp_path}", "--json"]).output)
    assert report["n_items"] == 4 and report["n_skipped"] == 3
