"""The command's engine: ``run``/``eval --engine ray`` give what ``--engine local`` gives, through the Ray path of
``embed``; combinations where nothing is encoded are refused in one line before any work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyemo_audit
from tinyemo_audit.encoders.engine import (
    MSG_NOTHING_TO_ENCODE,
    batch_ranges,
    check_engine_inputs,
    current_engine,
    encode_rows,
    use_engine,
)
from tinyemo_audit.errors import UsageError
from fixture_files import write_image_csv

ROOT = Path(tinyemo_audit.__file__).resolve().parents[1]


def _manifest(root: Path, n: int = 30) -> Path:
    """A csv: dataset of n random 32x32 images, three labels and one two-valued attribute."""
    return write_image_csv(root, n)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 700), batch=st.integers(1, 300))
def test_batch_ranges_cover_every_row_once_in_order(n, batch):
    ranges = batch_ranges(n, batch)
    rows = [r for a, b in ranges for r in range(a, b)]
    assert rows == list(range(n)) and all(0 < b - a <= batch for a, b in ranges)


@pytest.mark.parametrize("datasets, predictions", [
    (["features:/data/store"], None), (["faces", "features:x"], None), ([None], "preds.csv"),
])
def test_ray_where_nothing_is_encoded_is_a_usage_error(datasets, predictions):
    with pytest.raises(UsageError) as info:
        check_engine_inputs("ray", datasets=datasets, predictions=predictions)
    what = "--predictions" if predictions else "--dataset features:<store>"
    assert str(info.value) == MSG_NOTHING_TO_ENCODE.format(what=what)
    check_engine_inputs("local", datasets=datasets, predictions=predictions)  # local: nothing to refuse


def test_use_engine_installs_and_restores():
    assert current_engine().name == "local"
    with pytest.raises(UsageError, match="--engine must be local or ray"):
        with use_engine("spark"):
            pass
    with use_engine("local") as engine:
        assert current_engine() is engine
    assert current_engine().name == "local"


def test_encode_rows_of_a_listing_equal_the_loaded_datasets_features(tmp_path):
    from tinyemo_audit.data.registry import list_dataset, load_dataset
    from tinyemo_audit.encoders.registry import resolve_encoder

    manifest = _manifest(tmp_path / "d", n=9)
    (manifest.parent / "img" / "004.png").write_bytes(b"broken")
    encoder = resolve_encoder("faces-mini", weights=ROOT / "models" / "tinyemo-faces-mini" / "encoder.safetensors")
    listing = list_dataset(f"csv:{manifest}", "test")
    loaded = load_dataset(f"csv:{manifest}", "test", cache=False)
    features, reasons = encode_rows(encoder, listing, 0, len(listing))
    ok = np.array([r is None for r in reasons])
    assert ok.sum() == len(loaded) == 8 and not np.any(features[~ok])
    np.testing.assert_allclose(features[ok], encoder.encode_images(loaded.images, batch_size=8, progress=False),
                               atol=1e-6, rtol=0)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=600)


@pytest.mark.parametrize("args, message", [
    (["run", "--dataset", "features:{tmp}/store", "--engine", "ray"], "--dataset features:<store> has no images"),
    (["run", "--predictions", "{tmp}/p.csv", "--engine", "ray"], "--predictions has no images"),
    (["eval", "--dataset", "features:{tmp}/store", "--engine", "ray"], "--dataset features:<store> has no images"),
    (["run", "--engine", "spark"], "--engine must be local or ray"),
    (["eval", "--engine", "ray", "--actors", "0"], "--actors must be at least 1"),
    (["eval", "--ray-address", "127.0.0.1:1"], "--ray-address is for --engine ray"),
    (["eval", "--reasoning", "--engine", "ray", "--ray-address", "127.0.0.1:1"], "nothing answers there"),
])
def test_bad_engine_combinations_are_exit_2_one_line_before_work(tmp_path, args, message):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    result = _cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], *(["--out", str(out)] if args[0] == "run" else []))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyemo-audit: error:") and message in lines[0], lines
    assert not out.exists()


def test_run_and_eval_on_ray_decode_in_the_actors_and_equal_local(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    from tinyemo_audit.api import audit_model
    from tinyemo_audit.data import image_cache
    from tinyemo_audit.data import images as images_module
    from tinyemo_audit.data.image_listing import ImageListing
    from tinyemo_audit.encoders import ray_engine
    from tinyemo_audit.model.zero_shot import evaluate_grid
    from tinyemo_audit.paths import cache_folder

    manifest = _manifest(tmp_path / "d")
    (manifest.parent / "img" / "004.png").write_bytes(b"broken")  # skipped on the worker, as a local load skips it
    spec = f"csv:{manifest}"
    runs, decoded = [], []
    real_batches, real_read = ray_engine.ray_batches, images_module.read_images

    def spy_batches(recipe, source, **kwargs):
        inner = real_batches(recipe, source, **kwargs)

        def run(batches):
            if batches:
                runs.append((type(source), len(batches)))
            yield from inner(batches)
        return run

    def spy_read(paths, *args, **kwargs):  # decoding in this process (the actors are other processes)
        decoded.append(len(paths))
        return real_read(paths, *args, **kwargs)

    monkeypatch.setattr(ray_engine, "ray_batches", spy_batches)
    # every decoding path of this process: the listing's and Dataset.pixels' (images), a local load's (image cache)
    monkeypatch.setattr(images_module, "read_images", spy_read)
    monkeypatch.setattr(image_cache, "read_images", spy_read)
    local = audit_model(dataset=spec, out=tmp_path / "local", device="cpu", engine="local")
    assert sum(decoded) >= 29 and not runs  # the spies see a local load decode the split here
    decoded.clear()
    shutil.rmtree(cache_folder("images"), ignore_errors=True)  # a decoded split kept there would hide a regression
    on_ray = audit_model(dataset=spec, out=tmp_path / "ray", engine="ray", actors=1, device="cpu")
    assert runs == [(ImageListing, 1)]  # the listed files went to the actors, which read and decoded them
    assert all(n == 1 for n in decoded)  # the driver decodes single rows at most: examples shown in the report
    ray_results = json.loads((tmp_path / "ray" / "results.json").read_text())
    assert ray_results == json.loads((tmp_path / "local" / "results.json").read_text())
    assert on_ray.verdict == local.verdict

    audit_model(dataset=spec, out=tmp_path / "again", engine="ray", actors=1, device="cpu")
    assert len(runs) == 1  # the store in the cache is complete: nothing is encoded again
    assert json.loads((tmp_path / "again" / "results.json").read_text()) == ray_results

    with use_engine("ray", actors=1):
        (ray_eval,) = evaluate_grid(["tinyemo-faces-mini"], [spec], split="test")
    (local_eval,) = evaluate_grid(["tinyemo-faces-mini"], [spec], split="test")
    assert ray_eval == local_eval and ray_eval["n_skipped"] == 1
