"""The cache's contents and clearing it: sizes exact, only whole kind folders removed, links never followed."""

from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyemo_audit import cache_contents as cc
from tinyemo_audit.cli.main import app
from tinyemo_audit.errors import InputError
from tinyemo_audit.paths import CACHE_KINDS, CACHE_TAG, cache_dir

PACKAGE = Path(__file__).resolve().parents[1] / "tinyemo_audit"
runner = CliRunner()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(root))
    return root


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root`` (links as their targets' names, files as their bytes), links not followed."""
    seen = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in dirs + names:
            path = Path(folder, name)
            rel = str(path.relative_to(root))
            seen[rel] = ("link:" + os.readlink(path) if path.is_symlink()
                         else "dir" if path.is_dir() else path.read_bytes())
    return seen


def test_only_paths_reaches_the_cache_root():
    """Every module gets its cache folder from paths.cache_folder(kind), so `cache` sees every kind."""
    allowed = {PACKAGE / "paths.py", PACKAGE / "cache_contents.py"}
    offenders = []
    for module in PACKAGE.rglob("*.py"):
        if module in allowed:
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "cache_dir":
                offenders.append(f"{module.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_contents_count_every_file_and_link_without_following(cache, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"x" * 10_000)
    features = cache_dir() / "features" / "enc"
    features.mkdir(parents=True)
    (features / "a.npy").write_bytes(b"12345")
    (features / "b.json").write_bytes(b"{}")
    os.symlink(outside, features / "link-to-outside")
    (cache / "my-notes").mkdir()  # not the tool's
    contents = cc.cache_contents()
    by_kind = {k.kind: k for k in contents.kinds}
    assert list(by_kind) == list(CACHE_KINDS)
    link_size = os.lstat(features / "link-to-outside").st_size
    assert (by_kind["features"].bytes, by_kind["features"].files) == (5 + 2 + link_size, 3)
    assert all(k.bytes == 0 for k in contents.kinds if k.kind != "features")
    assert contents.foreign == ["my-notes"]
    assert contents.to_dict()["bytes"] == contents.bytes == by_kind["features"].bytes


def test_a_root_of_the_tools_own_folders_is_tagged_and_one_with_others_is_not(cache, tmp_path, monkeypatch):
    cache_dir()
    assert (cache / CACHE_TAG).read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    home = tmp_path / "home"
    (home / "images").mkdir(parents=True)
    (home / "images" / "holiday.jpg").write_bytes(b"precious")
    (home / "Documents").mkdir()
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(home))
    cache_dir()
    assert not (home / CACHE_TAG).exists()
    with pytest.raises(InputError, match="not made by this tool.*Documents.*nothing was removed"):
        cc.clear_cache(["images"])
    assert (home / "images" / "holiday.jpg").read_bytes() == b"precious"
    # a folder of the user's whose only entry bears a kind's name is theirs too
    (home / "Documents").rmdir()
    cache_dir()
    with pytest.raises(InputError, match="it has no CACHEDIR.TAG"):
        cc.clear_cache(["images"])
    assert (home / "images" / "holiday.jpg").read_bytes() == b"precious"


def test_the_default_root_is_the_tools_even_when_it_predates_the_tag(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYEMO_AUDIT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    old = tmp_path / ".cache" / "tinyemo-audit"
    (old / "logs").mkdir(parents=True)
    (old / "logs" / "x.log").write_text("trace")
    assert cc.clear_cache(["logs"])[0].files == 1
    assert (old / CACHE_TAG).is_file() and not (old / "logs").exists()


def test_unknown_kinds_are_refused_before_anything_is_removed(cache):
    (cache_dir() / "logs").mkdir()
    with pytest.raises(InputError, match="no cache kind 'nope'"):
        cc.clear_cache(["logs", "nope"])
    assert (cache / "logs").is_dir()


def test_a_killed_clear_leaves_aside_folders_that_the_next_clear_removes(cache):
    (cache_dir() / ".clearing-faces-deadbeef" / "x").mkdir(parents=True)
    cc.clear_cache(["logs"])
    assert not any(p.name.startswith(".clearing-") for p in cache.iterdir())


_NAMES = st.sampled_from(["a", "b.npy", "c.json", "d"])


@st.composite
def _cache_trees(draw):
    """Kinds present (each a folder, a file, or a link to a folder outside) with nested files, and a chosen subset."""
    present = draw(st.lists(st.sampled_from(list(CACHE_KINDS)), unique=True, max_size=6))
    shapes = {kind: draw(st.sampled_from(["folder", "folder", "file", "link"])) for kind in present}
    files = {kind: draw(st.lists(st.tuples(st.sampled_from(["", "sub", "sub/deeper"]), _NAMES,
                                           st.binary(max_size=64)), max_size=5)) for kind in present}
    chosen = draw(st.lists(st.sampled_from(list(CACHE_KINDS)), unique=True, min_size=1, max_size=4))
    return shapes, files, chosen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_cache_trees())
def test_clearing_removes_exactly_the_chosen_kinds_and_reports_their_sizes(tree, monkeypatch):
    shapes, files, chosen = tree
    work = Path(tempfile.mkdtemp())
    try:
        root, outside = work / "cache", work / "outside"
        outside.mkdir()
        (outside / "keep.txt").write_bytes(b"outside")
        monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(root))
        cache_dir()
        for kind, shape in shapes.items():
            path = root / kind
            if shape == "file":
                path.write_bytes(b"stray")
            elif shape == "link":
                os.symlink(outside, path)
            else:
                for sub, name, data in files[kind]:
                    (path / sub).mkdir(parents=True, exist_ok=True)
                    (path / sub / name).write_bytes(data)
                path.mkdir(exist_ok=True)
        before = _snapshot(root)
        expected = {k.kind: (k.bytes, k.files) for k in cc.cache_contents().kinds}
        cleared = cc.clear_cache(chosen)
        assert [k.kind for k in cleared] == [k for k in CACHE_KINDS if k in chosen]
        assert {k.kind: (k.bytes, k.files) for k in cleared} == {k: expected[k] for k in chosen}
        after = _snapshot(root)
        kept = {rel: v for rel, v in before.items() if rel.split("/")[0] not in chosen}
        assert after == kept
        assert (outside / "keep.txt").read_bytes() == b"outside"  # a linked kind lost its link only
    finally:
        shutil.rmtree(work)


