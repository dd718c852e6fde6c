"""Probes of the projected embedding space: iEAT associations and retrieval skew (and its paired change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import hypergeom

from ..metrics import weat
from ._requirements import NEEDS, LeftOut
from ._results_guard import finite_or_none, undefined_note

# Identical embeddings have no spread: WEAT's effect size divides by it.
NOTE_NO_SPREAD = "the compared images' embeddings do not vary (identical or duplicate features)"
WHY_SMALL = "a group and its reference group need at least {need} items each"
WHY_NO_SPREAD = f"the effect size is undefined: {NOTE_NO_SPREAD}"
WHY_NO_SKEW = "MaxSkew and NDKL are undefined for this top-k"

SKEW_TEST = "hypergeometric, exact (Bonferroni over the attribute's groups)"


def association_plan(attributes, classes: tuple[str, ...], settings: dict, reference_groups: dict, seed: int, *,
                     max_per_group: int = 300, left_out: LeftOut | None = None) -> list[dict[str, Any]]:
    """The iEAT comparisons the data supports, each with its seeded rows ``xs`` and ``ys`` (sorted).

    Only these rows' embeddings are needed (:func:`association`); a streamed audit gathers them in
    its one pass. A comparison with a side smaller than ``NEEDS["association"].min_group_rows`` is
    recorded in ``left_out``.
    """
    from ._groups import attribute_codes

    left_out = left_out if left_out is not None else LeftOut(NEEDS["association"], [])
    min_rows = NEEDS["association"].min_group_rows
    sets = settings["association_sets"]
    (a_name, a_labels), (b_name, b_labels) = list(sets.items())[:2]
    a_labels = [x for x in a_labels if x in classes]
    b_labels = [x for x in b_labels if x in classes]
    if not a_labels or not b_labels:
        return []
    rng = np.random.default_rng(seed)
    plan = []
    for attr in attributes.columns:
        values, codes = attribute_codes(attributes[attr])
        values = [str(v) for v in values]
        ref = reference_groups.get(attr, values[0])
        ref = ref if ref in values else values[0]
        y_idx = np.flatnonzero(codes == values.index(ref))
        for code, value in enumerate(values):
            if value == ref:
                continue
            x_idx = np.flatnonzero(codes == code)
            n = min(len(x_idx), len(y_idx), max_per_group)  # equal sizes, as WEAT's partitions need
            if n < min_rows:
                left_out.add(WHY_SMALL.format(need=min_rows), f"{attr}: {value} ({len(x_idx)}) vs {ref} ({len(y_idx)})")
                continue
            xs = np.sort(rng.choice(x_idx, n, replace=False))
            ys = np.sort(rng.choice(y_idx, n, replace=False))
            plan.append({"attribute": attr, "x_group": value, "y_group": ref, "a_set": a_name, "b_set": b_name,
                         "a_labels": a_labels, "b_labels": b_labels, "xs": xs, "ys": ys})
    return plan


def association(
    embeddings, attributes, label_emb: np.ndarray, classes: tuple[str, ...], settings: dict,
    reference_groups: dict, seed: int, *, max_per_group: int = 300, left_out: LeftOut | None = None,
    plan: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """iEAT: image groups (X = a group, Y = the reference group) vs two label sets (A, B).

    A comparison the data cannot support (a side with fewer items than
    ``NEEDS["association"].min_group_rows``, or no spread to measure an effect size against) is
    left out and recorded in ``left_out``. ``embeddings`` is indexed by the plan's rows only
    (an array, or a :class:`~tinyemo_audit.audit._streamed.GatheredRows`); ``plan`` is
    :func:`association_plan`'s, computed here when not given.
    """
    left_out = left_out if left_out is not None else LeftOut(NEEDS["association"], [])
    if plan is None:
        plan = association_plan(attributes, classes, settings, reference_groups, seed,
                                max_per_group=max_per_group, left_out=left_out)
    rows = []
    for item in plan:
        A = label_emb[[classes.index(x) for x in item["a_labels"]]]
        B = label_emb[[classes.index(x) for x in item["b_labels"]]]
        xs, ys = item["xs"], item["ys"]
        res = weat(embeddings[xs], embeddings[ys], A, B, n_perm=settings["n_perm_paired"], seed=seed)
        numbers = {key: finite_or_none(res[key]) for key in ("effect_size", "statistic", "p_value")}
        attr, value, ref = item["attribute"], item["x_group"], item["y_group"]
        if numbers["effect_size"] is None:
            left_out.add(WHY_NO_SPREAD, f"{attr}: {value} vs {ref}")
            continue
        row = {
            "attribute": attr, "x_group": value, "y_group": ref, "a_set": item["a_set"], "b_set": item["b_set"],
            "a_labels": item["a_labels"], "b_labels": item["b_labels"], **numbers, "n_x": len(xs), "n_y": len(ys),
            "test": res["test"],
        }
        note = undefined_note(numbers, NOTE_NO_SPREAD)
        if note:
            row["note"] = note
        rows.append(row)
    return rows


def top_rows(similarities: np.ndarray, k: int) -> np.ndarray:
    """Per class, the ``k`` rows of highest similarity, best first, ties by row: shape (K, k)."""
    from ._streamed import TopK

    top = TopK(similarities.shape[1], k)
    top.add(0, similarities)
    return top.rows()


def retrieval_skew(top: np.ndarray, n: int, attributes, classes: tuple[str, ...], *,
                   left_out: LeftOut | None = None) -> dict[str, Any]:
    """MaxSkew@k and NDKL per label and attribute (desired = prevalence in the audited set).

    ``top[c]`` are the k rows most similar to label ``c``, best first (:func:`top_rows`, or a
    streamed pass's running top k); ``n`` is the number of audited items. A (label, attribute)
    whose MaxSkew or NDKL is undefined is left out and recorded in ``left_out``.

    The p-value of the most over-represented group is exact: under no association its count in
    the top k is hypergeometric (N items, n_a of the group, k drawn).
    """
    from ..metrics import ranked_skew
    from ._groups import attribute_codes

    k = int(top.shape[1])
    out: dict[str, Any] = {"k": k, "desired": "prevalence", "by_label": {}}
    coded = {attr: attribute_codes(attributes[attr]) for attr in attributes.columns}
    for c, label in enumerate(classes):
        per_attr = {}
        for attr, (values, codes) in coded.items():
            counts = np.bincount(codes, minlength=len(values))
            top_codes = codes[top[c]]
            top_counts = np.bincount(top_codes, minlength=len(values))
            ratio = np.where(top_counts > 0, (top_counts / k) / (counts / n), 0.0)
            best = int(np.argmax(ratio))
            p = float(hypergeom.sf(top_counts[best] - 1, n, counts[best], k))
            skew, divergence = ranked_skew(top_codes, counts)
            numbers = {
                "max_skew": finite_or_none(skew),
                "ndkl": finite_or_none(divergence),
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


@dataclass(frozen=True)
class RetrievalScores:
    """What retrieval skew ranked, per item (results.json keeps only the top k's shares).

    An in-memory audit hands it back (``RunOutcome.retrieval``) so that two audits of the same
    items can test a skew's change paired (:func:`skew_change_test`).
    """

    similarities: np.ndarray  # (n, K): each item's score for each label
    attributes: Any  # DataFrame: each item's protected attributes
    classes: tuple[str, ...]
    k: int
    items: Any = None  # the audited Dataset (its encoder features score other fits: mitigation._refits)


def skew_cell(scores: RetrievalScores, finding: dict[str, Any]) -> tuple[int, np.ndarray] | None:
    """A retrieval-skew finding's label (its column in ``scores``) and group (which items are members); else None.

    None for a finding of another kind, or one whose label, attribute or group ``scores`` lacks.
    """
    from ._groups import attribute_codes

    label = (finding.get("outcome") or {}).get("target")
    attr, groups = finding.get("attribute"), finding.get("groups") or []
    if (finding.get("kind") != "skew" or label not in scores.classes or attr not in scores.attributes.columns
            or len(groups) != 1):
        return None
    values, codes = attribute_codes(scores.attributes[attr])
    if groups[0] not in values:
        return None
    return scores.classes.index(label), codes == int(np.flatnonzero(values == groups[0])[0])


def skew_change_test(before: RetrievalScores | None, after: RetrievalScores | None, *, n_perm: int, n_boot: int,
                     seed: int):
    """A ``change_test`` for :func:`tinyemo_audit.comparison.compare_results`: a new skew finding's paired test.

    For a retrieval-skew finding of the ``after`` audit ("the faces most like *label* are
    over-represented by *group*"), :func:`tinyemo_audit.metrics.paired_top_k_change` on the two
    audits' scores for that label: did the group gain places in the top k? One-sided (more of the
    group after), paired over the same items. None for any other finding, or when the two audits
    did not rank the same items by the same labels with the same k (nothing to pair).
    """
    from ..metrics import paired_top_k_change

    same = (before is not None and after is not None and before.k == after.k and before.classes == after.classes
            and before.similarities.shape == after.similarities.shape
            and before.attributes.equals(after.attributes))

    def test(finding: dict[str, Any]) -> dict[str, Any] | None:
        cell = skew_cell(after, finding) if same else None
        if cell is None:
            return None
        c, member = cell
        out = paired_top_k_change(before.similarities[:, c], after.similarities[:, c], member, after.k,
                                  n_perm=n_perm, n_boot=n_boot, seed=seed)
        group = finding["groups"][0]
        return {"statistic": f"count of {finding['attribute']} {group} among the top {after.k} for "
                             f"{after.classes[c]}", **out}

    return test


def dataset_bias(true: np.ndarray | None, attributes, classes: tuple[str, ...]) -> dict[str, Any]:
    """Representation of each attribute and its association with the label in the audited data (from counts)."""
    from ..metrics import cramers_v_table, normalized_mutual_info_table, representation_counts, theils_u_table
    from ._groups import attribute_codes

    out: dict[str, Any] = {"representation": {}, "stereotype": {}}
    for attr in attributes.columns:
        values, codes = attribute_codes(attributes[attr])
        rep = representation_counts(values.tolist(), np.bincount(codes, minlength=len(values)))
        out["representation"][attr] = {key: _plain(v) for key, v in rep.items()}
        if true is not None:
            # group x label counts, over the labels that occur (as a crosstab of the two columns)
            table = np.bincount(codes * len(classes) + true, minlength=len(values) * len(classes))
            table = table.reshape(len(values), len(classes))
            present = np.flatnonzero(table.sum(axis=0) > 0)
            # Columns ordered by label name, as a crosstab of the label names orders them (same sums, same bits).
            table = table[:, present[np.argsort(np.asarray(classes, dtype=str)[present], kind="stable")]]
            entry = {
                "cramers_v": finite_or_none(cramers_v_table(table)),
                "nmi": finite_or_none(normalized_mutual_info_table(table)),
                "theils_u": finite_or_none(theils_u_table(table.T)),
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
