"""outputs/_places.py: an output is never an input of its command, and goes only where a file can be written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tinyemo_audit.outputs import (
    OutputError,
    OutputPlan,
    input_problem,
    place_problem,
)
from tinyemo_audit.outputs import _places

# ------------------------------------------------------------------------------------- inputs

@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotdot"])
def test_an_output_that_is_an_input_is_refused_however_it_is_spelled(tmp_path, how):
    results = tmp_path / "run" / "results.json"
    results.parent.mkdir()
    results.write_text('{"schema_version": "1.0"}')
    out = {"same": results, "symlink": tmp_path / "link.json", "hardlink": tmp_path / "hard.json",
           "dotdot": tmp_path / "run" / ".." / "run" / "results.json"}[how]
    if how == "symlink":
        out.symlink_to(results)
    elif how == "hardlink":
        os.link(results, out)
    assert input_problem(out, folder=False, inputs=[(results, "results file")]) == "is the results file this command reads"


def test_an_output_inside_an_input_folder_or_holding_an_input_is_refused(tmp_path):
    dataset = tmp_path / "data"
    (dataset / "test" / "happy").mkdir(parents=True)
    inputs = [(dataset, "dataset imagefolder:")]
    assert "is inside dataset" in input_problem(dataset / "test" / "report", folder=True, inputs=inputs)
    assert "holds dataset" in input_problem(tmp_path, folder=True, inputs=inputs)
    assert input_problem(tmp_path / "elsewhere", folder=True, inputs=inputs) is None
    link = tmp_path / "alias"
    link.symlink_to(dataset)
    assert "is the dataset" in input_problem(link, folder=True, inputs=inputs)


def test_two_outputs_of_one_command_may_not_overlap(tmp_path):
    plan = OutputPlan()
    plan.file(tmp_path / "x.xml", "--junit")
    plan.file(tmp_path / "x.xml", "--summary")
    with pytest.raises(OutputError, match="--summary .* overlaps --junit"):
        plan.check()


# -------------------------------------------------------------------------------- writability

def test_place_problems(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    assert place_problem(tmp_path / "folder", folder=False) == "is a folder; give a file path"
    assert place_problem(tmp_path / "file", folder=True) == "is a file; give a folder"
    assert place_problem(tmp_path / "fifo", folder=False) == "is a FIFO (named pipe), not a file"
    assert place_problem(tmp_path / "file" / "under" / "x.html", folder=False).startswith("cannot be created: ")
    assert place_problem(tmp_path / "new" / "deep" / "x.html", folder=False) is None
    assert place_problem("/dev/null", folder=False) == "is a character device, not a file"
    assert "under /proc" in place_problem("/proc/tinyemo-audit-out", folder=True)
    assert "under /sys" in place_problem("/sys/kernel/x.html", folder=False)
    assert place_problem("/dev/shm/tinyemo-audit-test-out", folder=True) in (None,) or not Path("/dev/shm").is_dir()


def test_a_place_the_probe_cannot_write_is_refused(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(_places.tempfile, "mkstemp", refuse)
    assert place_problem(tmp_path / "out", folder=True) == f"cannot be written: Read-only file system in {tmp_path}"


def test_a_cache_path_that_is_a_file_is_refused_up_front(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("not a folder")
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    plan = OutputPlan(cache=True)
    with pytest.raises(OutputError, match=r"the cache folder .* is a file; give a folder \(set TINYEMO_AUDIT_CACHE"):
        plan.check()
