"""Unit tests of tinyemo_audit/_io.py: stale-temp removal, the folder swap (renameat2 and fallback), resolve_replaced."""

from __future__ import annotations

import errno
import fcntl
import json
import builtins
import os
import stat
import time
from pathlib import Path

import pytest
from forking import fork_child

from tinyemo_audit import _io
from tinyemo_audit.audit.results import read_results

HAS_RENAMEAT2 = _io._renameat2() is not None
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture(params=["renameat2", "two-renames"])
def swap(request, monkeypatch):
    """Run a test with the atomic swap and with the forced portable fallback."""
    if request.param == "renameat2":
        if not HAS_RENAMEAT2:
            pytest.skip("no renameat2 on this platform")
    else:
        monkeypatch.setattr(_io, "_renameat2", lambda: None)
    return request.param


def _held(path: Path) -> int:
    """Hold a writer's lock on ``path`` as a live writer would (another open file description)."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# remove_stale_temps ------------------------------------------------------------------------------

def test_remove_stale_temps_deletes_unlocked_temps_and_keeps_locked_ones(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("{}")
    (tmp_path / ".results.json.dead1.tmp").write_text("half")
    (tmp_path / ".results.json.dead2.tmp").mkdir()
    (tmp_path / ".results.json.dead2.tmp" / "inner").write_text("x")
    live_file = tmp_path / ".results.json.live1.tmp"
    live_file.write_text("being written")
    live_dir = tmp_path / ".results.json.live2.tmp"
    live_dir.mkdir()
    unrelated = [".other.json.dead.tmp", "results.json.tmp", ".results.json.old.keep", ".results.json..tmp"]
    for name in unrelated:
        (tmp_path / name).write_text("not ours")
    locks = [_held(live_file), _held(live_dir)]
    try:
        removed = _io.remove_stale_temps(target)
    finally:
        for fd in locks:
            os.close(fd)
    assert sorted(p.name for p in removed) == [".results.json.dead1.tmp", ".results.json.dead2.tmp"]
    assert _listing(tmp_path) == sorted([".results.json.live1.tmp", ".results.json.live2.tmp", "results.json",
                                         *unrelated])
    # Once the live writers are gone (their locks dropped), their temps are stale too.
    assert {p.name for p in _io.remove_stale_temps(target)} == {".results.json.live1.tmp", ".results.json.live2.tmp"}


def test_remove_stale_temps_drops_a_backup_only_when_the_folder_is_in_place(tmp_path):
    run, backup = tmp_path / "run", tmp_path / ".run.old"
    backup.mkdir()
    (backup / "results.json").write_text("old")
    assert _io.remove_stale_temps(run) == []  # the backup is the only copy: kept
    assert backup.is_dir()
    run.mkdir()
    assert _io.remove_stale_temps(run) == [backup]
    assert _listing(tmp_path) == ["run"]


def test_remove_stale_temps_of_a_missing_folder_is_a_no_op(tmp_path):
    assert _io.remove_stale_temps(tmp_path / "absent" / "file.json") == []


def test_writers_tidy_up_temps_of_dead_writers_but_not_of_live_ones(tmp_path):
    target = tmp_path / "report.html"
    (tmp_path / ".report.html.dead.tmp").write_text("killed writer")
    with _io.atomic_path(target) as live:
        live.write_text("slow writer, still working")
        _io.atomic_write_text(target, "fast writer")  # scans while the slow one holds its lock
        assert live.read_text() == "slow writer, still working"
        assert not (tmp_path / ".report.html.dead.tmp").exists()
    assert target.read_text() == "slow writer, still working"
    assert _listing(tmp_path) == ["report.html"]


def test_live_temp_folder_survives_a_concurrent_folder_write(tmp_path, swap):
    run = tmp_path / "run"
    (tmp_path / ".run.dead.tmp").mkdir()
    with _io.atomic_directory(run) as live:
        (live / "a.txt").write_text("slow")
        with _io.atomic_directory(run) as fast:
            (fast / "a.txt").write_text("fast")
        assert (live / "a.txt").read_text() == "slow"
        assert (run / "a.txt").read_text() == "fast"
    assert (run / "a.txt").read_text() == "slow"
    assert _listing(tmp_path) == ["run"]


@pytest.mark.parametrize("cleaner", ["deleted", "holds-lock"])
def test_a_cleaner_that_claims_a_fresh_temp_makes_the_writer_pick_another(tmp_path, monkeypatch, cleaner):
    target = tmp_path / "x.json"
    made, claimed = [], []
    real_mkstemp = _io._mkstemp_closed

    def racing_mkstemp(**kwargs):
        name = real_mkstemp(**kwargs)
        made.append(name)
        if len(made) == 1:  # a cleaner claims the first temp before the writer locks it
            if cleaner == "deleted":
                assert _io._remove_if_unlocked(Path(name))
            else:
                claimed.append(_held(Path(name)))
        return name

    monkeypatch.setattr(_io, "_mkstemp_closed", racing_mkstemp)
    _io.atomic_write_text(target, "ok")
    assert len(made) == 2
    for fd in claimed:  # the cleaner finishes: it deletes what it holds
        os.unlink(made[0])
        os.close(fd)
    assert target.read_text() == "ok"
    assert _listing(tmp_path) == ["x.json"]


# the folder swap --------------------------------------------------------------------------------

def test_atomic_directory_replaces_a_folder_whole(tmp_path, swap):
    run = tmp_path / "run"
    for version in range(3):
        with _io.atomic_directory(run) as tmp:
            (tmp / f"only-in-{version}.txt").write_text(str(version))
            (tmp / "results.json").write_text(json.dumps({"v": version}))
    assert _listing(run) == ["only-in-2.txt", "results.json"]
    assert _listing(tmp_path) == ["run"]


def test_atomic_directory_uses_one_exchange_when_it_can(tmp_path, monkeypatch):
    if not HAS_RENAMEAT2:
        pytest.skip("no renameat2 on this platform")
    calls = []
    real = _io._renameat2()

    def spy(src, dst, flags):
        calls.append(flags)
        return real(src, dst, flags)

    monkeypatch.setattr(_io, "_renameat2", lambda: spy)
    renames = []
    monkeypatch.setattr(_io.os, "replace", lambda *a: renames.append(a) or os.rename(*a))
    run = tmp_path / "run"
    with _io.atomic_directory(run) as tmp:
        (tmp / "v").write_text("1")
    with _io.atomic_directory(run) as tmp:
        (tmp / "v").write_text("2")
    # New name: exchange finds no target, then a no-replace rename; existing: one exchange.
    assert calls == [_io.RENAME_EXCHANGE, _io.RENAME_NOREPLACE, _io.RENAME_EXCHANGE]
    assert renames == []
    assert (run / "v").read_text() == "2"


def test_atomic_directory_falls_back_when_the_filesystem_refuses_renameat2(tmp_path, monkeypatch):
    def refuse(src, dst, flags):
        raise OSError(errno.EINVAL, "not supported here")

    monkeypatch.setattr(_io, "_renameat2", lambda: refuse)
    run = tmp_path / "run"
    for version in range(2):
        with _io.atomic_directory(run) as tmp:
            (tmp / "v").write_text(str(version))
    assert (run / "v").read_text() == "1"
    assert _listing(tmp_path) == ["run"]


def test_a_failed_write_leaves_the_old_folder_and_no_temp(tmp_path, swap):
    run = tmp_path / "run"
    with _io.atomic_directory(run) as tmp:
        (tmp / "v").write_text("old")
    with pytest.raises(RuntimeError), _io.atomic_directory(run) as tmp:
        (tmp / "v").write_text("half")
        raise RuntimeError("writer failed")
    assert (run / "v").read_text() == "old"
    assert _listing(tmp_path) == ["run"]


def test_the_next_write_after_a_kill_between_the_renames_restores_a_clean_layout(tmp_path, swap):
    run, backup = tmp_path / "run", tmp_path / ".run.old"
    backup.mkdir()  # a fallback swap killed after its first rename
    (backup / "v").write_text("old")
    assert _io.resolve_replaced(run / "v") == backup / "v"
    with _io.atomic_directory(run) as tmp:
        (tmp / "v").write_text("new")
    assert (run / "v").read_text() == "new"
    assert _listing(tmp_path) == ["run"]


# resolve_replaced and its readers -----------------------------------------------------------------

def test_resolve_replaced(tmp_path):
    run = tmp_path / "reports" / "run"
    results = run / "results.json"
    assert _io.resolve_replaced(results) == results  # nothing anywhere: unchanged (reader's error names it)
    backup = tmp_path / "reports" / ".run.old"
    backup.mkdir(parents=True)
    (backup / "results.json").write_text("{}")
    assert _io.resolve_replaced(results) == backup / "results.json"
    assert _io.resolve_replaced(run) == backup
    assert _io.resolve_replaced(run / "missing.json") == run / "missing.json"
    run.mkdir()  # the swap finished: the folder in place wins, even without the file
    assert _io.resolve_replaced(results) == results
    (run / "results.json").write_text("{}")
    assert _io.resolve_replaced(results) == results
    assert _io.resolve_replaced(Path("relative-and-absent.json")) == Path("relative-and-absent.json")


def test_read_results_reads_the_backup_of_a_run_swapped_out_midway(tmp_path):
    backup = tmp_path / ".run.old"
    backup.mkdir()
    (backup / "results.json").write_text(json.dumps({"schema_version": "1.0", "run": {"seed": 7}}))
    assert read_results(tmp_path / "run" / "results.json")["run"] == {"seed": 7}


# two concurrent writers -----------------------------------------------------------------------------



@needs_fork
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_two_concurrent_writers_both_finish_with_one_complete_version(tmp_path, swap, kind):
    target = tmp_path / "target"
    start = time.time() + 0.2
    rounds, files, size = 15, 4, 60_000

    def writer(tag: str):
        def write():
            time.sleep(max(0.0, start - time.time()))
            for i in range(rounds):
                body = f"{tag}{i:03d}".encode() * (size // 4)
                if kind == "file":
                    _io.atomic_write_bytes(target, body)
                    continue
                with _io.atomic_directory(target) as tmp:
                    for k in range(files):
                        _io.atomic_write_bytes(tmp / f"part{k}.bin", body)
        return write

    pids = [fork_child(writer(tag)) for tag in "ab"]
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "a writer failed: something was deleted from under it"
    parts = [target.read_bytes()] if kind == "file" else [(target / f"part{k}.bin").read_bytes() for k in range(files)]
    assert len(set(parts)) == 1 and parts[0][:1] in (b"a", b"b")
    assert parts[0][1:4] == f"{rounds - 1:03d}".encode()  # some writer's last version, whole
    assert _listing(tmp_path) == ["target"]
    if kind == "folder":
        assert _listing(target) == [f"part{k}.bin" for k in range(files)]


@pytest.mark.parametrize("proc_status", [True, False], ids=["proc-status", "fallback"])
def test_umask_is_read_without_being_changed(monkeypatch, tmp_path, proc_status):
    if not proc_status:
        def no_proc(path, *args, **kwargs):
            if str(path).startswith("/proc"):
                raise OSError("no /proc here")
            return builtins.open(path, *args, **kwargs)

        monkeypatch.setattr(_io, "open", no_proc, raising=False)
    old = os.umask(0o027)
    try:
        assert _io._umask() == 0o027
        assert os.umask(0o027) == 0o027  # still set: reading it left it alone
        _io.atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    finally:
        os.umask(old)


# File modes ---------------------------------------------------------------------------------------
# Every file the tool writes gets the ordinary mode (0666 & ~umask), folders 0777 & ~umask, whatever the
# writer library does: safetensors 0.8 creates its file 0600 through a temp file of its own.

def _library_writers():
    import numpy as np
    import pandas as pd
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    def numpy_save(path):
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(3))

    return {
        "safetensors.save_file": lambda path: save_file({"a": torch.zeros(2)}, str(path)),
        "numpy.save": numpy_save,
        "pandas.to_csv": lambda path: pd.DataFrame({"a": [1]}).to_csv(path, index=False),
        "PIL.save": lambda path: Image.new("RGB", (2, 2)).save(path, format="PNG"),
        "write_bytes": lambda path: Path(path).write_bytes(b"x"),
    }


def _in_container(container, target, write):
    from tinyemo_audit.outputs import OutputPlan

    if container == "atomic_path":
        with _io.atomic_path(target) as tmp:
            write(tmp)
        return [target]
    if container == "atomic_directory":
        with _io.atomic_directory(target) as tmp:
            (tmp / "sub").mkdir()
            write(tmp / "sub" / "file")
        return [target, target / "sub", target / "sub" / "file"]
    plan = OutputPlan()
    if container == "output file":
        plan.file(target, "--out")
        with plan.writing() as staged:
            write(staged.path(target))
        return [target, target.parent / ".tinyemo-audit-outputs.json"]
    plan.folder(target, "--out")
    with plan.writing() as staged:
        write(staged.path(target) / "file")
    return [target, target / "file", target / ".tinyemo-audit-outputs.json"]


def _assert_ordinary_modes(paths, umask):
    for path in paths:
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
@pytest.mark.parametrize("container", ["atomic_path", "atomic_directory", "output file", "output folder"])
@pytest.mark.parametrize("writer", sorted(_library_writers()))
def test_written_files_get_ordinary_modes_whatever_the_writer_does(tmp_path, umask, container, writer):
    old = os.umask(umask)
    try:
        paths = _in_container(container, tmp_path / "target", _library_writers()[writer])
        _assert_ordinary_modes(paths, umask)
    finally:
        os.umask(old)


def _package_writers(tmp_path):
    """The package's own writers, each writing one output under ``tmp_path``; returns the paths written."""
    import numpy as np

    from tinyemo_audit.data.faces import write_preview
    from tinyemo_audit.encoders.cache import write_checked_array
    from tinyemo_audit.encoders.faces_mini import FacesMiniConfig, FacesMiniEncoder, build_faces_mini_net
    from tinyemo_audit.gates import GateOutcome, write_junit
    from tinyemo_audit.model.projector import MetricProjector, save_projector
    from tinyemo_audit.model.results_table import results_table, write_table
    from tinyemo_audit.report import write_report

    config = FacesMiniConfig()
    return {
        "save_projector": lambda: save_projector(MetricProjector(4, 3), tmp_path / "p.safetensors")
        or [tmp_path / "p.safetensors"],
        "FacesMiniEncoder.save": lambda: FacesMiniEncoder(build_faces_mini_net(config), config).save(
            tmp_path / "e.safetensors") or [tmp_path / "e.safetensors"],
        "write_checked_array": lambda: write_checked_array(tmp_path / "a.npy", np.zeros(3))
        or [tmp_path / "a.npy", tmp_path / "a.json"],
        "atomic_write_json": lambda: _io.atomic_write_json(tmp_path / "x.json", {}) or [tmp_path / "x.json"],
        "write_report": lambda: [write_report({"schema_version": "1.0", "run": {}, "findings": []},
                                              tmp_path / "report.html")],
        "write_junit": lambda: write_junit([GateOutcome(gate="g", path="m", attribute=None, status="PASS",
                                                        observed=1.0, bound="<= 2", details="ok")],
                                           tmp_path / "junit.xml") or [tmp_path / "junit.xml"],
        "write_table": lambda: [write_table(results_table([{
            "model": "m", "spec": "faces", "status": "trained on", "trained_on": ["faces"], "accuracy": 0.5,
            "labels": ["a", "b"], "n": 4, "taxonomy": "t", "split": "test"}]), tmp_path / "t.md")],
        "write_preview": lambda: [write_preview(tmp_path / "preview.png")],
    }


