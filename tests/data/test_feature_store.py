"""The ``embed`` feature store read as data another pipeline may have written: types checked, names cleaned."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyemo_audit.data.feature_store import FEATURES_FILE, FORMAT, MANIFEST_FILE, STATUS_COMPLETE, read_feature_store
from tinyemo_audit.errors import InputError


def _store(root, **manifest):
    split = root / "test"
    split.mkdir(parents=True)
    np.save(split / FEATURES_FILE, np.arange(12, dtype=np.float32).reshape(3, 4))
    record = {"format": FORMAT, "status": STATUS_COMPLETE, "n": 3, "dim": 4, "ids": ["a", "b", "c"],
              "labels": [0, 1, 0], "classes": ["happy", "sad"], "attributes": {"group": ["x", "y", "x"]}}
    record.update(manifest)
    (split / MANIFEST_FILE).write_text(json.dumps(record), encoding="utf-8")
    return root


def test_control_characters_in_a_written_store_follow_the_dataset_rule(tmp_path):
    root = _store(tmp_path, ids=["a", "b\x1b[2J", "c"], classes=["happy", "s\u202ead"],
                  attributes={"group": ["x", "y", "x"], "ev\x07il": ["1", "2", "3"]})
    data = read_feature_store(root, "test")
    assert data.classes == ("happy",) and list(data.ids) == ["a", "c"]
    assert list(data.attributes.columns) == ["group"]
    assert np.array_equal(data.features[:, 0], [0, 8])
    assert sorted(s["reason"] for s in data.meta["skipped"]) == ["control character in label"]  # b is sad too
    assert data.meta["skipped_attributes"][0]["attribute"] == "'ev\\u0007il'"


@pytest.mark.parametrize("field, value", [("ids", "abc"), ("labels", {"a": 1}), ("attributes", {"g": 3}),
                                          ("attributes", ["x"]), ("classes", [1, 2])])
def test_mistyped_manifest_fields_are_one_clear_error(tmp_path, field, value):
    root = _store(tmp_path, **{field: value})
    with pytest.raises(InputError):
        read_feature_store(root, "test")
