"""SIGKILL at random points of a write: readers then see the complete old or the complete new file, never a mix.

Each test forks a child that performs one real write (slowed down around every fsync and rename
so that kills land inside it), kills it after a seeded random delay, and compares what is on disk
with the known old and new versions by hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from forking import fork_child
from tinyemo_audit import _io

SLOW_S = 0.004  # added before every fsync, rename and rmtree in the child
ITERATIONS = 12
# Hidden names an interrupted atomic write may leave beside its target (readers never open them).
TEMP_NAME = r"\.{name}\.[^/]+\.tmp|\.{name}\.old"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _slow_down() -> None:
    def slowed(original):
        def call(*args, **kwargs):
            time.sleep(SLOW_S)
            return original(*args, **kwargs)
        return call

    os.fsync = slowed(os.fsync)
    os.replace = slowed(os.replace)
    shutil.rmtree = slowed(shutil.rmtree)


def _in_child(write: Callable[[], None], *, slow: bool = True) -> int:
    def work() -> None:
        if slow:
            _slow_down()
        write()

    return fork_child(work)


def _kill_before_step(write: Callable[[], None], step: int) -> bool:
    """Run ``write`` in a child that SIGKILLs itself just before its ``step``-th fsync/rename/rmtree.

    Returns True when the kill happened, False when the write finished in fewer steps.
    """
    def work() -> None:
        calls = [0]

        def stepped(original):
            def call(*args, **kwargs):
                calls[0] += 1
                if calls[0] == step:
                    os.kill(os.getpid(), signal.SIGKILL)
                return original(*args, **kwargs)
            return call

        os.fsync, os.replace, shutil.rmtree = stepped(os.fsync), stepped(os.replace), stepped(shutil.rmtree)
        write()

    pid = fork_child(work)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return True
    assert os.waitstatus_to_exitcode(status) == 0, "the write failed in the child"
    return False


def every_step(write_version: Callable[[int], None], read: Callable[[], object], versions: dict[int, object],
               *, target: Path) -> int:
    """Kill a write before each of its steps in turn; the reader must see the old or the new version."""
    write_version(0)
    current, step = 0, 1
    while True:
        new = current + 1
        killed = _kill_before_step(lambda: write_version(new), step)
        state = read()
        assert state in (versions[current], versions[new]), f"killed before step {step}: neither old nor new"
        assert not stray_names(target), stray_names(target)
        if state == versions[new]:
            current = new
        if not killed:
            return step - 1
        step += 1


def _duration(write: Callable[[], None]) -> float:
    """Seconds one slowed, uninterrupted write takes in a child."""
    start = time.perf_counter()
    pid = _in_child(write)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the write failed in the child"
    return time.perf_counter() - start


def _kill_after(write: Callable[[], None], delay: float) -> None:
    pid = _in_child(write)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _file_hash(path: Path) -> str:
    if path.suffix != ".safetensors":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    # safetensors orders its metadata header freely: hash the content, not the header's bytes.
    from safetensors import safe_open

    digest = hashlib.sha256()
    with safe_open(str(path), framework="np") as handle:
        digest.update(json.dumps(sorted((handle.metadata() or {}).items())).encode())
        for key in sorted(handle.keys()):
            digest.update(key.encode())
            digest.update(np.ascontiguousarray(handle.get_tensor(key)).tobytes())
    return digest.hexdigest()


def folder_versions(writer_for: Callable[[Path], Callable[[int], None]], keys, scratch: Path) -> dict:
    """The tree hash of every version a folder writer can produce, each written once into ``scratch``."""
    versions = {}
    for i in keys:
        reference = scratch / str(i)
        writer_for(reference)(i)
        versions[i] = tree_hash(reference)
    shutil.rmtree(scratch)
    return versions


def tree_hash(path: Path) -> dict[str, str] | None:
    """Content hash of every file under ``path`` (or of ``path`` itself); None when absent."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": _file_hash(path)}
    return {p.relative_to(path).as_posix(): _file_hash(p) for p in sorted(path.rglob("*")) if p.is_file()}


def _temp_pattern(*targets: Path) -> re.Pattern:
    return re.compile("|".join(TEMP_NAME.format(name=re.escape(t.name)) for t in targets))


def stray_names(*targets: Path) -> list[str]:
    """Entries beside ``targets`` that are neither one of them nor an allowed temp name of one."""
    pattern, names = _temp_pattern(*targets), {t.name for t in targets}
    return [p.name for p in targets[0].parent.iterdir() if p.name not in names and not pattern.fullmatch(p.name)]