@pytest.mark.parametrize("writer", ["save_projector", "FacesMiniEncoder.save", "write_checked_array",
                                    "atomic_write_json", "write_report", "write_junit", "write_table",
                                    "write_preview"])
def test_the_package_writers_write_ordinary_modes(tmp_path, writer):
    old = os.umask(0o027)
    try:
        _assert_ordinary_modes(_package_writers(tmp_path)[writer](), 0o027)
    finally:
        os.umask(old)


# AtomicSet: several targets as one unit ----------------------------------------------------------

def test_atomic_set_swaps_back_what_it_put_in_place_when_a_later_target_fails(tmp_path, monkeypatch, swap):
    run, junit = tmp_path / "run", tmp_path / "junit.xml"
    with _io.atomic_set() as outputs:
        (outputs.folder(run) / "results.json").write_text("old run")
        outputs.file(junit).write_text("old junit")
    real = os.replace

    def refuse_the_junit(src, dst, *args, **kwargs):
        if Path(dst) == junit:
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(_io.os, "replace", refuse_the_junit)
    with pytest.raises(OSError, match="Read-only"), _io.atomic_set() as outputs:
        (outputs.folder(run) / "results.json").write_text("new run")
        outputs.file(junit).write_text("new junit")
    assert ((run / "results.json").read_text(), junit.read_text()) == ("old run", "old junit")
    assert _listing(tmp_path) == ["junit.xml", "run"]


def test_atomic_set_never_swaps_a_file_with_a_folder(tmp_path, swap):
    (tmp_path / "report.html").mkdir()
    (tmp_path / "report.html" / "keep.txt").write_text("mine")
    with pytest.raises(IsADirectoryError), _io.atomic_path(tmp_path / "report.html") as tmp:
        tmp.write_text("<html>")
    (tmp_path / "run").write_text("a file")
    with pytest.raises(NotADirectoryError), _io.atomic_directory(tmp_path / "run") as tmp:
        (tmp / "results.json").write_text("{}")
    assert (tmp_path / "report.html" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "run").read_text() == "a file"
    assert _listing(tmp_path) == ["report.html", "run"]
