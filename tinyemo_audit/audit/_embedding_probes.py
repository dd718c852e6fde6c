"""Probes of the projected embedding space: iEAT associations and retrieval skew."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom

from ..metrics import max_skew, ndkl, weat

SKEW_TEST = "hypergeometric, exact (Bonferroni over the attribute's groups)"


def association(
    embeddings: np.ndarray, attributes, label_emb: np.ndarray, classes: tuple[str, ...], settings: dict,
    reference_groups: dict, seed: int, *, max_per_group: int = 300,
) -> list[dict[str, Any]]:
    """iEAT: image groups (X = a group, Y = the reference group) vs two label sets (A, B)."""
    sets = settings["association_sets"]
    (a_name, a_labels), (b_name, b_labels) = list(sets.items())[:2]
    a_labels = [x for x in a_labels if x in classes]
    b_labels = [x for x in b_labels if x in classes]
    if not a_labels or not b_labels:
        return []
    A = label_emb[[classes.index(x) for x in a_labels]]
    B = label_emb[[classes.index(x) for x in b_labels]]
    rng = np.random.default_rng(seed)
    rows = []
    for attr in attributes.columns:
        groups = attributes[attr].to_numpy(str)
        values = sorted(set(groups))
        ref = reference_groups.get(attr, values[0])
        ref = ref if ref in values else values[0]
        y_idx = np.flatnonzero(groups == ref)
        for value in values:
            if value == ref:
                continue
            x_idx = np.flatnonzero(groups == value)
            n = min(len(x_idx), len(y_idx), max_per_group)  # equal sizes, as WEAT's partitions need
            if n < 2:
                continue
            xs = np.sort(rng.choice(x_idx, n, replace=False))
            ys = np.sort(rng.choice(y_idx, n, replace=False))
            res = weat(embeddings[xs], embeddings[ys], A, B, n_perm=settings["n_perm_paired"], seed=seed)
            rows.append({
                "attribute": attr, "x_group": value, "y_group": ref, "a_set": a_name, "b_set": b_name,
                "a_labels": a_labels, "b_labels": b_labels, "effect_size": float(res["effect_size"]),
                "statistic": float(res["statistic"]), "p_value": float(res["p_value"]), "n_x": n, "n_y": n,
                "test": res["test"],
            })
    return rows


def retrieval_skew(similarities: np.ndarray, attributes, classes: tuple[str, ...], k: int) -> dict[str, Any]:
    """MaxSkew@k and NDKL per label and attribute (desired = prevalence in the audited set).

    The p-value of the most over-represented group is exact: under no association its count in
    the top k is hypergeometric (N items, n_a of the group, k drawn).
    """
    n = len(similarities)
    k = min(k, n)
    out: dict[str, Any] = {"k": int(k), "desired": "prevalence", "by_label": {}}
    for c, label in enumerate(classes):
        scores = similarities[:, c]
        top = np.argsort(-scores, kind="stable")[:k]
        per_attr = {}
        for attr in attributes.columns:
            groups = attributes[attr].to_numpy(str)
            values, counts = np.unique(groups, return_counts=True)
            top_counts = np.array([(groups[top] == v).sum() for v in values])
            ratio = np.where(top_counts > 0, (top_counts / k) / (counts / n), 0.0)
            best = int(np.argmax(ratio))
            p = float(hypergeom.sf(top_counts[best] - 1, n, counts[best], k))
            per_attr[attr] = {
                "max_skew": float(max_skew(scores, groups, k, desired="prevalence")),
                "group": str(values[best]),
                "ndkl": float(ndkl(scores, groups, k, desired="prevalence")),
                "p_value": min(1.0, p * len(values)),  # Bonferroni over the groups that could be the max
                "top_k_shares": {str(v): float(t / k) for v, t in zip(values, top_counts)},
                "test": SKEW_TEST,
            }
        out["by_label"][label] = per_attr
    return out


def dataset_bias(true: np.ndarray | None, attributes, classes: tuple[str, ...]) -> dict[str, Any]:
    """Representation of each attribute and its association with the label in the audited data."""
    from ..metrics import cramers_v, normalized_mutual_info, representation, theils_u

    out: dict[str, Any] = {"representation": {}, "stereotype": {}}
    for attr in attributes.columns:
        groups = attributes[attr].to_numpy(str)
        rep = representation(groups)
        out["representation"][attr] = {key: _plain(v) for key, v in rep.items()}
        if true is not None:
            labels = np.asarray(classes, dtype=object)[true].astype(str)
            out["stereotype"][attr] = {
                "cramers_v": float(cramers_v(groups, labels)),
                "nmi": float(normalized_mutual_info(groups, labels)),
                "theils_u": float(theils_u(labels, groups)),
            }
    return out


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return value
