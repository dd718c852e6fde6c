"""Class 7: files that are not what they seem (FIFOs, sockets, folders and symlinks under data names).

The rule (docs/hostile-inputs.md, class 7): only regular files are read as data, and "inside the
dataset folder" is decided on resolved paths. An item entry that breaks it is a counted skip with
its reason; a file a whole split is read from (manifest, list, cache record) is exit 2. Generated
trees mix every entry kind of ``file_kinds.ENTRY_KINDS`` under image and feature names; for each,
reading never hangs, never opens anything in the outside folder, and either loads exactly the
readable entries (every other one skipped with a reason) or fails with one InputError.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import file_kinds as fk
import hostile_fixtures as hf
from tinyemo_audit.data.registry import load_dataset
from tinyemo_audit.errors import InputError, TinyEmoAuditError

KINDS = st.lists(st.sampled_from(fk.ENTRY_KINDS), min_size=1, max_size=6)
HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tree(kinds_by_label: dict[str, list[str]], suffix: str, *, csv: bool = False):
    """``<base>/ds/test/<label>/<i><suffix>`` entries of the given kinds; an ``outside`` folder beside ``ds``."""
    base = fk.short_dir("tk7-")
    outside = fk.make_outside(base)
    root = base / "ds"
    sockets: list = []
    target = root / "target" / f"real{suffix}"  # what link_in points at (not itself an item)
    target.parent.mkdir(parents=True)
    fk.write_payload(target, suffix, 7)
    rows, readable = [], 0
    for label, kinds in kinds_by_label.items():
        folder = root / "test" / label
        folder.mkdir(parents=True)
        for i, kind in enumerate(kinds):
            path = folder / f"{i}{suffix}"
            fk.make_entry(path, kind, outside=outside, inside_target=target, seed=i, sockets=sockets)
            rows.append([os.path.relpath(path, root), label])
            readable += kind in fk.READABLE
    if csv:  # a manifest naming the entries, plus rows that climb out or name the outside file outright
        rows += [["../outside/secret.png", "happy"], [str(outside[".png"]), "sad"]]
        hf.write_csv(root / "manifest.csv", ["path", "label"], rows)
    for sock in sockets:
        sock.close()  # the socket file stays on disk
    return base, root, outside, readable, len(rows)


def _load(spec: str, base, outside):
    with fk.OpenWatch(outside["folder"]) as watch:
        try:
            data = fk.finishes(lambda: load_dataset(spec, "test", **({} if spec.startswith("features:") else
                                                                     {"size": 16, "cache": False})), root=base)
        except TinyEmoAuditError as err:
            data = err
    assert watch.opened == [], f"opened outside the dataset: {watch.opened}"
    return data


def _check(data, readable: int, listed: int) -> None:
    if isinstance(data, TinyEmoAuditError):
        assert readable == 0, f"{readable} readable entries, yet: {data}"
        assert "\n" not in str(data)
        return
    assert len(data) == readable
    skipped = data.meta["skipped"]
    assert len(skipped) == listed - readable, skipped
    assert all(s["reason"] for s in skipped)


@HYPOTHESIS
@given(happy=KINDS, sad=KINDS)
def test_image_folder_entries(happy, sad):
    base, root, outside, readable, listed = _tree({"happy": happy, "sad": sad}, ".png")
    try:
        _check(_load(f"imagefolder:{root}", base, outside), readable, listed)
    finally:
        shutil.rmtree(base)


@HYPOTHESIS
@given(happy=KINDS, sad=KINDS)
def test_csv_manifest_entries(happy, sad):
    base, root, outside, readable, listed = _tree({"happy": happy, "sad": sad}, ".png", csv=True)
    try:
        data = _load(f"csv:{root / 'manifest.csv'}", base, outside)
        _check(data, readable, listed)
        if not isinstance(data, TinyEmoAuditError):
            reasons = [s["reason"] for s in data.meta["skipped"]]
            assert sum(r.startswith("path leaves the dataset folder") for r in reasons) >= 2
    finally:
        shutil.rmtree(base)


@HYPOTHESIS
@given(happy=KINDS, sad=KINDS)
def test_feature_folder_entries(happy, sad):
    base, root, outside, readable, listed = _tree({"happy": happy, "sad": sad}, ".pt")
    try:
        _check(_load(f"features:{root}", base, outside), readable, listed)
    finally:
        shutil.rmtree(base)


def test_symlinked_label_folder_leading_outside_is_not_followed():
    base = fk.short_dir("tk7-")
    outside = fk.make_outside(base)
    root = base / "ds"
    hf.good_images(root / "test" / "happy", 3)
    os.symlink(outside["folder"], root / "test" / "sad")
    try:
        data = _load(f"imagefolder:{root}", base, outside)
        assert len(data) == 3 and any("link(s) to folders not followed" in p for p in data.meta["problems"])
    finally:
        shutil.rmtree(base)


# Whole-split files: not a regular file, or resolving outside the dataset -> exit 2 (InputError).
def _fifo(path):
    os.mkfifo(path)


def _link_out(path, outside):
    os.symlink(outside, path)


@pytest.mark.parametrize("what", ["manifest_fifo", "split_list_fifo", "split_list_outside",
                                  "store_manifest_fifo", "store_features_fifo", "store_features_named_outside"])
def test_files_a_split_is_read_from(what):
    base = fk.short_dir("tk7-")
    outside = fk.make_outside(base)
    root = base / "ds"
    root.mkdir()
    if what == "manifest_fifo":
        _fifo(root / "manifest.csv")
        spec = f"csv:{root / 'manifest.csv'}"
    elif what.startswith("split_list"):
        hf.good_images(root / "image" / "happy", 2)
        if what == "split_list_fifo":
            _fifo(root / "test.json")
        else:
            (outside["folder"] / "test.json").write_text(json.dumps([["happy", "image/happy/ok00.png"]]))
            _link_out(root / "test.json", outside["folder"] / "test.json")
        spec = f"emoset:{root}"
    else:
        from tinyemo_audit.data.feature_store import FEATURES_FILE, FORMAT, MANIFEST_FILE, STATUS_COMPLETE

        split = root / "test"
        split.mkdir()
        manifest = {"format": FORMAT, "status": STATUS_COMPLETE, "n": 2, "dim": 4, "ids": ["a", "b"],
                    "labels": [0, 0], "classes": ["happy"], "attributes": {}}
        if what == "store_manifest_fifo":
            _fifo(split / MANIFEST_FILE)
            (split / "progress.json").write_text("{}")
        else:
            if what == "store_features_fifo":
                _fifo(split / FEATURES_FILE)
            else:
                np.save(outside["folder"] / "f.npy", np.zeros((2, 4), np.float32))
                manifest["features"] = "../../outside/f.npy"
            (split / MANIFEST_FILE).write_text(json.dumps(manifest))
        spec = f"features:{root}"
    try:
        error = _load(spec, base, outside)
        assert isinstance(error, InputError), error
        assert "\n" not in str(error)
    finally:
        shutil.rmtree(base)


def test_datasets_inspect_in_a_process_never_hangs():
    """The real CLI in its own process over a tree with every kind: exit 0 with the skips counted."""
    import subprocess
    import sys

    kinds = list(fk.ENTRY_KINDS)
    base, root, outside, readable, listed = _tree({"happy": kinds, "sad": ["good", "fifo"]}, ".png")
    try:
        result = subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", "datasets", "inspect",
                                 f"imagefolder:{root}", "--split", "test", "--json"],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["splits"]["test"]["n"] == readable
        assert report["splits"]["test"]["n_skipped"] == listed - readable
    finally:
        shutil.rmtree(base)
