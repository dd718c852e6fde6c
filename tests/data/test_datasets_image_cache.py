"""The on-disk decoded-image cache: memory-mapped, reused while files are unchanged, rebuilt when they change."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

import tinyemo_audit.data.image_cache as image_cache
from tinyemo_audit.data.registry import load_dataset


def build(tmp_path):
    root = tmp_path / "data"
    for i, label in enumerate(("joy", "fear", "joy")):
        (root / "test" / label).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (6, 6), (i * 50, 0, 0)).save(root / "test" / label / f"{i}.png")
    (root / "test" / "joy" / "broken.png").write_bytes(b"")
    return root


def test_second_load_maps_the_cache_without_decoding(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    root = build(tmp_path)
    first = load_dataset(f"imagefolder:{root}", "test", size=8)
    assert isinstance(first.images, np.memmap)
    assert len(first) == 3 and [s["reason"] for s in first.meta["skipped"]] == ["empty file (0 bytes)"]

    def refuse(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_cache, "read_images", refuse)
    second = load_dataset(f"imagefolder:{root}", "test", size=8)
    np.testing.assert_array_equal(second.images, first.images)
    assert second.meta["skipped"] == first.meta["skipped"]
    second.images[0] = 7  # copy-on-write: the cache itself is untouched
    third = load_dataset(f"imagefolder:{root}", "test", size=8)
    np.testing.assert_array_equal(third.images, first.images)


def test_a_changed_file_or_setting_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    root = build(tmp_path)
    before = load_dataset(f"imagefolder:{root}", "test", size=8)
    target = root / "test" / "fear" / "1.png"
    Image.new("RGB", (6, 6), (0, 0, 255)).save(target)
    os.utime(target, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    after = load_dataset(f"imagefolder:{root}", "test", size=8)
    row = list(after.ids).index("fear/1")
    assert (after.images[row, ..., 2] == 255).all() and not (before.images[row, ..., 2] == 255).all()
    assert load_dataset(f"imagefolder:{root}", "test", size=4).images.shape[1:] == (4, 4, 3)
    in_ram = load_dataset(f"imagefolder:{root}", "test", size=8, cache=False)
    assert not isinstance(in_ram.images, np.memmap)
    np.testing.assert_array_equal(in_ram.images, after.images)


def test_a_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    root = build(tmp_path)
    first = np.array(load_dataset(f"imagefolder:{root}", "test", size=8).images)
    (entry,) = (tmp_path / "cache" / "images").iterdir()
    (entry / image_cache.IMAGES_FILE).write_bytes(b"short")
    again = load_dataset(f"imagefolder:{root}", "test", size=8)
    np.testing.assert_array_equal(again.images, first)
