"""UMAP helpers and clustering: subsampling, numba cache location, cluster ordering, k-means and HDBSCAN choices."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tinyemo_audit.discovery import cluster_points
from tinyemo_audit.discovery._cluster import default_min_cluster_size, order_by_size
from tinyemo_audit.discovery._umap import ensure_numba_cache, exact_knn, subsample
from tinyemo_audit.errors import UnknownNameError, UsageError


def test_subsample_is_seeded_sorted_and_capped():
    assert subsample(10, 20, 0).tolist() == list(range(10))
    a, b, c = subsample(1000, 100, 0), subsample(1000, 100, 0), subsample(1000, 100, 1)
    assert len(a) == 100 and (np.diff(a) > 0).all() and a.max() < 1000
    assert (a == b).all() and not (a == c).all()


def test_numba_cache_goes_under_the_package_cache_unless_set(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert ensure_numba_cache() == tmp_path / "numba"
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "numba") and (tmp_path / "numba").is_dir()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert ensure_numba_cache() == tmp_path / "mine"


def test_exact_knn_lists_each_point_first():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 8)).astype(np.float32)
    indices, dists = exact_knn(points, 5)
    assert indices.dtype == np.int32 and dists.dtype == np.float32 and indices.shape == (50, 5)
    assert (indices[:, 0] == np.arange(50)).all() and (dists[:, 0] < 1e-3).all()
    assert (np.diff(dists, axis=1) >= 0).all()


def test_order_by_size_keeps_noise():
    assert order_by_size(np.array([5, 5, -1, 2, 2, 2, 7])).tolist() == [1, 1, -1, 0, 0, 0, 2]
    assert order_by_size(np.array([-1, -1])).tolist() == [-1, -1]


def test_cluster_points_methods_and_errors():
    rng = np.random.default_rng(0)
    space = np.vstack([rng.normal(c, 0.1, size=(n, 3)) for c, n in ((0, 60), (5, 40), (10, 30))])
    labels, params = cluster_points(space, method="kmeans", seed=0)
    assert params["n_clusters"] == 3 and labels[:60].tolist() == [0] * 60 and labels[-30:].tolist() == [2] * 30
    labels, params = cluster_points(space, method="hdbscan", min_cluster_size=10)
    assert params == {"min_cluster_size": 10} and sorted(set(labels[labels >= 0])) == [0, 1, 2]
    assert default_min_cluster_size(5000) == 50 and default_min_cluster_size(300) == 10
    with pytest.raises(UnknownNameError):
        cluster_points(space, method="spectral")
    with pytest.raises(UsageError, match="n_clusters"):
        cluster_points(space, method="kmeans", n_clusters=1)
    with pytest.raises(UsageError, match="min_cluster_size"):
        cluster_points(space, method="hdbscan", min_cluster_size=1)


_RUN = """
import time, numpy as np, pandas as pd
from tinyemo_audit.discovery import discover
x = np.random.default_rng(0).normal(size=(400, 32)).astype(np.float32)
t = time.perf_counter()
discover(x, errors=None, attributes=pd.DataFrame(index=range(400)), vocabulary=None, progress=False)
print(time.perf_counter() - t)
"""


@pytest.mark.slow
def test_second_process_skips_umap_compilation(tmp_path):
    env = dict(os.environ, TINYEMO_AUDIT_CACHE=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    seconds = [float(subprocess.run([sys.executable, "-c", _RUN], env=env, check=True, capture_output=True,
                                    text=True).stdout.split()[-1]) for _ in range(2)]
    assert (tmp_path / "numba").is_dir() and any((tmp_path / "numba").rglob("*.nbi"))
    assert seconds[1] < 0.5 * seconds[0], seconds
