"""Probes of the projected embedding space: iEAT associations and retrieval skew."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom

from ..metrics import max_skew, ndkl, weat
from ._requirements import NEEDS, LeftOut
from ._results_guard import finite_or_none, undefined_note

# Identical embeddings have no spread: WEAT's effect size divides by it.
NOTE_NO_SPREAD = "the compared images' embeddings do not vary (identical or duplicate features)"
WHY_SMALL = "a group and its reference group need at least {need} items each"
WHY_NO_SPREAD = f"the effect size is undefined: {NOTE_NO_SPREAD}"
WHY_NO_SKEW = "MaxSkew and NDKL are undefined for this top-k"

SKEW_TEST = "hypergeometric, exact (Bonferroni over the attribute's groups)"


def association(
    embeddings: np.ndarray, attributes, label_emb: np.ndarray, classes: tuple[str, ...], settings: dict,
    reference_groups: dict, seed: int, *, max_per_group: int = 300, left_out: LeftOut | None = None,
) -> list[dict[str, Any]]:
    """iEAT: image groups (X = a group, Y = the reference group) vs two label sets (A, B).

    A comparison the data cannot support (a side with fewer items than
    ``NEEDS["association"].min_group_rows``, or no spread to measure an effect size against) is
    left out and recorded in ``left_out``.
    """
    left_out = left_out if left_out is not None else LeftOut(NEEDS["association"], [])
    min_rows = NEEDS["association"].min_group_rows
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
            if n < min_rows:
                left_out.add(WHY_SMALL.format(need=min_rows), f"{attr}: {value} ({len(x_idx)}) vs {ref} ({len(y_idx)})")
                continue
            xs = np.sort(rng.choice(x_idx, n, replace=False))
            ys = np.sort(rng.choice(y_idx, n, replace=False))
            res = weat(embeddings[xs], embeddings[ys], A, B, n_perm=settings["n_perm_paired"], seed=seed)
            numbers = {key: finite_or_none(res[key]) for key in ("effect_size", "statistic", "p_value")}
            if numbers["effect_size"] is None:
                left_out.add(WHY_NO_SPREAD, f"{attr}: {value} vs {ref}")
                continue
            row = {
                "attribute": attr, "x_group": value, "y_group": ref, "a_set": a_name, "b_set": b_name,
                "a_labels": a_labels, "b_labels": b_labels, **numbers, "n_x": n, "n_y": n, "test": res["test"],
            }
            note = undefined_note(numbers, NOTE_NO_SPREAD)
            if note:
                row["note"] = note
            rows.append(row)
    return rows


def retrieval_skew(similarities: np.ndarray, attributes, classes: tuple[str, ...], k: int, *,
                   left_out: LeftOut | None = None) -> dict[str, Any]:
    """MaxSkew@k and NDKL per label and attribute (desired = prevalence in the audited set).

    A (label, attribute) whose MaxSkew or NDKL is undefined is left out and recorded in ``left_out``.

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
            numbers = {
                "max_skew": finite_or_none(max_skew(scores, groups, k, desired="prevalence")),
                "ndkl": finite_or_none(ndkl(scores, groups, k, desired="prevalence")),
                "p_value": finite_or_none(min(1.0, p * len(values))),  # Bonferroni over the possible maxima
            }
            if numbers["max_skew"] is None or numbers["ndkl"] is None:
                if left_out is not None:
                    left_out.add(WHY_NO_SKEW, f"{label}: {attr}")
                continue
            per_attr[attr] = {
                "max_skew": numbers["max_skew"],
                "group": str(values[best]),
                "ndkl": numbers["ndkl"],
                "p_value": numbers["p_value"],
                "top_k_shares": {str(v): float(t / k) for v, t in zip(values, top_counts)},
                "test": SKEW_TEST,
            }
            note = undefined_note(numbers, f"the top {k} items cannot be compared with the audited set")
            if note:
                per_attr[attr]["note"] = note
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
            entry = {
                "cramers_v": finite_or_none(cramers_v(groups, labels)),
                "nmi": finite_or_none(normalized_mutual_info(groups, labels)),
                "theils_u": finite_or_none(theils_u(labels, groups)),
            }
            note = undefined_note(entry, "an association needs at least two labels and two groups")
            if note:
                entry["note"] = note
            out["stereotype"][attr] = entry
    return out


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return value
