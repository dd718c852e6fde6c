"""The ``embed`` feature store read as data another pipeline may have written: types checked, names cleaned."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Version 2: metadata.parquet (or metadata.csv) beside features.npy ------------------------------

def _v2(root, n=5, **attributes):
    import pandas as pd

    from tinyemo_audit.data.feature_store_writer import write_store

    attributes = attributes or {"group": pd.Series(["x", None, "y", "x", "y"][:n], dtype=object)}
    write_store(root, "test", np.arange(n * 4, dtype=np.float32).reshape(n, 4), classes=("happy", "sad"),
                ids=[f"i{i}" for i in range(n)], labels=np.arange(n) % 2, attributes=pd.DataFrame(attributes))
    return root / "test"


def test_a_written_store_reads_back_with_categorical_attributes_and_unknown_for_missing(tmp_path):
    split = _v2(tmp_path)
    manifest = json.loads((split / MANIFEST_FILE).read_text())
    assert manifest["version"] == 2 and "ids" not in manifest and manifest["attributes"] == ["group"]
    data = read_feature_store(tmp_path, "test")
    assert list(data.ids) == [f"i{i}" for i in range(5)] and data.labels.tolist() == [0, 1, 0, 1, 0]
    assert data.attributes["group"].dtype.name == "category"
    assert data.attributes["group"].astype(str).tolist() == ["x", "unknown", "y", "x", "y"]
    assert isinstance(data.features, np.memmap)


def test_a_metadata_table_changed_after_writing_fails_its_digest(tmp_path):
    """The digest is checked on the very bytes that are parsed (the table is read once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tinyemo_audit.data.feature_store import file_digest

    split = _v2(tmp_path)
    path = split / "metadata.parquet"
    assert json.loads((split / MANIFEST_FILE).read_text())["metadata_blake2b"] == file_digest(path)
    table = pq.read_table(path)
    column = table.column_names.index("id")
    pq.write_table(table.set_column(column, "id", pa.array([f"renamed{i}" for i in range(5)])), path)
    with pytest.raises(InputError, match="does not match the digest in its manifest"):
        read_feature_store(tmp_path, "test")


def test_csv_metadata_from_another_pipeline_is_read(tmp_path):
    import pandas as pd

    split = tmp_path / "test"
    split.mkdir()
    np.save(split / FEATURES_FILE, np.ones((3, 2), dtype=np.float16))
    pd.DataFrame({"id": ["007", "b", "c"], "label": [1, -1, 0], "age": ["old", "young", ""]}).to_csv(
        split / "metadata.csv", index=False)
    (split / MANIFEST_FILE).write_text(json.dumps({
        "format": FORMAT, "version": 2, "status": STATUS_COMPLETE, "n": 3, "dim": 2, "dtype": "float16",
        "classes": ["happy", "sad"], "metadata": "metadata.csv"}))
    data = read_feature_store(tmp_path, "test")
    assert list(data.ids) == ["007", "b", "c"] and data.labels.tolist() == [1, -1, 0]
    assert data.features.dtype == np.float16
    assert data.attributes["age"].astype(str).tolist() == ["old", "young", "unknown"]


@pytest.mark.parametrize("change, message", [
    (lambda t: t.slice(0, 4), "4 rows, but features.npy has 5"),
    (lambda t: t.drop_columns(["label"]), "no 'label' column"),
    (lambda t: t.append_column("id", t.column("id")), "names a column twice|unreadable"),
])
def test_metadata_that_disagrees_with_the_features_is_one_clear_error(tmp_path, change, message):
    import pyarrow.parquet as pq

    from tinyemo_audit.data.feature_store import file_digest

    split = _v2(tmp_path)
    path = split / "metadata.parquet"
    pq.write_table(change(pq.read_table(path)), path)
    manifest = json.loads((split / MANIFEST_FILE).read_text())
    (split / MANIFEST_FILE).write_text(json.dumps({**manifest, "metadata_blake2b": file_digest(path)}))
    with pytest.raises(InputError, match=message) as info:
        read_feature_store(tmp_path, "test")
    assert "\n" not in str(info.value)


def test_an_attribute_named_like_a_metadata_column_is_refused(tmp_path):
    with pytest.raises(InputError, match="rename it"):
        _v2(tmp_path, label=["a"] * 5)


@settings(max_examples=25, deadline=None)
@given(ids=st.lists(st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=6), min_size=1, max_size=8))
def test_control_characters_in_ids_are_skipped_like_every_dataset(tmp_path_factory, ids):
    import pandas as pd

    from tinyemo_audit.data.feature_store_writer import write_store
    from tinyemo_audit.user_text import has_control

    root = tmp_path_factory.mktemp("store")
    n = len(ids)
    write_store(root, "test", np.zeros((n, 2), np.float32), classes=("a",), ids=ids, labels=np.zeros(n, int),
                attributes=pd.DataFrame(index=range(n)))
    expected = [i for i in ids if not has_control(i)]
    if not expected:
        return
    data = read_feature_store(root, "test")
    assert list(data.ids) == [str(np.asarray([i])[0]) for i in expected]
