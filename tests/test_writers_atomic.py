"""Static audit: every call in tinyemo_audit/ that writes a file sits inside an atomic helper (or is listed with a reason)."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

import tinyemo_audit

PACKAGE = Path(tinyemo_audit.__file__).resolve().parent
HELPER_MODULE = "_io.py"  # the atomic helpers themselves
# The atomic helpers, and OutputPlan.writing() (tinyemo_audit/outputs/_plan.py), which stages every output of a
# command in AtomicSet temps and puts them in place together.
ATOMIC_CONTEXTS = {"atomic_path", "atomic_directory", "atomic_set", "writing"}

# Callee names that always write a file (or a folder) given a path.
WRITING_CALLS = {
    "write_text", "write_bytes", "save_file", "save_pretrained", "to_csv", "to_parquet", "to_json",
    "tofile", "savefig", "write_html", "write_image", "savez", "savez_compressed", "copyfile",
    "copy2", "copytree", "move", "dump", "save", "new_npy",
}
# open()-like calls write only with one of these in their mode.
OPENERS = {"open": 1, "fdopen": 1, "open_memmap": 1, "memmap": 2}
WRITE_MODES = ("w", "a", "x", "+")
# Callee names whose "dump"/"save"/"move" is not a file write.
NOT_WRITES = {("json", "dumps"), ("pickle", "dumps")}

# (module, function, callee): why the write does not need an atomic helper.
ALLOWED = {
    ("audit/_thumbnails.py", "png_data_uri", "save"):
        "PIL writes the PNG into an in-memory BytesIO buffer, not a file",
    ("data/faces/preview.py", "preview_png", "save"):
        "PIL writes into an in-memory BytesIO buffer; the CLI writes the bytes through OutputPlan.writing",
    ("outputs/_plan.py", "write_bytes", "write_bytes"):
        "Staged.write_bytes writes into the temp OutputPlan.writing staged for that output",
    ("outputs/_plan.py", "write_text", "write_bytes"): "Staged.write_text encodes and calls Staged.write_bytes",
    ("cli/_errors.py", "_quiet_stdout", "open"):
        "opens /dev/null to silence stdout after a broken pipe; nothing is written to a file",
    ("data/feature_store_writer.py", "writer_lock", "open"):
        "the O_EXCL lock file holds only a pid; a torn one reads as 'no owner' and is taken over",
    ("data/feature_store_writer.py", "writer_lock", "fdopen"): "writes the pid into that lock file",
    ("model/train.py", "_encoder_and_features", "save"):
        "FacesMiniEncoder.save writes through atomic_path, into train_bundle's atomic_directory workdir",
    ("data/arrays.py", "reserve_blocks", "open"):
        "opens a file its caller is writing, to reserve its blocks (posix_fallocate); writes no byte",
    ("data/arrays.py", "new_npy", "open_memmap"):
        "makes a new .npy to be filled through its mapping; its callers' writes are audited as new_npy calls",
    ("data/feature_store_writer.py", "_fresh_start", "new_npy"):
        "the resumable features.npy is filled in place by design: progress.json (atomic) records the "
        "rows that are final and readers need manifest.json (atomic, written last)",
    ("data/feature_store_writer.py", "_resume", "open_memmap"):
        "reopens the resumable features.npy (see _fresh_start)",
    ("mitigation/_run.py", "_write_bundle", "copyfile"):
        "builds the mitigated bundle in mitigate's private temporary folder; it reaches the user only copied "
        "into the folder OutputPlan.writing staged, published whole",
    ("mitigation/_run.py", "_write_bundle", "save_file"): "the same private temporary folder (see copyfile)",
    ("reasoning/instruct.py", "_png", "save"): "PIL writes the PNG into an in-memory BytesIO buffer, not a file",
    ("reasoning/train.py", "_copy_bundle", "copytree"):
        "copies the bundle into the folder OutputPlan.writing staged for it (train_reasoning calls it there)",
    ("reasoning/train.py", "_copy_bundle", "copy2"): "the same staged folder (see copytree)",
}


def _callee(node: ast.Call) -> tuple[str | None, str]:
    """(owner, name) of a call: ``np.save`` → ("np", "save"), ``path.write_text`` → (None, "write_text")."""
    func = node.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    return None, ""


def _mode(node: ast.Call, position: int) -> str | None:
    for keyword in node.keywords:
        if keyword.arg == "mode" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    if len(node.args) > position and isinstance(node.args[position], ast.Constant):
        return str(node.args[position].value)
    return None


def is_write(node: ast.Call) -> bool:
    """Whether ``node`` writes a file (by callee name and, for openers, by mode)."""
    owner, name = _callee(node)
    if (owner, name) in NOT_WRITES:
        return False
    if name in OPENERS:
        mode = _mode(node, OPENERS[name])
        if name == "open" and owner == "os":
            return any(isinstance(a, ast.Attribute) and a.attr in ("O_WRONLY", "O_RDWR", "O_CREAT")
                       for a in ast.walk(node))
        return mode is not None and any(flag in mode for flag in WRITE_MODES)
    if name == "dump":
        return owner in ("json", "pickle", "yaml")
    if name == "move":
        return owner == "shutil"
    if name in ("to_csv", "to_json", "to_parquet"):
        return bool(node.args) or any(k.arg in ("path_or_buf", "path") for k in node.keywords)
    return name in WRITING_CALLS


def _is_atomic_item(item: ast.withitem) -> bool:
    expr = item.context_expr
    return isinstance(expr, ast.Call) and _callee(expr)[1] in ATOMIC_CONTEXTS


def write_sites(source: str) -> list[tuple[str, str, int, bool]]:
    """Every write call in ``source``: (function, callee, line, inside an atomic helper)."""
    tree = ast.parse(source)
    sites = []

    def visit(node: ast.AST, function: str, atomic: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function, atomic = node.name, False  # a helper's body is not covered by its caller's with
        if isinstance(node, (ast.With, ast.AsyncWith)):
            covered = atomic
            for item in node.items:
                visit(item.context_expr, function, covered)
                covered = covered or _is_atomic_item(item)
            for child in node.body:
                visit(child, function, covered)
            return
        if isinstance(node, ast.Call) and is_write(node):
            sites.append((function, _callee(node)[1], node.lineno, atomic))
        for child in ast.iter_child_nodes(node):
            visit(child, function, atomic)

    visit(tree, "<module>", False)
    return sites


def package_write_sites() -> list[tuple[str, str, str, int, bool]]:
    """(module, function, callee, line, atomic) over every module of the package except _io.py."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == HELPER_MODULE:
            continue
        for function, callee, line, atomic in write_sites(path.read_text(encoding="utf-8")):
            found.append((module, function, callee, line, atomic))
    return found


