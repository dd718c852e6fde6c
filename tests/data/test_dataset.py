"""Tests of the Dataset container."""

from __future__ import annotations


def test_skipped_by_reason_counts_most_frequent_first():
    from tinyemo_audit.data.dataset import Dataset

    data = Dataset.__new__(Dataset)
    data.meta = {"skipped": [{"reason": "missing label"}, {"reason": "empty file (0 bytes)"},
                             {"reason": "missing label"}, {"id": "x"}]}
    assert data.skipped_by_reason() == {"missing label": 2, "empty file (0 bytes)": 1, "no reason given": 1}
    data.meta = {}
    assert data.skipped_by_reason() == {}


def test_a_listing_encoded_elsewhere_shows_the_pixels_a_local_load_holds(tmp_path):
    """run --engine ray: the split holds features, and the rows a report shows are decoded again, identically."""
    import numpy as np

    from fixture_files import write_image_csv
    from tinyemo_audit.data.registry import list_dataset, load_dataset

    spec = f"csv:{write_image_csv(tmp_path, 6, shape=(40, 28), labels=('happy', 'sad'), group=False, seed=1)}"
    (tmp_path / "img" / "002.png").write_bytes(b"not a png")
    loaded = load_dataset(spec, "test", size=16, cache=False)
    listing = list_dataset(spec, "test", size=16)
    reasons = [None if i != 2 else "cannot decode" for i in range(len(listing))]
    features = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    encoded = listing.dataset(None, reasons, features=features)
    assert encoded.images is None and encoded.features is features and encoded.image_size == loaded.image_size == 16
    assert list(encoded.ids) == list(loaded.ids) == ["i000", "i001", "i003", "i004", "i005"]
    assert encoded.skipped_by_reason() == {"cannot decode": 1}
    for row in range(len(loaded)):
        np.testing.assert_array_equal(encoded.pixels(row), loaded.pixels(row))
    subset = encoded.subset(np.array([4, 1]))  # paths follow the rows through a subsample
    np.testing.assert_array_equal(subset.pixels(0), loaded.pixels(4))
    (tmp_path / "img" / "005.png").unlink()  # a file gone since: nothing to show, no error
    assert encoded.pixels(4) is None


def test_a_features_dataset_has_no_pixels():
    import numpy as np
    import pandas as pd

    from tinyemo_audit.data.dataset import Dataset

    data = Dataset(name="features:x", split="test", classes=("a",), labels=np.zeros(2, dtype=np.int64),
                   ids=np.array(["p", "q"]), attributes=pd.DataFrame(index=range(2)),
                   features=np.zeros((2, 4), dtype=np.float32))
    assert data.pixels(1) is None and data.image_size is None
