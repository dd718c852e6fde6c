"""Clustering of the UMAP clustering layout: HDBSCAN or k-means, chosen by name, ids ordered by size."""

from __future__ import annotations

import numpy as np

from tinyemo_audit.errors import UsageError
from tinyemo_audit.registry import Registry

KMEANS_RANGE = range(2, 13)
SILHOUETTE_SAMPLE = 2000
KMEANS_INITS = 4
BAD_N_CLUSTERS = "n_clusters must be an integer between 2 and {limit}, got {value!r}"
BAD_MIN_CLUSTER_SIZE = "min_cluster_size must be an integer between 2 and {limit}, got {value!r}"


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def default_min_cluster_size(n_rows: int) -> int:
    """HDBSCAN's smallest cluster: 1 % of the mapped rows, at least 10."""
    return max(10, int(round(0.01 * n_rows)))


def _hdbscan(space: np.ndarray, *, min_cluster_size: int | None, seed: int, **_) -> tuple[np.ndarray, dict]:
    from sklearn.cluster import HDBSCAN

    m = space.shape[0]
    if min_cluster_size is None:
        min_cluster_size = default_min_cluster_size(m)
    elif not _is_int(min_cluster_size) or not 2 <= min_cluster_size <= m:
        raise UsageError(BAD_MIN_CLUSTER_SIZE.format(limit=m, value=min_cluster_size))
    labels = HDBSCAN(min_cluster_size=int(min_cluster_size), copy=True).fit_predict(space)
    return labels, {"min_cluster_size": int(min_cluster_size)}


def _kmeans(space: np.ndarray, *, n_clusters: int | None, seed: int, **_) -> tuple[np.ndarray, dict]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    m = space.shape[0]
    if n_clusters is not None:
        if not _is_int(n_clusters) or not 2 <= n_clusters <= m - 1:
            raise UsageError(BAD_N_CLUSTERS.format(limit=m - 1, value=n_clusters))
        labels = KMeans(n_clusters=int(n_clusters), n_init=KMEANS_INITS, random_state=seed).fit_predict(space)
        return labels, {"n_clusters": int(n_clusters), "chosen_by": "given"}
    silhouettes, fits = {}, {}
    for k in (k for k in KMEANS_RANGE if k <= m - 1):
        fits[k] = KMeans(n_clusters=k, n_init=KMEANS_INITS, random_state=seed).fit_predict(space)
        silhouettes[k] = float(
            silhouette_score(space, fits[k], sample_size=min(m, SILHOUETTE_SAMPLE), random_state=seed)
        )
    best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    return fits[best], {"n_clusters": best, "chosen_by": "silhouette", "silhouette": silhouettes}


CLUSTERING: Registry = Registry("clustering method")
CLUSTERING.add("hdbscan", lambda: _hdbscan)
CLUSTERING.add("kmeans", lambda: _kmeans)


def order_by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..C-1 by size, largest first (ties: lower old id first); -1 stays noise."""
    labels = np.asarray(labels)
    kept = labels >= 0
    if not kept.any():
        return labels.astype(np.int64)
    old_ids, counts = np.unique(labels[kept], return_counts=True)
    rank = np.lexsort((old_ids, -counts))
    new_of_old = np.empty(old_ids.max() + 1, dtype=np.int64)
    new_of_old[old_ids[rank]] = np.arange(len(old_ids))
    out = np.full(labels.shape, -1, dtype=np.int64)
    out[kept] = new_of_old[labels[kept]]
    return out


def cluster_points(
    space: np.ndarray,
    *,
    method: str,
    n_clusters: int | None = None,
    min_cluster_size: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, dict]:
    """Cluster the rows of ``space`` with the named method.

    Parameters
    ----------
    space : ndarray of shape (M, d)
        Points to cluster (the UMAP clustering layout).
    method : {"hdbscan", "kmeans"}
        Unknown names raise :class:`~tinyemo_audit.errors.UnknownNameError`.
    n_clusters : int, optional
        k-means only; default: the k in 2..12 with the best silhouette (on a seeded sample).
    min_cluster_size : int, optional
        HDBSCAN only; default :func:`default_min_cluster_size`.
    seed : int
        Seed of k-means and of the silhouette sample.

    Returns
    -------
    labels : ndarray of int, shape (M,)
        Cluster ids ordered by size (0 = largest); -1 = noise.
    params : dict
        The parameters used (and, for k-means by silhouette, every k's score).
    """
    fit = CLUSTERING.resolve(method)
    labels, params = fit(space, n_clusters=n_clusters, min_cluster_size=min_cluster_size, seed=seed)
    return order_by_size(labels), params