def hidden_temps(target: Path) -> list[str]:
    pattern = _temp_pattern(target)
    return [p.name for p in target.parent.iterdir() if pattern.fullmatch(p.name)]


def kill_loop(write_version: Callable[[int], None], read: Callable[[], object], versions: dict[int, object],
              *, seed: int, target: Path) -> dict[str, int]:
    """Kill ``write_version(i)`` at random points; after each, ``read()`` must be the old or the new version.

    Returns counts of kills that left the old and the new version (both must occur).
    """
    rng = np.random.default_rng(seed)
    write_version(0)
    current = 0
    assert read() == versions[0]
    span = _duration(lambda: write_version(1))
    current = 1
    assert read() == versions[1]
    seen = {"old": 0, "new": 0}
    for i in range(2, ITERATIONS + 2):
        _kill_after(lambda i=i: write_version(i), float(rng.uniform(0.0, 1.5 * span)))
        state = read()
        if state == versions[i]:
            seen["new"] += 1
            current = i
        else:
            assert state == versions[current], f"kill {i}: neither the old (v{current}) nor the new version"
            seen["old"] += 1
        assert not stray_names(target), stray_names(target)
    # Timing decides how many kills land after the switch; every_step covers each point exactly.
    assert seen["old"], f"no kill landed inside a write: {seen}"
    return seen


# (a) a bundle folder written over an existing bundle ------------------------------------------

def _bundle_writer(out: Path, tensors: dict[int, object]):
    from safetensors.torch import save_file

    from tinyemo_audit._io import atomic_directory, atomic_write_json, atomic_write_text
    from tinyemo_audit.model.bundle import BUNDLE_FILE, LABELS_FILE, PROJECTOR_FILE
    from tinyemo_audit.model.projector import save_projector

    def write(i: int) -> None:
        projector, labels, spec = tensors[i]
        # The same sequence of writes train_bundle and import_tinyemo_projector make.
        with atomic_directory(out) as workdir:
            save_projector(projector, workdir / PROJECTOR_FILE)
            save_file({"label_embeddings": labels}, str(workdir / LABELS_FILE))
            atomic_write_json(workdir / BUNDLE_FILE, spec)
            atomic_write_text(workdir / "MODEL_CARD.md", f"# version {i}\n" + "x" * 200_000)
    return write


def test_sigkill_while_replacing_a_bundle_leaves_the_old_or_the_new_bundle(tmp_path, monkeypatch):
    import torch

    from tinyemo_audit.model.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, list_bundles, load_bundle
    from tinyemo_audit.model.projector import MetricProjector

    monkeypatch.setenv("TINYEMO_AUDIT_MODELS", str(tmp_path))
    classes = ["anger", "joy", "sadness"]
    tensors = {}
    for i in range(ITERATIONS + 2):
        torch.manual_seed(i)
        projector = MetricProjector(64, 256).eval()  # ~0.3 MB of weights: the writes take a while
        labels = torch.nn.functional.normalize(torch.randn(3, 256), dim=1)
        spec = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "name": "model", "encoder": {"spec": "x"},
                "label_space": {"spec": "minilm"}, "taxonomy": {"name": "t", "classes": classes},
                "projector": {"d_in": 64, "d_out": 256}, "loss": {"name": "infonce", "temperature": 0.1},
                "version_written": i}
        tensors[i] = (projector, labels, spec)
    out = tmp_path / "model"
    write = _bundle_writer(out, tensors)
    versions = folder_versions(lambda target: _bundle_writer(target, tensors), tensors, tmp_path / "reference")

    def read():
        bundle = load_bundle("model")  # by name, as users do: the reader decides what "model" is
        assert bundle.label_embeddings.shape == (3, 256)
        return tree_hash(bundle.path)

    steps = every_step(write, read, versions, target=out)
    assert steps >= 6  # fsyncs and renames of four files, then the folder swap
    kill_loop(write, read, versions, seed=0, target=out)
    assert list_bundles() == ["model"]  # interrupted writes' scratch folders are never offered


# (b) results.json and report.html over existing ones -----------------------------------------

def test_sigkill_while_writing_results_json_leaves_the_old_or_the_new_file(tmp_path):
    results = tmp_path / "results.json"
    payloads = {i: {"schema_version": 1, "run": {"seed": i}, "findings": [], "padding": [i] * 150_000}
                for i in range(ITERATIONS + 2)}
    versions = {i: {"": hashlib.sha256((json.dumps(p, indent=2, ensure_ascii=False) + "\n").encode()).hexdigest()}
                for i, p in payloads.items()}

    def write(i: int) -> None:
        _io.atomic_write_json(results, payloads[i])

    def read():
        json.loads(results.read_text(encoding="utf-8"))  # always parseable
        return tree_hash(results)

    assert every_step(write, read, versions, target=results) >= 2
    kill_loop(write, read, versions, seed=1, target=results)


