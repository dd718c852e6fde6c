"""Counterfactual manifests: sets of images or items, partial sets, skips counted, mixed attributes refused."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tinyemo_audit.data.counterfactuals import (
    REPEATED_VALUE,
    SINGLE_VALUE,
    UNKNOWN_ID,
    counterfactual_counts,
    read_counterfactuals,
)
from tinyemo_audit.errors import InputError

CLASSES = ("happy", "sad", "neutral")


def items_manifest(rows):
    return pd.DataFrame(rows, columns=["set_id", "attribute", "value", "id"])


def read_items(frame, ids=("a", "b", "c", "d", "e"), labels=(0, 0, 1, 1, 2)):
    return read_counterfactuals(frame, classes=CLASSES, cells="items", image_size=8, item_ids=ids, item_labels=labels)


def test_item_sets_partial_and_skipped():
    frame = items_manifest([
        ("s1", "gender", "m", "a"), ("s1", "gender", "f", "b"),
        ("s2", "gender", "m", "c"), ("s2", "gender", "x", "d"),
        ("s3", "gender", "m", "e"),                              # a single value: skipped
        ("s4", "gender", "m", "zz"), ("s4", "gender", "f", "a"),  # unknown id: the set keeps one value, skipped
        ("s1", "gender", "f", "c"),                              # repeated value: first kept
    ])
    twins = read_items(frame).twin_set("gender", n_identities=0)
    assert twins.values == ("m", "f", "x") and twins.ids.tolist() == ["s1", "s2"]
    assert twins.has().tolist() == [[True, True, False], [True, False, True]]
    assert twins.item_ids[0].tolist()[:2] == ["a", "b"]
    assert twins.labels.tolist() == [0, 1]  # the items' shared label
    counts = counterfactual_counts(twins)
    assert counts["skipped_rows"] == {UNKNOWN_ID: 1, REPEATED_VALUE: 1}
    assert counts["skipped_sets"] == {SINGLE_VALUE: 2} and counts["n_sets_skipped"] == 2


def test_a_set_that_mixes_attributes_is_refused():
    frame = items_manifest([("s1", "gender", "m", "a"), ("s1", "age", "old", "b")])
    with pytest.raises(InputError) as info:
        read_items(frame)
    assert "set 's1' mixes attributes 'gender' and 'age'" in str(info.value) and "\n" not in str(info.value)


def test_predictions_only_needs_ids():
    frame = pd.DataFrame({"set_id": ["s"], "attribute": ["g"], "value": ["m"], "path": ["x.png"]})
    with pytest.raises(InputError, match="no model to encode"):
        read_items(frame)


def test_header_needs_a_cell_column():
    frame = pd.DataFrame({"set_id": ["s"], "attribute": ["g"], "value": ["m"]})
    with pytest.raises(InputError, match="needs a path column"):
        read_items(frame)


def test_control_characters_and_empty_fields_skip_rows():
    frame = items_manifest([("s1", "gender", "m", "a"), ("s1", "gender", "f\x1b", "b"), ("s1", "gender", None, "c"),
                            ("s1", "gender", "f", "d")])
    manifest = read_items(frame)
    twins = manifest.twin_set("gender", n_identities=0)
    assert twins.values == ("m", "f")
    assert counterfactual_counts(twins)["skipped_rows"] == {"control character in attribute 'value'": 1,
                                                           "missing value": 1}


def test_image_sets_read_missing_and_outside(tmp_path):
    for name, shade in (("a.png", 10), ("b.png", 200)):
        Image.fromarray(np.full((8, 8, 3), shade, np.uint8)).save(tmp_path / name)
    frame = pd.DataFrame({"set_id": ["s1", "s1", "s2", "s2", "s3", "s3"], "attribute": ["tone"] * 6,
                          "value": ["light", "dark"] * 3, "path": ["a.png", "b.png", "a.png", "gone.png",
                                                                      "a.png", "../../etc/passwd"],
                          "label": ["happy"] * 6})
    frame.to_csv(tmp_path / "m.csv", index=False)
    manifest = read_counterfactuals(tmp_path / "m.csv", classes=CLASSES, cells="auto", image_size=8)
    twins = manifest.twin_set("tone", n_identities=0)
    assert twins.ids.tolist() == ["s1"] and twins.images.shape == (1, 2, 8, 8, 3)
    assert int(twins.images[0, 1, 0, 0, 0]) == 200 and twins.labels.tolist() == [0]
    counts = counterfactual_counts(twins)
    assert counts["skipped_sets"] == {SINGLE_VALUE: 2}
    assert sum(counts["skipped_rows"].values()) == 2  # the missing file and the path leaving the folder


@settings(max_examples=40, deadline=None)
@given(cells=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["m", "f", "x"]), st.sampled_from("abcdez")),
                      min_size=1, max_size=20))
def test_every_row_is_used_or_counted(cells):
    """Rows in equal rows out: each row is a kept cell, or counted under a skip reason, or in a skipped set."""
    frame = items_manifest([(f"s{s}", "g", v, i) for s, v, i in cells])
    twins = read_items(frame).twin_set("g", n_identities=0)
    counts = counterfactual_counts(twins)
    kept = int(twins.has().sum())
    in_single_sets = counts["n_sets_skipped"]  # each such set kept exactly one row
    assert kept + sum(counts["skipped_rows"].values()) + in_single_sets == len(cells)
    assert (twins.has().sum(axis=1) >= 2).all()


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cf-images")
    for name, shade in (("a.png", 10), ("b.png", 200)):
        Image.fromarray(np.full((8, 8, 3), shade, np.uint8)).save(folder / name)
    return folder


@settings(max_examples=40, deadline=None)
@given(cells=st.lists(st.tuples(st.sampled_from(["s0", "s1", "s2", ""]), st.sampled_from(["m", "f", ""]),
                                st.sampled_from(["a.png", "b.png", "", "gone.png", "../x.png"])),
                      min_size=1, max_size=16))
def test_every_image_row_is_used_or_counted(image_folder, cells):
    """The same rule for image manifests read from CSV, where an empty field (a missing cell) can be any field."""
    frame = pd.DataFrame([(s, "g", v, p) for s, v, p in cells], columns=["set_id", "attribute", "value", "path"])
    path = image_folder / "m.csv"
    frame.to_csv(path, index=False)
    twins = read_counterfactuals(path, classes=CLASSES, cells="auto", image_size=8).twin_set("g", n_identities=0)
    counts = counterfactual_counts(twins)
    kept = int(twins.has().sum()) if len(twins.ids) else 0
    assert kept + sum(counts["skipped_rows"].values()) + counts["n_sets_skipped"] == len(cells)
