"""Hostile inputs of the scale options through the real CLI: one line, exit 2, nothing written.

A chunk size below 1, a feature store whose metadata table and features.npy disagree (rows, a
missing column, a digest), and the Ray engine's bad inputs (tests/encoders/test_ray_engine.py runs
those against a real Ray: unreachable --ray-address, Ray not installed, --actors 0).
"""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app

runner = CliRunner()


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("tinyemo-audit: error:"), result.output
    return lines[0]


@settings(max_examples=25, deadline=None)
@given(size=st.integers(-10**12, 0))
def test_a_chunk_size_below_one_is_exit_2(tmp_path_factory, size):
    tmp = tmp_path_factory.mktemp("chunk")
    for command in (["run", "--dataset", "features:/nonexistent", "--out", str(tmp / "run")],
                    ["eval", "--dataset", "features:/nonexistent"]):
        line = _one_error_line(runner.invoke(app, [*command, "--chunk-size", str(size)]))
        assert "--chunk-size must be at least 1" in line
    assert list(tmp.iterdir()) == []


def _store(root, n=40):
    from tinyemo_audit.data.feature_store_writer import write_store

    rng = np.random.default_rng(0)
    write_store(root, "test", rng.normal(size=(n, 384)).astype(np.float32),
                classes=("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
                ids=[f"i{i}" for i in range(n)], labels=rng.integers(0, 7, n),
                attributes=pd.DataFrame({"group": rng.choice(["a", "b"], n)}))
    return root / "test"


def _rewrite_metadata(split, change, *, fix_digest=True):
    import pyarrow.parquet as pq

    from tinyemo_audit.data.feature_store import file_digest

    path = split / "metadata.parquet"
    pq.write_table(change(pq.read_table(path)), path)
    if fix_digest:
        manifest = json.loads((split / "manifest.json").read_text())
        (split / "manifest.json").write_text(json.dumps({**manifest, "metadata_blake2b": file_digest(path)}))


@pytest.mark.parametrize("change, fix_digest, message", [
    (lambda t: t.slice(0, 39), True, "39 rows, but features.npy has 40"),
    (lambda t: t.drop_columns(["id"]), True, "no 'id' column"),
    (lambda t: t.slice(0, 39), False, "does not match the digest"),
])
def test_a_store_whose_metadata_and_features_disagree_is_exit_2_nothing_written(tmp_path, change, fix_digest,
                                                                                 message):
    split = _store(tmp_path / "store")
    _rewrite_metadata(split, change, fix_digest=fix_digest)
    for command in (["run", "--out", str(tmp_path / "run")], ["eval"]):
        line = _one_error_line(runner.invoke(app, [*command, "--dataset", f"features:{tmp_path / 'store'}"]))
        assert message in line
    assert not (tmp_path / "run").exists()
