"""Plain-data results of embedding discovery: one Cluster per slice, one DiscoveryResult per run."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Cluster:
    """One discovered slice of the mapped sample, with its scores and its automatic name.

    Attributes
    ----------
    id : int
        Cluster id (0 = largest); matches ``DiscoveryResult.cluster_of``.
    size : int
        Rows of the mapped sample in the cluster.
    error_rate : float or None
        Share of misclassified rows in the cluster (None when unlabelled).
    error_ratio : float or None
        ``error_rate`` over the overall error rate of the mapped sample (0/0 → 1).
    sliceline_score : float or None
        ``α(ē_S/ē − 1) − (1−α)(n/|S| − 1)``, α = 0.6 (METRICS.md §G).
    attribute_composition : dict
        ``{attribute: {value: share in the cluster}}`` over every value seen in the sample.
    max_skew : dict
        ``{attribute: (value, skew)}``: the value with the largest ``ln(share in cluster /
        overall share)`` among values present in the cluster.
    over_represented : list of str
        ``"attribute=value"`` whose share ratio is at least 1.5 with enough rows, most skewed first.
    top_tokens : list of (str, float)
        Nearest whole-word vocabulary tokens to the cluster centroid, with their cosine.
    name : str
        Human-readable name, e.g. ``"furious · angry · rage — skin_tone=dark"``.
    flaggable : bool
        ``size >= min_size``: smaller clusters are shown but never flagged.
    """

    id: int
    size: int
    error_rate: float | None
    error_ratio: float | None
    sliceline_score: float | None
    attribute_composition: dict[str, dict[str, float]]
    max_skew: dict[str, tuple[str, float]]
    over_represented: list[str]
    top_tokens: list[tuple[str, float]] = field(default_factory=list)
    name: str = ""
    flaggable: bool = False

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists)."""
        return {
            "id": self.id,
            "size": self.size,
            "error_rate": self.error_rate,
            "error_ratio": self.error_ratio,
            "sliceline_score": self.sliceline_score,
            "attribute_composition": {a: dict(v) for a, v in self.attribute_composition.items()},
            "max_skew": {a: [v, s] for a, (v, s) in self.max_skew.items()},
            "over_represented": list(self.over_represented),
            "top_tokens": [[w, c] for w, c in self.top_tokens],
            "name": self.name,
            "flaggable": self.flaggable,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Cluster:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=int(data["id"]),
            size=int(data["size"]),
            error_rate=data["error_rate"],
            error_ratio=data["error_ratio"],
            sliceline_score=data["sliceline_score"],
            attribute_composition={a: dict(v) for a, v in data["attribute_composition"].items()},
            max_skew={a: (v, float(s)) for a, (v, s) in data["max_skew"].items()},
            over_represented=list(data["over_represented"]),
            top_tokens=[(w, float(c)) for w, c in data["top_tokens"]],
            name=data["name"],
            flaggable=bool(data["flaggable"]),
        )


@dataclass(eq=False)
class DiscoveryResult:
    """What :func:`tinyemo_audit.discovery.discover` found.

    Attributes
    ----------
    sample_index : ndarray of int, shape (M,)
        Rows of the input that were mapped (all rows, in order, unless subsampled above the cap).
    coords : ndarray of float32, shape (M, 2)
        2-D UMAP coordinates of those rows, for the map.
    cluster_of : ndarray of int, shape (M,)
        Cluster id of each mapped row; -1 = noise (HDBSCAN only).
    clusters : list of Cluster
        Every cluster, by id.
    method : str
        Clustering method (``"hdbscan"`` or ``"kmeans"``).
    params : dict
        Every setting that shaped the result (cap, whether subsampled, UMAP and clustering params).
    timings : dict
        Seconds per stage; kept out of :meth:`to_dict` by default so equal seeds give equal dicts.
    """

    sample_index: np.ndarray
    coords: np.ndarray
    cluster_of: np.ndarray
    clusters: list[Cluster]
    method: str
    params: dict
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self, *, timings: bool = False) -> dict:
        """JSON-ready dict; ``timings=True`` adds the per-stage seconds."""
        out = {
            "method": self.method,
            "params": self.params,
            "sample_index": self.sample_index.astype(int).tolist(),
            "coords": self.coords.astype(float).tolist(),
            "cluster_of": self.cluster_of.astype(int).tolist(),
            "clusters": [c.to_dict() for c in self.clusters],
        }
        if timings:
            out["timings"] = dict(self.timings)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> DiscoveryResult:
        """Inverse of :meth:`to_dict` (for re-rendering a report without recomputing)."""
        return cls(
            sample_index=np.asarray(data["sample_index"], dtype=np.int64),
            coords=np.asarray(data["coords"], dtype=np.float32).reshape(-1, 2),
            cluster_of=np.asarray(data["cluster_of"], dtype=np.int64),
            clusters=[Cluster.from_dict(c) for c in data["clusters"]],
            method=data["method"],
            params=dict(data["params"]),
            timings=dict(data.get("timings", {})),
        )