def test_sigkill_while_writing_report_html_leaves_the_old_or_the_new_page(tmp_path):
    from tinyemo_audit.report import render_report, write_report

    report = tmp_path / "report.html"
    results = {i: {"schema_version": 1, "run": {"seed": i, "dataset": f"set-{i}"}} for i in range(ITERATIONS + 2)}
    pages = {i: render_report(r) for i, r in results.items()}
    assert len(set(pages.values())) == len(pages)
    versions = {i: {"": hashlib.sha256(page.encode()).hexdigest()} for i, page in pages.items()}

    def write(i: int) -> None:
        write_report(results[i], report)

    assert every_step(write, lambda: tree_hash(report), versions, target=report) >= 2
    kill_loop(write, lambda: tree_hash(report), versions, seed=5, target=report)


# (c) a feature-cache entry and a faces-cache folder --------------------------------------------

def test_sigkill_while_writing_a_feature_cache_entry_never_serves_wrong_features(tmp_path):
    from tinyemo_audit.encoders.cache import read_checked_array, write_checked_array

    path = tmp_path / "features" / "entry.npy"
    arrays = {i: np.random.default_rng(i).normal(size=(2000, 256)).astype(np.float32) for i in range(ITERATIONS + 2)}

    def read():
        got = read_checked_array(path, dtype=np.float32, shape=(2000, 256))
        if got is None:
            return None  # the caller recomputes
        matches = [i for i, a in arrays.items() if np.array_equal(got, a)]
        assert matches, "the cache served features that no write produced"
        return matches[0]

    rng = np.random.default_rng(2)
    write_checked_array(path, arrays[0])
    span = _duration(lambda: write_checked_array(path, arrays[1]))
    served = set()
    for i in range(2, ITERATIONS + 2):
        before = read()
        _kill_after(lambda i=i: write_checked_array(path, arrays[i]), float(rng.uniform(0.0, 1.2 * span)))
        after = read()
        assert after in (before, i, None)
        served.add("new" if after == i else "old" if after == before else "recompute")
        assert not stray_names(path, path.with_suffix(".json"))
    assert served & {"old", "recompute"}, served  # some kills landed inside the write


def test_sigkill_while_rendering_into_the_faces_cache_leaves_no_half_entry(tmp_path, monkeypatch):
    from tinyemo_audit.data.faces import cache as faces_cache
    from tinyemo_audit.data.faces.params import sample_parameters

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    params = sample_parameters(24, seed=3, split="train")
    expected = faces_cache.render_rows(params, 32, desc="reference")
    spec = faces_cache.split_spec(split="train", n=len(params), seed=3, size=32)
    folder = faces_cache.folder(spec)
    labels = params["expression"].to_numpy(dtype=np.int64)

    def write() -> None:
        shutil.rmtree(folder, ignore_errors=True)  # force a render-and-store
        faces_cache.cached_split(params, split="train", seed=3, size=32)

    span = _duration(write)
    rng = np.random.default_rng(4)
    outcomes = set()
    for _ in range(ITERATIONS):
        _kill_after(write, float(rng.uniform(0.0, 1.2 * span)))
        images = faces_cache._valid(folder, spec, labels, expected.shape)
        if images is None:
            outcomes.add("recompute")
            # A damaged or missing entry is rebuilt by the next read, with the right pixels.
            np.testing.assert_array_equal(faces_cache.cached_split(params, split="train", seed=3, size=32),
                                          expected)
        else:
            outcomes.add("complete")
            np.testing.assert_array_equal(images, expected)
        assert not stray_names(folder)
    assert "recompute" in outcomes  # some kills landed inside the render-and-store


@pytest.mark.timeout(60)
def test_a_child_killed_holding_the_progress_bar_lock_does_not_stall_pytest():
    """tests/forking.py: a forked child gets its own tqdm lock (a shared one, held at the kill, hung CI)."""
    from tqdm import tqdm

    def hold() -> None:
        with tqdm.get_lock():
            time.sleep(60)

    tqdm.get_lock()  # the lock exists before the fork, as it does once any earlier test drew a bar
    pid = fork_child(hold)
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with tqdm(total=1, disable=False, file=open(os.devnull, "w")) as bar:  # noqa: SIM115 - closed with the bar
        bar.update(1)


# temp files left by kills ------------------------------------------------------------------------

