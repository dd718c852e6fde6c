"""discover(): subsample → UMAP (clustering layout + 2-D map) → clusters → scores → names, as plain data."""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from tinyemo_audit.discovery._cluster import CLUSTERING, cluster_points
from tinyemo_audit.discovery._naming import name_clusters
from tinyemo_audit.discovery._result import DiscoveryResult
from tinyemo_audit.discovery._score import score_clusters
from tinyemo_audit.discovery._umap import UMAP_CAP, subsample, umap_layouts
from tinyemo_audit.errors import InputError, UsageError

MIN_ROWS = 20
BAD_EMBEDDINGS = "embeddings must be a 2-D array of finite numbers with at least {min_rows} rows, got {got}"
ZERO_ROWS = "embeddings contain {n} all-zero row(s); they cannot be L2-normalised"
BAD_ROWS = "{what} has {got} rows, expected {expected} (one per embedding)"
BAD_ATTRIBUTES = "attributes must be a pandas DataFrame, got {got}"
BAD_INT = "{name} must be an integer >= {low}, got {value!r}"


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UsageError(BAD_INT.format(name=name, low=low, value=value))
    return int(value)


def _unit_rows(embeddings) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < MIN_ROWS or not np.isfinite(x).all():
        raise InputError(BAD_EMBEDDINGS.format(min_rows=MIN_ROWS, got=f"shape {x.shape}"))
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise InputError(ZERO_ROWS.format(n=int((norms == 0).sum())))
    # Callers pass unit rows already; renormalising is cheap and makes the cosine geometry certain.
    return x / norms


def discover(
    embeddings: np.ndarray,
    *,
    errors: np.ndarray | None,
    attributes: pd.DataFrame,
    vocabulary: tuple[list[str], np.ndarray] | None,
    method: str = "hdbscan",
    n_clusters: int | None = None,
    min_cluster_size: int | None = None,
    umap_cap: int = UMAP_CAP,
    n_top_tokens: int = 5,
    min_size: int = 30,
    seed: int = 0,
    progress: bool = True,
) -> DiscoveryResult:
    """Map projected embeddings with UMAP, cluster them, score every cluster and name it.

    Above ``umap_cap`` rows a seeded uniform subsample of ``umap_cap`` rows is mapped (see
    ``sample_index``); clusters, scores and names all refer to the mapped rows. Clustering runs on
    a 10-D UMAP layout (``min_dist=0``) built from the same exact k-NN graph as the 2-D map:
    density clustering of a 2-D picture is lossy, of the raw 576-D space unreliable.

    Parameters
    ----------
    embeddings : ndarray of shape (N, D)
        L2-normalised projected embeddings (rows are renormalised defensively).
    errors : ndarray of bool, shape (N,), or None
        True where misclassified; None when the data are unlabelled.
    attributes : pandas.DataFrame
        N rows of protected attributes (string columns); may have no columns.
    vocabulary : (list of str, ndarray of shape (V, D)) or None
        Naming vocabulary: words and their L2-normalised token embeddings.
    method : {"hdbscan", "kmeans"}
        Clustering method; unknown names raise :class:`~tinyemo_audit.errors.UnknownNameError`.
    n_clusters : int, optional
        k-means: number of clusters (default: best silhouette for k in 2..12).
    min_cluster_size : int, optional
        HDBSCAN: smallest cluster (default: 1 % of the mapped rows, at least 10).
    umap_cap : int
        Most rows mapped (default 5 000).
    n_top_tokens : int
        Vocabulary tokens kept per cluster.
    min_size : int
        Clusters of at least this many rows are ``flaggable``.
    seed : int
        Seed of the subsample, UMAP and k-means: equal seeds give equal results.
    progress : bool
        Show the stages as a tqdm bar on stderr.

    Returns
    -------
    DiscoveryResult
    """
    CLUSTERING.validate(method)
    x = _unit_rows(embeddings)
    n = x.shape[0]
    umap_cap = _check_int("umap_cap", umap_cap, MIN_ROWS)
    n_top_tokens = _check_int("n_top_tokens", n_top_tokens, 0)
    min_size = _check_int("min_size", min_size, 1)
    seed = _check_int("seed", seed, 0)
    if attributes is None:
        attributes = pd.DataFrame(index=range(n))
    if not isinstance(attributes, pd.DataFrame):
        raise InputError(BAD_ATTRIBUTES.format(got=type(attributes).__name__))
    if len(attributes) != n:
        raise InputError(BAD_ROWS.format(what="attributes", got=len(attributes), expected=n))
    if errors is not None:
        errors = np.asarray(errors)
        if errors.shape != (n,):
            raise InputError(BAD_ROWS.format(what="errors", got=errors.shape[0] if errors.ndim else 0, expected=n))

    from tqdm.auto import tqdm

    timings: dict[str, float] = {}
    stages = tqdm(total=4, desc="discovery", file=sys.stderr, disable=not progress, leave=False)

    def stage(name: str, started: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - started, 4)
        stages.update(1)
        return now

    try:
        t = time.perf_counter()
        sample_index = subsample(n, umap_cap, seed)
        points = x[sample_index]
        stages.set_description(f"discovery: UMAP of {len(sample_index)} rows")
        layouts = umap_layouts(points, seed=seed)
        t = stage("umap", t)
        stages.set_description(f"discovery: {method} clustering")
        cluster_of, cluster_params = cluster_points(
            layouts["cluster_space"], method=method, n_clusters=n_clusters,
            min_cluster_size=min_cluster_size, seed=seed,
        )
        t = stage("cluster", t)
        stages.set_description("discovery: scoring clusters")
        clusters = score_clusters(
            cluster_of,
            errors=None if errors is None else errors[sample_index],
            attributes=attributes.iloc[sample_index].reset_index(drop=True),
            min_size=min_size,
        )
        t = stage("score", t)
        stages.set_description("discovery: naming clusters")
        clusters = name_clusters(clusters, points, cluster_of, vocabulary=vocabulary, n_top_tokens=n_top_tokens)
        stage("name", t)
    finally:
        stages.close()

    params = {
        "n_rows": n,
        "n_mapped": int(len(sample_index)),
        "umap_cap": umap_cap,
        "subsampled": bool(len(sample_index) < n),
        "cluster_space": f"umap-{layouts['params']['cluster_dims']}d",
        "umap": layouts["params"],
        "clustering": cluster_params,
        "n_noise": int((cluster_of < 0).sum()),
        "min_size": min_size,
        "n_top_tokens": n_top_tokens,
        "seed": seed,
        "labelled": errors is not None,
        "attributes": [str(a) for a in attributes.columns],
    }
    return DiscoveryResult(
        sample_index=sample_index.astype(np.int64),
        coords=layouts["coords"],
        cluster_of=cluster_of,
        clusters=clusters,
        method=method,
        params=params,
        timings=timings,
    )
