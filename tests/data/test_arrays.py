"""Arrays read through the regular-file rule: a FIFO never blocks, object arrays never load."""

from __future__ import annotations

import doctest
import os

import numpy as np
import pytest

from tinyemo_audit.data import arrays
from tinyemo_audit.data.arrays import load_npy, memmap_regular
from tinyemo_audit.errors import InputError


def test_doctests():
    assert doctest.testmod(arrays).failed == 0


@pytest.mark.parametrize("mmap_mode", [None, "r", "c"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_round_trip(tmp_path, mmap_mode, order):
    array = np.asarray(np.random.default_rng(0).normal(size=(4, 3)), dtype=np.float32, order=order)
    np.save(tmp_path / "a.npy", array)
    loaded = load_npy(tmp_path / "a.npy", what="features", mmap_mode=mmap_mode)
    assert np.array_equal(loaded, array)


def test_copy_on_write_never_changes_the_file(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3, np.float32))
    mapped = load_npy(tmp_path / "a.npy", what="features", mmap_mode="c")
    mapped[0] = 5
    assert np.load(tmp_path / "a.npy")[0] == 0


@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_refusals(tmp_path, mmap_mode):
    os.mkfifo(tmp_path / "fifo.npy")
    (tmp_path / "folder.npy").mkdir()
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("not an array")
    np.save(tmp_path / "short.npy", np.zeros(10, np.float32))
    with open(tmp_path / "short.npy", "r+b") as handle:
        handle.truncate(os.path.getsize(tmp_path / "short.npy") - 8)
    expected = {"fifo.npy": "not a regular file", "folder.npy": "not a regular file",
                "objects.npy": "holds Python objects", "text.npy": "not a .npy array",
                "short.npy": "truncated|bytes; .* are needed"}
    for name, message in expected.items():
        with pytest.raises(InputError, match=message):
            load_npy(tmp_path / name, what="features", mmap_mode=mmap_mode)


def test_empty_arrays_map(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 4), np.float32))
    assert load_npy(tmp_path / "e.npy", what="x", mmap_mode="r").shape == (0, 4)
    (tmp_path / "raw.u8").write_bytes(b"")
    assert memmap_regular(tmp_path / "raw.u8", what="x", dtype=np.uint8, shape=(0, 2)).shape == (0, 2)
