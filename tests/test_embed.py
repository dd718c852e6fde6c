"""``embed``: the resumable feature cache (SIGKILL + rerun), its reader via ``features:``, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tinyemo_audit

from tinyemo_audit.data.registry import DATASETS, load_dataset
from tinyemo_audit.data.feature_store import MANIFEST_FILE, METADATA_FILE, PROGRESS_FILE, read_feature_store
from tinyemo_audit.encoders.feature_store import DELAY_ENV, embed_split
from tinyemo_audit.errors import InputError

N_IMAGES, BATCH = 40, 4  # 10 batches

# Shared by the test process and the subprocess it kills: a synthetic split and an encoder that
# logs every batch it computes (so a recomputed batch is visible).
HELPERS = textwrap.dedent(
    '''
    import numpy as np, pandas as pd
    from tinyemo_audit.data.dataset import Dataset
    from tinyemo_audit.encoders.base import Encoder

    def shapes_split(n, split="train", seed=0):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 3, n)
        return Dataset(
            name="synthetic-shapes", split=split, classes=("anger", "joy", "sadness"),
            labels=labels.astype(np.int64), ids=np.array([f"{split}-{i:03d}" for i in range(n)]),
            attributes=pd.DataFrame({"group": np.where(labels == 1, "a", "b")}),
            images=rng.integers(0, 256, (n, 16, 16, 3)).astype(np.uint8),
        )

    class LoggingEncoder(Encoder):
        """A fixed random projection of 4x4-pooled pixels; appends one line per computed batch to a log."""

        def __init__(self, log=None):
            import torch
            self.spec, self.dim, self.log = "test:logging", 6, log
            self.weight = torch.from_numpy(np.random.default_rng(1).normal(size=(48, 6)).astype(np.float32))

        def _weights(self):
            return {"weight": self.weight}

        def _forward(self, batch):
            import torch
            if self.log is not None:
                with open(self.log, "a") as fh:
                    fh.write(f"{len(batch)}\\n")
            pooled = torch.nn.functional.avg_pool2d(batch.permute(0, 3, 1, 2).float(), 4).reshape(len(batch), -1)
            return torch.tanh(pooled[:, :48] @ self.weight / 255.0)
    '''
)
namespace: dict = {}
exec(HELPERS, namespace)  # noqa: S102 - the helpers above, also run in the subprocess
shapes_split = namespace["shapes_split"]
LoggingEncoder = namespace["LoggingEncoder"]

SCRIPT = HELPERS + textwrap.dedent(
    '''
    import sys
    from tinyemo_audit.encoders.feature_store import embed_split
    embed_split(LoggingEncoder(sys.argv[2]), shapes_split(%d), sys.argv[1], batch_size=%d, progress=False)
    '''
) % (N_IMAGES, BATCH)


def _rows_done(split_dir) -> int:
    from tinyemo_audit.data.feature_store_writer import rows_done

    try:
        return rows_done(json.loads((split_dir / PROGRESS_FILE).read_text()))
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def test_sigkill_then_rerun_resumes_without_recomputing(tmp_path):
    script = tmp_path / "embed_script.py"
    script.write_text(SCRIPT)
    out, log = tmp_path / "cache", tmp_path / "batches.log"
    env = {**os.environ, DELAY_ENV: "0.2", "PYTHONPATH": str(Path(tinyemo_audit.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(log)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    split_dir = out / "train"
    deadline = time.monotonic() + 600  # a liveness guard, generous for a loaded machine
    while _rows_done(split_dir) < 2 * BATCH:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "embed made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = _rows_done(split_dir)
    computed_first = len(log.read_text().split())
    assert BATCH * 2 <= done_at_kill < N_IMAGES
    assert not (split_dir / MANIFEST_FILE).exists()
    with pytest.raises(InputError, match="unfinished"):
        read_feature_store(out, "train")

    env[DELAY_ENV] = "0"
    subprocess.run([sys.executable, str(script), str(out), str(log)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    computed_second = len(log.read_text().split()) - computed_first
    # Only the batches after the last recorded one are computed again.
    assert computed_second == (N_IMAGES - done_at_kill) // BATCH
    manifest = json.loads((split_dir / MANIFEST_FILE).read_text())
    assert manifest["status"] == "complete"
    assert [r["started_at_row"] for r in manifest["runs"]] == [0, done_at_kill]

    reference = embed_split(LoggingEncoder(), shapes_split(N_IMAGES), tmp_path / "ref", batch_size=BATCH,
                            progress=False)
    resumed = load_dataset(f"features:{out}", "train")
    expected = np.load(reference / "features.npy")
    np.testing.assert_array_equal(np.asarray(resumed.features), expected)
    assert resumed.features.dtype == np.float32 and resumed.features.shape == (N_IMAGES, 6)


def test_manifest_round_trip_and_rerun_is_a_no_op(tmp_path):
    data = shapes_split(10, split="val")
    log = tmp_path / "log"
    split_dir = embed_split(LoggingEncoder(log), data, tmp_path / "c", batch_size=3, progress=False)
    assert len(log.read_text().split()) == 4
    embed_split(LoggingEncoder(log), data, tmp_path / "c", batch_size=3, progress=False)
    assert len(log.read_text().split()) == 4  # complete: nothing recomputed
    back = load_dataset(f"features:{tmp_path / 'c'}", "val")
    assert isinstance(back.features, np.memmap)
    assert back.classes == data.classes
    np.testing.assert_array_equal(back.labels, data.labels)
    np.testing.assert_array_equal(back.ids, data.ids)
    # Attributes come back as categoricals (one code per item, docs/feature-store.md).
    pd.testing.assert_frame_equal(back.attributes.astype(str), data.attributes.astype(str))
    manifest = json.loads((split_dir / MANIFEST_FILE).read_text())
    assert manifest["encoder"] == "test:logging" and manifest["dim"] == 6 and manifest["n"] == 10


def test_other_encoder_or_dataset_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "c"
    embed_split(LoggingEncoder(), shapes_split(8), out, batch_size=4, progress=False)
    with pytest.raises(InputError, match="dataset .*--overwrite"):
        embed_split(LoggingEncoder(), shapes_split(8, seed=5), out, batch_size=4, progress=False)
    other = LoggingEncoder()
    other.weight = other.weight * 2
    with pytest.raises(InputError, match="encoder .*other weights"):
        embed_split(other, shapes_split(8), out, batch_size=4, progress=False)
    embed_split(other, shapes_split(8), out, batch_size=4, progress=False, overwrite=True)
    assert json.loads((out / "train" / MANIFEST_FILE).read_text())["encoder_fingerprint"] == other.fingerprint()


def test_one_writer_per_split_and_stale_locks_are_taken_over(tmp_path):
    split_dir = tmp_path / "c" / "train"
    split_dir.mkdir(parents=True)
    (split_dir / ".lock").write_text(str(os.getppid()))  # a live process that is not us
    with pytest.raises(InputError, match=f"another embed \\(pid {os.getppid()}\\)"):
        embed_split(LoggingEncoder(), shapes_split(8), tmp_path / "c", batch_size=4, progress=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (split_dir / ".lock").write_text(str(dead.pid))  # left behind by a killed run
    embed_split(LoggingEncoder(), shapes_split(8), tmp_path / "c", batch_size=4, progress=False)
    assert not (split_dir / ".lock").exists() and (split_dir / MANIFEST_FILE).is_file()


def test_reader_validates_the_manifest_against_the_features(tmp_path):
    out = tmp_path / "c"
    split_dir = embed_split(LoggingEncoder(), shapes_split(8), out, batch_size=4, progress=False)
    manifest = json.loads((split_dir / MANIFEST_FILE).read_text())
    (split_dir / MANIFEST_FILE).write_text(json.dumps({**manifest, "dim": 7}))
    with pytest.raises(InputError, match=r"float32 \(8, 7\)"):
        read_feature_store(out, "train")
    import pyarrow.parquet as pq

    from tinyemo_audit.data.feature_store import file_digest

    table = pq.read_table(split_dir / METADATA_FILE)
    pq.write_table(table.slice(0, 7), split_dir / METADATA_FILE)
    (split_dir / MANIFEST_FILE).write_text(json.dumps(
        {**manifest, "metadata_blake2b": file_digest(split_dir / METADATA_FILE)}))
    with pytest.raises(InputError, match="7 rows, but features.npy has 8"):
        read_feature_store(out, "train")
    with pytest.raises(InputError, match="no 'test' split"):
        read_feature_store(out, "test")


def test_pt_layout_still_reads(tmp_path):
    import torch

    folder = tmp_path / "pt" / "test" / "joy"
    folder.mkdir(parents=True)
    torch.save(torch.ones(5), folder / "a.pt")
    data = load_dataset(f"features:{tmp_path / 'pt'}", "test")
    assert data.features.shape == (1, 5) and data.classes == ("joy",)


def test_embed_cli_with_an_hf_encoder(tmp_path, monkeypatch):
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model
    from typer.testing import CliRunner

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    Dinov2Model(Dinov2Config(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                             image_size=16, patch_size=8)).save_pretrained(tmp_path / "dino")
    BitImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}, do_center_crop=True,
                      image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(tmp_path / "dino")
    # Registered for this test only (the registry is global; other tests list its names).
    monkeypatch.setitem(DATASETS._names, "embed-test-shapes", lambda split: shapes_split(6, split=split))
    from tinyemo_audit.cli.main import app  # the real app, behind its error boundary
    args = ["embed", "--encoder", f"hf:{tmp_path / 'dino'}", "--dataset", "embed-test-shapes",
            "--out", str(tmp_path / "feats"), "--split", "train", "--split", "test", "--batch-size", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for split in ("train", "test"):
        back = load_dataset(f"features:{tmp_path / 'feats'}", split)
        assert back.features.shape == (6, 16)
        assert back.meta["encoder"] == f"hf:{tmp_path / 'dino'}"
    bad = CliRunner().invoke(app, [*args[:2], "hf:" + str(tmp_path / "missing"), *args[3:]])
    assert bad.exit_code == 2
    assert "no model config.json" in bad.output and len(bad.output.strip().splitlines()) == 1
