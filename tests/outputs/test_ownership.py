"""outputs/_ownership.py: a folder or file is replaceable exactly while it is what a manifest says this tool wrote.

The rule is tested over generated folder contents (hypothesis): a folder this tool wrote stays
replaceable exactly while nothing in it is foreign or changed.
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyemo_audit.outputs import (
    CHANGED,
    MANIFEST_NAME,
    NOT_OURS_FILE,
    NOT_OURS_FOLDER,
    OutputError,
    OutputPlan,
    file_problem,
    folder_problem,
    write_folder_manifest,
)
from tinyemo_audit.outputs import _ownership


NAMES = st.text(alphabet=string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=8).filter(
    lambda n: n not in (".", ".."))
CONTENTS = st.binary(max_size=64)
# A folder tree: relative path (one or two levels) -> bytes.
TREES = st.dictionaries(
    st.lists(NAMES, min_size=1, max_size=2).map("/".join), CONTENTS, min_size=1, max_size=6,
).filter(lambda tree: not any(a != b and b.startswith(a + "/") for a in tree for b in tree))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write_tree(root: Path, tree: dict[str, bytes]) -> None:
    for rel, data in tree.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ folders

MUTATIONS = ["none", "delete", "empty-subfolder", "extra-file", "edit", "same-size-edit", "extra-in-subfolder",
             "symlink", "foreign-manifest", "drop-manifest"]
REPLACEABLE = {"none", "delete", "empty-subfolder"}


@FUZZ
@given(tree=TREES, mutation=st.sampled_from(MUTATIONS), pick=st.integers(0, 10), extra=NAMES)
def test_a_folder_is_replaceable_exactly_while_it_holds_only_what_its_manifest_lists(
        tmp_path_factory, tree, mutation, pick, extra):
    root = tmp_path_factory.mktemp("owned") / "run"
    root.mkdir()
    _write_tree(root, tree)
    write_folder_manifest(root)
    assert folder_problem(root) is None
    victim = sorted(tree)[pick % len(tree)]
    if mutation == "delete":
        (root / victim).unlink()
    elif mutation == "empty-subfolder":
        (root / f"new-{extra}").mkdir()
    elif mutation == "extra-file":
        (root / f"{extra}.user").write_bytes(b"mine")
    elif mutation == "edit":
        (root / victim).write_bytes(tree[victim] + b"!")
    elif mutation == "same-size-edit":
        data = tree[victim]
        (root / victim).write_bytes(bytes([data[0] ^ 1]) + data[1:] if data else b"x")
    elif mutation == "extra-in-subfolder":
        (root / "sub-user").mkdir()
        (root / "sub-user" / extra).write_bytes(b"mine")
    elif mutation == "symlink":
        os.symlink("/etc/hostname", root / f"{extra}.link")
    elif mutation == "foreign-manifest":
        (root / MANIFEST_NAME).write_text(json.dumps({"files": {}}))
    elif mutation == "drop-manifest":
        (root / MANIFEST_NAME).unlink()
    problem = folder_problem(root)
    assert (problem is None) == (mutation in REPLACEABLE), (mutation, problem)
    if mutation not in REPLACEABLE:
        # Refused before any work, and the refusal changes nothing.
        before = _snapshot(root)
        plan = OutputPlan()
        plan.folder(root, "--out")
        with pytest.raises(OutputError):
            plan.check()
        assert _snapshot(root) == before


@FUZZ
@given(tree=TREES, new=TREES)
def test_writing_a_folder_replaces_it_whole_with_a_manifest_of_exactly_what_was_written(tmp_path_factory, tree, new):
    root = tmp_path_factory.mktemp("rewrite") / "bundle"
    for contents in (tree, new):
        plan = OutputPlan()
        plan.folder(root, "--out")
        plan.check()
        with plan.writing() as staged:
            _write_tree(staged.path(root), contents)
        listed = json.loads((root / MANIFEST_NAME).read_text())["files"]
        assert set(listed) == set(contents)
        assert {rel: data for rel, data in _snapshot(root).items() if rel != MANIFEST_NAME} == contents
        assert folder_problem(root) is None
    assert sorted(p.name for p in root.parent.iterdir()) == ["bundle"]  # no temp left beside it


@pytest.mark.parametrize("contents", [{}, {"sub/": None}])
def test_an_empty_folder_or_a_missing_one_is_replaceable(tmp_path, contents):
    folder = tmp_path / "empty"
    folder.mkdir()
    if contents:
        (folder / "sub").mkdir()
    assert folder_problem(folder) is None
    assert folder_problem(tmp_path / "missing") is None


def test_a_folder_without_a_manifest_is_not_ours_whatever_its_names(tmp_path):
    # An older run folder or another tool's: results.json and report.html by name prove nothing.
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("results.json", "report.html", "junit.xml", "summary.md", "timings.json"):
        (folder / name).write_text("{}")
    assert folder_problem(folder) == NOT_OURS_FOLDER.format(manifest=MANIFEST_NAME)


def test_temps_of_killed_writes_of_listed_files_do_not_make_a_folder_foreign(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "report.html").write_text("<html></html>")
    write_folder_manifest(folder)
    (folder / ".report.html.k1l2.tmp").write_text("half")
    assert folder_problem(folder) is None
    (folder / ".thesis.tex.k1l2.tmp").write_text("not a temp of ours")
    assert folder_problem(folder) is not None


# -------------------------------------------------------------------------------------- files

@FUZZ
@given(data=CONTENTS, edit=st.sampled_from(["none", "edit", "unlisted", "other-name"]))
def test_a_single_file_is_replaceable_only_while_its_folders_manifest_lists_it_unchanged(tmp_path_factory, data, edit):
    folder = tmp_path_factory.mktemp("single")
    target = folder / "report.html"
    plan = OutputPlan()
    plan.file(target, "--out")
    with plan.writing() as staged:
        staged.write_bytes(target, data)
    assert target.read_bytes() == data
    assert file_problem(target) is None
    if edit == "edit":
        target.write_bytes(data + b"<!-- mine -->")
        assert file_problem(target) == CHANGED
    elif edit == "unlisted":
        (folder / MANIFEST_NAME).unlink()
        assert file_problem(target) == NOT_OURS_FILE.format(manifest=MANIFEST_NAME)
    elif edit == "other-name":
        other = folder / "notes.html"
        other.write_bytes(data)  # same bytes, but this tool never wrote that file
        assert file_problem(other) == NOT_OURS_FILE.format(manifest=MANIFEST_NAME)


def test_a_file_this_tool_did_not_write_is_refused_and_kept(tmp_path):
    target = tmp_path / "junit.xml"
    target.write_text("<mine/>")
    plan = OutputPlan()
    plan.file(target, "--junit")
    with pytest.raises(OutputError, match="was not written by tinyemo-audit"):
        plan.check()
    assert target.read_text() == "<mine/>"


def test_a_foreign_file_under_the_manifest_name_makes_its_folder_refuse_outputs(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text("my own notes")
    plan = OutputPlan()
    plan.file(tmp_path / "table.md", "--table-out")
    with pytest.raises(OutputError, match="did not write"):
        plan.check()
    assert (tmp_path / MANIFEST_NAME).read_text() == "my own notes"


def test_a_file_written_into_a_run_folder_keeps_the_folder_replaceable(tmp_path):
    run = tmp_path / "run"
    plan = OutputPlan()
    plan.folder(run, "--out")
    with plan.writing() as staged:
        (staged.path(run) / "results.json").write_text("{}")
        (staged.path(run) / "report.html").write_text("old")
    # `report` re-renders report.html in place: the run folder's manifest learns the new digest.
    again = OutputPlan()
    again.file(run / "report.html", "--out")
    again.check()
    with again.writing() as staged:
        staged.write_text(run / "report.html", "new")
    assert folder_problem(run) is None and file_problem(run / "report.html") is None


def test_a_kill_between_recording_and_swapping_leaves_a_known_file(tmp_path):
    target = tmp_path / "summary.md"
    plan = OutputPlan()
    plan.file(target, "--summary")
    with plan.writing() as staged:
        staged.write_text(target, "old")
    new = tmp_path / "staged-new"
    new.write_text("new")
    _ownership.record_pending({target: _ownership.file_record(new)})  # the process dies right after this step
    assert file_problem(target) is None  # still the old, listed file
    os.replace(new, target)  # ... or right after the swap
    assert file_problem(target) is None
