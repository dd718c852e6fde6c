"""outputs/_plan.py: a command's outputs checked up front and written as one unit (all, or none)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tinyemo_audit import _io
from tinyemo_audit.outputs import (
    MANIFEST_NAME,
    OutputError,
    OutputPlan,
    file_problem,
    folder_problem,
)

def _write_tree(root: Path, tree: dict[str, bytes]) -> None:
    for rel, data in tree.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ one unit

def test_a_failure_while_putting_outputs_in_place_leaves_every_one_as_it_was(tmp_path, monkeypatch):
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    plan = OutputPlan()
    plan.file(junit, "--junit")
    plan.file(summary, "--summary")
    with plan.writing() as staged:
        staged.write_text(junit, "old junit")
        staged.write_text(summary, "old summary")
    real = os.replace

    def full_disk_at_the_summary(src, dst, *args, **kwargs):
        if Path(dst) == summary:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(_io.os, "replace", full_disk_at_the_summary)
    with pytest.raises(OutputError, match=r"cannot write --summary .*summary.md: No space left on device"):
        with plan.writing() as staged:
            staged.write_text(junit, "new junit")
            staged.write_text(summary, "new summary")
    monkeypatch.setattr(_io.os, "replace", real)
    assert (junit.read_text(), summary.read_text()) == ("old junit", "old summary")
    assert file_problem(junit) is None and file_problem(summary) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST_NAME, "junit.xml", "summary.md"])


def test_a_full_disk_while_staging_names_the_outputs_and_leaves_nothing(tmp_path):
    run = tmp_path / "run"
    plan = OutputPlan()
    plan.folder(run, "--out")
    with pytest.raises(OutputError, match=r"cannot write the outputs \(--out .*run\): No space left on device"):
        with plan.writing() as staged:
            (staged.path(run) / "results.json").write_text("{}")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_something_appearing_during_the_work_is_still_refused_at_the_end(tmp_path):
    run = tmp_path / "run"
    plan = OutputPlan()
    plan.folder(run, "--out")
    plan.check()
    with pytest.raises(OutputError, match="did not write"):
        with plan.writing() as staged:
            (staged.path(run) / "results.json").write_text("{}")
            run.mkdir()
            (run / "thesis.tex").write_text("typed meanwhile")
    assert _snapshot(run) == {"thesis.tex": b"typed meanwhile"}


def test_the_committed_bundles_carry_manifests_that_match():
    from tinyemo_audit.model.bundle import list_bundles, resolve_bundle_path

    for name in list_bundles():
        assert folder_problem(resolve_bundle_path(name)) is None, name
