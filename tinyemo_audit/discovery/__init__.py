"""Embedding discovery: UMAP of projected embeddings, clusters, per-cluster scores and automatic names.

Pure arrays in, plain data out; see :func:`discover`.
"""

from tinyemo_audit.discovery._cluster import CLUSTERING, cluster_points
from tinyemo_audit.discovery._discover import discover
from tinyemo_audit.discovery._naming import name_clusters, nearest_tokens
from tinyemo_audit.discovery._result import Cluster, DiscoveryResult
from tinyemo_audit.discovery._score import score_clusters, sliceline_score
from tinyemo_audit.discovery._umap import UMAP_CAP, ensure_numba_cache

__all__ = [
    "CLUSTERING",
    "Cluster",
    "DiscoveryResult",
    "UMAP_CAP",
    "cluster_points",
    "discover",
    "ensure_numba_cache",
    "name_clusters",
    "nearest_tokens",
    "score_clusters",
    "sliceline_score",
]