def test_every_write_is_atomic_or_allowed_with_a_reason():
    bare = [f"{m}:{line} {f}() calls {c}" for m, f, c, line, atomic in package_write_sites()
            if not atomic and (m, f, c) not in ALLOWED]
    assert not bare, "non-atomic writers (route them through tinyemo_audit._io):\n" + "\n".join(bare)


def test_the_allow_list_has_no_stale_entries():
    seen = {(m, f, c) for m, f, c, _, atomic in package_write_sites() if not atomic}
    assert set(ALLOWED) <= seen, f"allowed but no longer present: {sorted(set(ALLOWED) - seen)}"


def test_the_audit_sees_the_known_atomic_writers():
    # The audit is only worth something if it finds writes at all: these are known ones.
    sites = {(m, f, c) for m, f, c, _, atomic in package_write_sites() if atomic}
    assert ("data/faces/cache.py", "_load_or_render", "save") in sites
    assert ("model/train.py", "train_bundle", "save_file") in sites
    assert ("encoders/cache.py", "write_checked_array", "save") in sites
    assert ("label_space/smollm2.py", "build_cache", "save_pretrained") in sites


@pytest.mark.parametrize("snippet, atomic", [
    ("def f(p):\n    p.write_text('x')", False),
    ("def f(p):\n    open(p, 'wb').write(b'')", False),
    ("def f(p):\n    open(p, mode='a')", False),
    ("def f(p, a):\n    np.save(p, a)", False),
    ("def f(p, t):\n    torch.save(t, p)", False),
    ("def f(p, o):\n    json.dump(o, open(p))", False),
    ("def f(p, t):\n    save_file(t, str(p))", False),
    ("def f(p):\n    os.open(p, os.O_CREAT | os.O_WRONLY)", False),
    ("def f(p, a):\n    with atomic_path(p) as tmp:\n        np.save(tmp, a)", True),
    ("def f(p):\n    with atomic_path(p) as tmp, open(tmp, 'wb') as h:\n        h.write(b'')", True),
    ("def f(p):\n    with atomic_directory(p) as d:\n        (d / 'x').write_text('x')", True),
    ("def f(p):\n    with atomic_directory(p) as d:\n        def g():\n            p.write_text('x')", False),
])
def test_the_audit_flags_planted_writers(snippet, atomic):
    sites = write_sites(textwrap.dedent(snippet))
    assert len(sites) == 1
    assert sites[0][3] is atomic


@pytest.mark.parametrize("snippet", [
    "def f(p):\n    open(p).read()",
    "def f(p):\n    open(p, 'rb')",
    "def f(o):\n    json.dumps(o)",
    "def f(p):\n    os.open(p, os.O_RDONLY)",
    "def f(p):\n    p.read_text()",
])
def test_reads_are_not_flagged(snippet):
    assert write_sites(snippet) == []
