"""The TinyEmo feature-folder reader: layout, split aliases, taxonomy, and refusal of bad files."""

import pickle

import numpy as np
import pytest
import torch

from tinyemo_audit.data.feature_folder import read_feature_folder
from tinyemo_audit.data.registry import load_dataset
from tinyemo_audit.errors import InputError, UnknownNameError, UsageError


def make_feature_folder(root, *, dim=8, per_class=4, classes=("anger", "joy", "sadness"), val_name="val", seed=0):
    """A TinyEmo-layout folder: <root>/<split>/<label>/<id>.pt holding one 1-D tensor each."""
    gen = torch.Generator().manual_seed(seed)
    for split in ("train", val_name, "test"):
        for ci, label in enumerate(classes):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                torch.save(torch.randn(dim, generator=gen) + ci, folder / f"img{i:03d}.pt")
    return root


def test_reads_layout(tmp_path):
    root = make_feature_folder(tmp_path / "feats")
    data = read_feature_folder(root, "train")
    assert data.classes == ("anger", "joy", "sadness")
    assert data.features.shape == (12, 8) and data.features.dtype == np.float32
    assert list(np.bincount(data.labels)) == [4, 4, 4]
    assert data.ids[0] == "anger/img000"
    assert data.attributes.shape == (12, 0)


def test_validation_alias_and_registry(tmp_path):
    root = make_feature_folder(tmp_path / "feats", val_name="validation")
    data = load_dataset(f"features:{root}", "validation")
    assert data.split == "val" and len(data) == 12


def test_taxonomy_spans_all_splits(tmp_path):
    root = make_feature_folder(tmp_path / "feats")
    (root / "test" / "zest").mkdir()
    torch.save(torch.zeros(8), root / "test" / "zest" / "x.pt")
    train = read_feature_folder(root, "train")
    assert "zest" in train.classes  # a class absent from train is still a candidate label


def test_missing_split_lists_found(tmp_path):
    root = make_feature_folder(tmp_path / "feats")
    import shutil

    shutil.rmtree(root / "val")
    with pytest.raises(InputError, match="no 'val' split"):
        read_feature_folder(root, "val")


def test_wrong_dimension_is_named(tmp_path):
    root = make_feature_folder(tmp_path / "feats")
    torch.save(torch.zeros(5), root / "train" / "joy" / "odd.pt")
    with pytest.raises(InputError, match="disagree on dimension"):
        read_feature_folder(root, "train")


def test_pickle_payload_is_not_executed(tmp_path):
    root = make_feature_folder(tmp_path / "feats")
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(root / "train" / "joy" / "evil.pt", "wb") as fh:
        pickle.dump(Payload(), fh)
    with pytest.raises(InputError, match="cannot read feature file"):
        read_feature_folder(root, "train")
    assert not marker.exists()


def test_non_tensor_and_matrix_refused(tmp_path):
    root = make_feature_folder(tmp_path / "feats")
    torch.save({"a": 1}, root / "train" / "joy" / "dict.pt")
    with pytest.raises(InputError, match="not a tensor"):
        read_feature_folder(root, "train")


def test_bad_specs():
    with pytest.raises(UnknownNameError, match=r"valid choices: .*\bfaces, .*features:<\.\.\.>, .*webemo:<\.\.\.>"):
        load_dataset("fases", "test")
    with pytest.raises(UsageError, match="unknown split"):
        load_dataset("faces", "dev")
    with pytest.raises(InputError, match="not found"):
        load_dataset("features:/nonexistent/folder", "train")
