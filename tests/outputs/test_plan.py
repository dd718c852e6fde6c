"""outputs/_plan.py: a command's outputs checked up front and written as one unit (all, or none)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------- the machine's refusal, wrapped

class _LibraryError(Exception):
    """Stands for a library's own exception class (safetensors' SafetensorError, Arrow's, torch's)."""


_QUOTES = ["I/O error: {s} (os error {c})", "[errno {c}] {s}", "write failed ({s}) (errno {c})"]


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(sorted(errno.errorcode)), quote=st.sampled_from(_QUOTES),
       kind=st.sampled_from([RuntimeError, ValueError, _LibraryError, OSError]),
       before=st.text(max_size=40), chained=st.booleans())
def test_a_wrapped_system_error_is_found_by_its_number(code, quote, kind, before, chained):
    from tinyemo_audit.outputs import ENVIRONMENT_ERRNOS, environment_error

    text = before + " " + quote.format(s=os.strerror(code), c=code)
    if chained:  # the library raised its own error from the OSError: the number is in the cause
        try:
            try:
                raise OSError(code, os.strerror(code), "/x/y")
            except OSError as cause:
                raise kind("serialising failed") from cause
        except Exception as wrapped:  # noqa: BLE001
            err = wrapped
    else:
        err = kind(text)
    found = environment_error(err)
    if code in ENVIRONMENT_ERRNOS:
        assert found is not None and found.errno == code and found.strerror == os.strerror(code)
    elif not chained and _quoted_elsewhere(before):
        pass  # the generated prefix quoted a number of its own
    else:
        assert found is None


def _quoted_elsewhere(text: str) -> bool:
    import re

    return bool(re.search(r"os error|errno|requested and|free space", text, re.IGNORECASE))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200).filter(lambda t: not _quoted_elsewhere(t)),
       kind=st.sampled_from([RuntimeError, ValueError, _LibraryError, OSError]))
def test_text_that_quotes_no_system_error_is_not_the_machines(text, kind):
    from tinyemo_audit.outputs import environment_error

    assert environment_error(kind(text)) is None


@pytest.mark.parametrize("message", ["Not enough free space to write 43008000 bytes after offset 128",
                                     "8192 requested and 4096 written"])
def test_numpys_short_writes_are_a_full_disk(message):
    from tinyemo_audit.outputs import environment_error

    assert environment_error(OSError(message)).errno == errno.ENOSPC
    assert environment_error(ValueError(message)) is None  # only numpy's OSError without a number says it