def test_temp_files_of_killed_writers_do_not_pile_up(tmp_path):
    target = tmp_path / "report.html"
    page = "." * 3_000_000
    _io.atomic_write_text(target, page)
    span = _duration(lambda: _io.atomic_write_text(target, page))
    left = set()
    for k in range(8):
        _kill_after(lambda: _io.atomic_write_text(target, page), 0.6 * span * (k + 1) / 8)
        assert len(hidden_temps(target)) <= 1  # each writer first removes what the killed one before left
        left |= set(hidden_temps(target))
    assert left, "no kill landed inside a write"  # else the check below proves nothing
    _io.atomic_write_text(target, "done")  # the next write of the same file tidies up
    assert target.read_text() == "done"
    assert hidden_temps(target) == []


def test_temp_folders_of_killed_folder_writers_do_not_pile_up(tmp_path):
    target = tmp_path / "run"
    write = _run_writer(target, {i: {"schema_version": 1, "run": {"seed": i}, "padding": [i] * 100_000}
                                 for i in range(2)})
    write(0)
    span = _duration(lambda: write(1))
    left = set()
    for k in range(6):
        _kill_after(lambda: write(1), 0.6 * span * (k + 1) / 6)
        assert len(hidden_temps(target)) <= 1
        left |= set(hidden_temps(target))
    assert left, "no kill landed inside a write"
    write(0)
    assert hidden_temps(target) == []
    assert read_run(target) == tree_hash(target)


def test_a_killed_scratch_folder_is_removed_by_the_next_and_a_live_one_is_kept(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "plan"
    holder = ("import sys, time; from pathlib import Path; from tinyemo_audit._io import scratch_folder\n"
              "with scratch_folder(Path(sys.argv[1])) as work:\n"
              "    (work / 'data').write_text('x'); print(work, flush=True); time.sleep(120)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    killed = subprocess.Popen([sys.executable, "-c", holder, str(target)], stdout=subprocess.PIPE, text=True, env=env)
    dead = Path(killed.stdout.readline().strip())
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    live = subprocess.Popen([sys.executable, "-c", holder, str(target)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        alive = Path(live.stdout.readline().strip())
        assert not dead.exists() and alive.is_dir()  # the second holder removed the dead one's folder
        with _io.scratch_folder(target) as mine:
            assert alive.is_dir() and mine.is_dir()  # a live holder's folder is never taken
        assert sorted(hidden_temps(target)) == [alive.name]
    finally:
        live.kill()
        live.wait()
        live.stdout.close()
        killed.stdout.close()


# (d) a run folder written over an existing run -----------------------------------------------------

def _run_writer(run_dir: Path, payloads: dict[int, dict]):
    from tinyemo_audit.report import write_report

    def write(i: int) -> None:
        # The same sequence of writes audit.runner.run_audit makes into its run folder.
        with _io.atomic_directory(run_dir) as tmp:
            _io.atomic_write_json(tmp / "results.json", payloads[i])
            write_report(payloads[i], tmp / "report.html")
            (tmp / "summary.md").write_text(f"# run {i}\n", encoding="utf-8")
            _io.atomic_write_json(tmp / "timings.json", {"stages_seconds": {"run": i}})
    return write


def read_run(run_dir: Path) -> dict[str, str]:
    """What `report`/`gate` read: results.json through read_results, and the folder it sits in."""
    from tinyemo_audit.audit.results import read_results

    results = _io.resolve_replaced(run_dir / "results.json")
    read_results(run_dir / "results.json")  # parses, with the schema check
    return tree_hash(results.parent)


@pytest.mark.parametrize("swap", ["renameat2", "two-renames"])
def test_sigkill_while_replacing_a_run_folder_leaves_the_old_or_the_new_run(tmp_path, monkeypatch, swap):
    if swap == "two-renames":
        monkeypatch.setattr(_io, "_renameat2", lambda: None)  # the forked children inherit it
    elif _io._renameat2() is None:
        pytest.skip("no renameat2 on this platform")
    run_dir = tmp_path / "reports" / "run"
    payloads = {i: {"schema_version": 1, "run": {"seed": i, "dataset": f"set-{i}"}, "findings": [],
                    "padding": [i] * 60_000} for i in range(ITERATIONS + 2)}
    write = _run_writer(run_dir, payloads)
    versions = folder_versions(lambda target: _run_writer(target, payloads), payloads, tmp_path / "reference")

    steps = every_step(write, lambda: read_run(run_dir), versions, target=run_dir)
    assert steps >= 5  # fsyncs and renames of results.json, report.html, timings.json, then the swap
    kill_loop(write, lambda: read_run(run_dir), versions, seed=6, target=run_dir)
