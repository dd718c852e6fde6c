"""Seeded UMAP of projected embeddings: a subsample above a documented cap, exact k-NN, numba cache on disk.

Why these choices:

- **Cap** (default 5 000 rows): UMAP's cost grows with the rows it maps; a uniform, seeded
  subsample of 5 000 keeps the map and the clusters fast on two cores while leaving every
  cluster of a few percent of the data with well over 30 rows. The rows mapped are returned
  (``sample_index``), so everything downstream knows what was left out.
- **Exact k-NN** (scikit-learn, brute force): at the cap it is one blocked matrix product, faster
  than NN-descent and free of its JIT compilation; it is shared by both layouts below.
- **Two layouts from one graph**: a 10-D layout with ``min_dist=0`` for clustering (density
  clustering on a 2-D map is lossy; 10-D keeps the neighbourhood structure while staying low
  enough for HDBSCAN, as umap-learn's "Using UMAP for Clustering" recommends) and a 2-D layout
  for the map shown to people.
- **Determinism**: ``random_state`` makes umap-learn run its optimiser single-threaded; we accept
  that cost because equal seeds must give equal results.
- **numba cache**: umap-learn JIT-compiles its kernels on first use (tens of seconds).
  ``NUMBA_CACHE_DIR`` (if not already set) points at ``cache_dir()/numba`` *before* umap is
  imported, so a second process loads the compiled kernels from disk. umap-learn 0.5 marks only
  some kernels ``cache=True``; the four uncached ones on our path (k-NN smoothing, membership
  strengths, the single-threaded layout epoch and its ``clip``) are switched to on-disk caching
  with numba's ``Dispatcher.enable_caching()`` before their first compilation, which is what
  makes the second process fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from tinyemo_audit.paths import cache_folder

UMAP_CAP = 5000
CLUSTER_DIMS = 10
N_NEIGHBORS = 15
MAP_MIN_DIST = 0.1
# umap-learn's own choice above 10 000 rows; below it uses 500, which costs 2.5x for no visible
# gain in the map or in the clusters of the planted-structure tests.
N_EPOCHS = 200
# The precomputed graph carries no NN-descent index, so umap-learn warns that transform() is
# unavailable; we never call transform().
_NO_INDEX_WARNING = r"precomputed_knn\[2\]"
# umap-learn kernels that this path compiles and umap-learn does not cache (measured on 0.5.12).
_UNCACHED_KERNELS = (
    ("umap.umap_", "smooth_knn_dist"),
    ("umap.umap_", "compute_membership_strengths"),
    ("umap.layouts", "clip"),
    ("umap.layouts", "_nb_optimize_layout_euclidean_single_epoch"),
)


def ensure_numba_cache() -> Path:
    """Point numba's on-disk JIT cache at ``cache_dir()/numba`` unless ``NUMBA_CACHE_DIR`` is set.

    Must run before ``umap`` (or ``pynndescent``) is imported: numba picks each cached function's
    cache location when the function is decorated, i.e. at import.

    Returns
    -------
    pathlib.Path
        The cache folder in use.
    """
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(cache_folder("numba"))
        if "numba" in sys.modules and "umap" not in sys.modules:
            # numba reads its environment once at import; re-read it so the new folder applies.
            from numba.core import config

            config.reload_config()
    path = Path(os.environ["NUMBA_CACHE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_umap_kernels() -> None:
    """Turn on numba's disk cache for the umap-learn kernels it leaves uncached (see module doc)."""
    import importlib

    for module_name, name in _UNCACHED_KERNELS:
        kernel = getattr(importlib.import_module(module_name), name, None)
        # Only before the first compilation in this process, and only for real numba dispatchers
        # (a future umap-learn may rename or already cache them).
        if hasattr(kernel, "enable_caching") and not getattr(kernel, "overloads", True):
            kernel.enable_caching()


def subsample(n_rows: int, cap: int, seed: int) -> np.ndarray:
    """Sorted row indices to map: every row when ``n_rows <= cap``, else a seeded uniform sample of ``cap``."""
    if n_rows <= cap:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=cap, replace=False))


def exact_knn(points: np.ndarray, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours of every row among the rows (itself first), in umap-learn's dtypes."""
    from sklearn.neighbors import NearestNeighbors

    finder = NearestNeighbors(n_neighbors=n_neighbors, algorithm="brute").fit(points)
    dists, indices = finder.kneighbors(points)
    return indices.astype(np.int32), dists.astype(np.float32)


def umap_layouts(points: np.ndarray, *, seed: int, cluster_dims: int = CLUSTER_DIMS) -> dict:
    """Fit the clustering layout and the 2-D map of ``points`` from one shared k-NN graph.

    Parameters
    ----------
    points : ndarray of shape (M, D)
        L2-normalised embeddings (Euclidean distance then ranks neighbours as cosine does).
    seed : int
        ``random_state`` of both UMAP fits.
    cluster_dims : int
        Dimension of the clustering layout.

    Returns
    -------
    dict
        ``{"cluster_space": float32 [M, cluster_dims], "coords": float32 [M, 2], "params": dict}``.
    """
    ensure_numba_cache()
    import umap

    _cache_umap_kernels()
    m = points.shape[0]
    n_neighbors = min(N_NEIGHBORS, m - 1)
    knn = exact_knn(points, n_neighbors)
    layouts = {}
    for key, dims, min_dist in (("cluster_space", cluster_dims, 0.0), ("coords", 2, MAP_MIN_DIST)):
        reducer = umap.UMAP(
            n_components=dims,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            random_state=seed,
            n_epochs=N_EPOCHS,
            n_jobs=1,
            precomputed_knn=knn,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_NO_INDEX_WARNING)
            layouts[key] = reducer.fit_transform(points).astype(np.float32)
    layouts["params"] = {
        "n_neighbors": n_neighbors,
        "knn": "exact",
        "n_epochs": N_EPOCHS,
        "cluster_dims": cluster_dims,
        "cluster_min_dist": 0.0,
        "map_min_dist": MAP_MIN_DIST,
    }
    return layouts
