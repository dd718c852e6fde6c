"""``embed --engine ray``: features equal to the local engine, a local ``ray start --head`` joined by address,
SIGKILL of the driver resumed on Ray (``embed``, and ``run``'s store in the cache), and bad inputs refused in one
line before anything is written."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinyemo_audit
from tinyemo_audit.data.feature_store import MANIFEST_FILE, PROGRESS_FILE, read_feature_store
from tinyemo_audit.errors import UsageError

pytest.importorskip("ray")

ROOT = Path(tinyemo_audit.__file__).resolve().parents[1]
WEIGHTS = ROOT / "models" / "tinyemo-faces-mini" / "encoder.safetensors"
N_IMAGES, BATCH = 24, 4


def _image_folder(root: Path, n: int = N_IMAGES) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / "test" / ("happy" if i % 2 else "sad")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return root


def _cli(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, **kwargs)


def _embed_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["embed", "--encoder", "faces-mini", "--weights", str(WEIGHTS), "--dataset", f"imagefolder:{data}",
            "--split", "test", "--out", str(out), "--batch-size", str(BATCH), *extra]


def test_ray_engine_features_equal_the_local_engine(tmp_path):
    data = _image_folder(tmp_path / "images")
    local = _cli(*_embed_args(data, tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    on_ray = _cli(*_embed_args(data, tmp_path / "ray", "--engine", "ray", "--actors", "2"))
    assert on_ray.returncode == 0, on_ray.stderr
    a = read_feature_store(tmp_path / "local", "test")
    b = read_feature_store(tmp_path / "ray", "test")
    np.testing.assert_allclose(np.asarray(b.features), np.asarray(a.features), atol=1e-6, rtol=0)
    assert list(a.ids) == list(b.ids) and a.labels.tolist() == b.labels.tolist()
    runs = json.loads((tmp_path / "ray" / "test" / MANIFEST_FILE).read_text())["runs"]
    assert [r["engine"] for r in runs] == ["ray"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_head(temp_dir: str) -> None:
    """Stop the processes of the head this test started (found by its own temp dir), never another Ray."""
    import psutil

    ours = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(temp_dir in part for part in proc.info["cmdline"] or ()):
                ours.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for proc in ours:
        proc.terminate()
    _, alive = psutil.wait_procs(ours, timeout=20)
    for proc in alive:
        proc.kill()


def test_embed_joins_a_local_head_started_with_ray_start(tmp_path):
    import shutil
    import tempfile

    data = _image_folder(tmp_path / "images", n=8)
    port = _free_port()
    ray = str(Path(sys.executable).with_name("ray"))
    # Ray 2.60 turns token authentication on for a head when ~/.ray/auth_token exists, and a client
    # joining by address does not send it unless RAY_AUTH_MODE=token: this local head opts out.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    temp_dir = tempfile.mkdtemp(prefix="rayt-", dir="/tmp")  # Ray's socket paths must stay under 107 bytes
    started = subprocess.run([ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                              "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                              f"--temp-dir={temp_dir}"], env=env, capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        result = _cli(*_embed_args(data, tmp_path / "out", "--engine", "ray", "--ray-address", f"127.0.0.1:{port}"),
                      env={"RAY_AUTH_MODE": "disabled"})
        assert result.returncode == 0, result.stderr[-2000:]
        assert read_feature_store(tmp_path / "out", "test").features.shape[0] == 8
    finally:
        _stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _rows_done(split_dir: Path) -> int:
    from tinyemo_audit.data.feature_store_writer import rows_done

    try:
        return rows_done(json.loads((split_dir / PROGRESS_FILE).read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def test_a_killed_ray_driver_resumes_from_the_store(tmp_path):
    data = _image_folder(tmp_path / "images")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TINYEMO_AUDIT_EMBED_BATCH_DELAY": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tinyemo_audit.cli.main",
                             *_embed_args(data, out, "--engine", "ray", "--actors", "1")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 900  # a liveness guard, generous for a loaded machine
    while _rows_done(out / "test") < BATCH:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "embed made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started
    proc.wait()
    done = _rows_done(out / "test")
    assert BATCH <= done < N_IMAGES and not (out / "test" / MANIFEST_FILE).exists()
    resumed = _cli(*_embed_args(data, out, "--engine", "ray", "--actors", "1"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    runs = json.loads((out / "test" / MANIFEST_FILE).read_text())["runs"]
    assert runs[-1]["started_at_row"] == done
    fresh = _cli(*_embed_args(data, tmp_path / "fresh"))
    assert fresh.returncode == 0
    np.testing.assert_allclose(np.asarray(read_feature_store(out, "test").features),
                               np.asarray(read_feature_store(tmp_path / "fresh", "test").features), atol=1e-6)


def test_a_killed_run_on_ray_resumes_encoding_from_its_store_in_the_cache(tmp_path):
    """run --engine ray encodes a split of files into a store under the cache: a SIGKILL keeps the rows written."""
    data = _image_folder(tmp_path / "images", n=300)  # two batches of run's 256 rows
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TINYEMO_AUDIT_CACHE": str(cache),
           "TINYEMO_AUDIT_EMBED_BATCH_DELAY": "2"}
    args = ["run", "--dataset", f"imagefolder:{data}", "--engine", "ray", "--actors", "1", "--device", "cpu"]
    proc = subprocess.Popen([sys.executable, "-m", "tinyemo_audit.cli.main", *args, "--out", str(tmp_path / "killed")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 900  # a liveness guard, generous for a loaded machine

    def split_dirs():
        return list((cache / "ray-features").glob("*/*/test"))

    while not split_dirs() or _rows_done(split_dirs()[0]) == 0:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "run made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started
    proc.wait()
    (split_dir,) = split_dirs()
    done = _rows_done(split_dir)
    # one of the two batches (Ray decides which finishes first), nothing of the run folder
    assert done in (44, 256) and not (split_dir / MANIFEST_FILE).exists() and not (tmp_path / "killed").exists()
    resumed = _cli(*args, "--out", str(tmp_path / "resumed"), env={"TINYEMO_AUDIT_CACHE": str(cache)})
    assert resumed.returncode in (0, 1), resumed.stderr[-2000:]
    assert json.loads((split_dir / MANIFEST_FILE).read_text())["runs"][-1]["started_at_row"] == done
    local = _cli(*args[:3], "--device", "cpu", "--out", str(tmp_path / "local"), env={"TINYEMO_AUDIT_CACHE": str(cache)})
    assert local.returncode == resumed.returncode, local.stderr[-2000:]
    assert json.loads((tmp_path / "resumed" / "results.json").read_text()) == \
        json.loads((tmp_path / "local" / "results.json").read_text())


@pytest.mark.parametrize("extra, message", [
    (["--engine", "spark"], "--engine must be local or ray"),
    (["--ray-address", "127.0.0.1:1"], "--ray-address is for --engine ray"),
    (["--engine", "ray", "--ray-address", "127.0.0.1:1"], "nothing answers there"),
    (["--engine", "ray", "--ray-address", "no-port"], "expected host:port"),
    (["--engine", "ray", "--actors", "0"], "--actors must be at least 1"),
])
def test_bad_engine_inputs_are_exit_2_one_line_nothing_written(tmp_path, extra, message):
    data = _image_folder(tmp_path / "images", n=2)
    result = _cli(*_embed_args(data, tmp_path / "out", *extra))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("tinyemo-audit: error:")
    assert not (tmp_path / "out").exists()


def test_ray_not_installed_is_a_usage_error(monkeypatch):
    import importlib.util

    from tinyemo_audit.encoders.ray_engine import MSG_NO_RAY, check_engine

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(UsageError) as info:
        check_engine("ray", None, None)
    assert str(info.value) == MSG_NO_RAY


def _with_bad_files(root: Path) -> dict[str, str]:
    """Add files a local load skips (with why) to an image folder: truncated, empty, not an image, a FIFO."""
    folder = root / "test" / "happy"
    good = (folder / "001.png").read_bytes()
    (folder / "900.png").write_bytes(good[: len(good) // 2])
    (folder / "901.png").write_bytes(b"")
    (folder / "902.png").write_bytes(b"not an image at all")
    os.mkfifo(folder / "903.png")
    return {"900", "901", "902", "903"}


def test_bad_files_are_skipped_on_ray_workers_as_a_local_load_skips_them(tmp_path):
    from tinyemo_audit.data.registry import load_dataset

    data = _image_folder(tmp_path / "images", n=8)
    bad = _with_bad_files(data)
    local = _cli(*_embed_args(data, tmp_path / "local"), timeout=600)
    assert local.returncode == 0, local.stderr
    on_ray = _cli(*_embed_args(data, tmp_path / "ray", "--engine", "ray", "--actors", "2"), timeout=600)
    assert on_ray.returncode == 0, on_ray.stderr
    loaded = load_dataset(f"imagefolder:{data}", "test", cache=False)
    a, b = read_feature_store(tmp_path / "local", "test"), read_feature_store(tmp_path / "ray", "test")
    assert list(a.ids) == list(b.ids) == list(loaded.ids) and len(a.ids) == 8
    assert not bad & {Path(i).stem for i in b.ids}
    np.testing.assert_allclose(np.asarray(b.features), np.asarray(a.features), atol=1e-6, rtol=0)
    local_reasons = {Path(r["path"]).stem: r["reason"] for r in loaded.meta["skipped"]}
    for store in ("local", "ray"):
        manifest = json.loads((tmp_path / store / "test" / MANIFEST_FILE).read_text())
        assert manifest["n"] == 8 and manifest["n_listed"] == 12 and manifest["n_skipped_images"] == 4
        assert {Path(r["path"]).stem: r["reason"] for r in manifest["skipped_images"]} == local_reasons


def test_a_split_of_only_bad_files_is_the_local_loaders_one_line_error(tmp_path):
    from tinyemo_audit.data.image_listing import MSG_NO_USABLE

    data = tmp_path / "images" / "test" / "happy"
    data.mkdir(parents=True)
    (data / "a.png").write_bytes(b"")
    (data / "b.png").write_bytes(b"garbage")
    result = _cli(*_embed_args(tmp_path / "images", tmp_path / "out", "--engine", "ray", "--actors", "1"), timeout=600)
    assert result.returncode == 2, result.stderr
    # The progress bar (carriage returns) is drawn before the files are read; no other output of Ray's.
    lines = [x for x in result.stderr.strip().splitlines() if x.strip() and "embed test:" not in x]
    assert len(lines) == 1 and lines[0].startswith("tinyemo-audit: error: " + MSG_NO_USABLE.split("{")[0]), lines


@pytest.mark.parametrize("address, expected", [(None, "could not start a local Ray (node timed out)"),
                                               ("10.0.0.1:6379", "--ray-address '10.0.0.1:6379': cannot join")])
def test_a_ray_that_does_not_start_is_one_input_error_not_a_bug(monkeypatch, address, expected):
    import ray

    from tinyemo_audit.encoders.ray_engine import start_ray
    from tinyemo_audit.errors import InputError

    def fail(**_):
        raise Exception("node timed out")  # what Ray raises when its local node does not start in time

    monkeypatch.setattr(ray, "init", fail)
    with pytest.raises(InputError) as info:
        start_ray(address)
    assert expected in str(info.value) and "\n" not in str(info.value)
