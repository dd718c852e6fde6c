"""Planted-slice precision@k (Domino's protocol): discovery's clusters against a Gaussian-mixture baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

# The planted slice: older masculine faces whose happiness annotators call sad. The two-attribute
# cell is no single protected group, so only a method that localises it in the space can find it.
SLICE = {"age": "older", "gender": "masculine"}
SLICE_FROM, SLICE_TO = "happy", "sad"


def slice_mask(attributes, true_labels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Rows of the planted slice: the attribute combination with the slice's true label."""
    mask = true_labels == classes.index(SLICE_FROM)
    for attr, value in SLICE.items():
        mask &= attributes[attr].to_numpy(str) == value
    return mask


def plant_slice(true_labels: np.ndarray, mask: np.ndarray, to_label: int, rate: float, seed: int) -> np.ndarray:
    """Labels with ``round(rate * mask.sum())`` seeded members of ``mask`` relabelled ``to_label``."""
    labels = np.asarray(true_labels, dtype=np.int64).copy()
    members = np.flatnonzero(mask)
    chosen = np.random.default_rng(seed).choice(members, size=int(round(rate * len(members))), replace=False)
    labels[chosen] = to_label
    return labels


def rank_by_clusters(cluster_of: np.ndarray, errors: np.ndarray, seed: int) -> np.ndarray:
    """Items ordered by how strongly a clustering marks them as the problem slice.

    Key, most marked first: the error rate of the item's cluster (noise points last), then the
    item's own error, then a seeded random tie-break. Both methods are ranked by this one rule.
    """
    ids, inverse = np.unique(cluster_of, return_inverse=True)
    rate = np.bincount(inverse, weights=errors.astype(float)) / np.bincount(inverse)
    item_rate = np.where(cluster_of < 0, -1.0, rate[inverse])
    tie = np.random.default_rng(seed).random(len(cluster_of))
    return np.lexsort((tie, -errors.astype(float), -item_rate))


def precision_at_k(order: np.ndarray, in_slice: np.ndarray, k: int = 10) -> float:
    """Share of the top ``k`` ranked items that belong to the planted slice."""
    return float(np.mean(in_slice[order[:k]]))


def gmm_clusters(embeddings: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """Baseline: a diagonal Gaussian mixture over the same projected embeddings."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(n_components=n_components, covariance_type="diag", random_state=seed, reg_covar=1e-4)
    return gmm.fit_predict(embeddings)


def slice_trial(embeddings: np.ndarray, errors: np.ndarray, attributes, in_slice: np.ndarray, *,
                settings: dict, seed: int, k: int = 10) -> dict[str, Any]:
    """precision@k of ``discover`` (the audit's discovery step) and of the GMM baseline on one sample."""
    from ..discovery import discover

    result = discover(embeddings, errors=errors, attributes=attributes, vocabulary=None,
                      method=settings["discovery"]["method"], umap_cap=settings["discovery"]["umap_cap"],
                      min_size=settings["min_group_size"], seed=seed, progress=False)
    rows = result.sample_index
    x, err, member = embeddings[rows], errors[rows], in_slice[rows]
    found = rank_by_clusters(result.cluster_of, err, seed)
    n_clusters = max(2, int((np.unique(result.cluster_of) >= 0).sum()))
    baseline = rank_by_clusters(gmm_clusters(x, n_clusters, seed), err, seed)
    return {
        "seed": int(seed), "n": int(len(rows)), "slice_size": int(member.sum()),
        "slice_error_rate": float(err[member].mean()) if member.any() else None,
        "n_clusters": n_clusters,
        "precision_at_k": precision_at_k(found, member, k),
        "baseline_precision_at_k": precision_at_k(baseline, member, k),
    }