def test_cli_info_and_clear(cache):
    (cache_dir() / "reasoning-texts" / "ab").mkdir(parents=True)
    (cache / "reasoning-texts" / "ab" / "k.json").write_bytes(b"x" * 2048)
    shown = runner.invoke(app, ["cache", "info", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["bytes"] == 2048 and data["tagged"] is True
    assert {k["kind"]: k["files"] for k in data["kinds"]}["reasoning-texts"] == 1
    table = runner.invoke(app, ["cache", "info"])
    assert "reasoning-texts" in table.output and "2.00 KiB" in table.output
    done = runner.invoke(app, ["cache", "clear", "reasoning-texts"])
    assert done.exit_code == 0 and "freed 2.00 KiB" in done.output
    assert not (cache / "reasoning-texts").exists()


@pytest.mark.parametrize("args", [["clear"], ["clear", "--all", "logs"], ["clear", "no\x1bkind"]])
def test_cli_clear_bad_usage_is_one_line_exit_2(cache, args):
    result = runner.invoke(app, ["cache", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0], result.output


def test_examples_run(cache):  # the module's example sets TINYEMO_AUDIT_CACHE; the fixture restores it
    import doctest

    from tinyemo_audit.cli import cache as cache_cli

    assert doctest.testmod(cc).failed == 0 and doctest.testmod(cache_cli).failed == 0
