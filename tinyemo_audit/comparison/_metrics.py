"""Every metric of two runs side by side: the change (new − base) and, where both runs carry the counts, its CI.

A **metric** is a number of results.json at a path (``disparities.skin_group.accuracy_difference``):
a statistic's ``value`` or a plain number. Lists are keyed by what their records are about
(twin shifts by value, true class and label; associations by attribute and groups; text-probe
shifts by value, emotion and label), so that both runs name the same metric the same way.

**CIs.** A proportion (accuracy, TPR, FPR, selection rate, flip rate) carries its count and
trials (a TPR's are the class's positives, an FPR's its negatives: :func:`_class_trials`), and a
disparity carries each group's; the change then gets a 95 % parametric-bootstrap
interval: each run's counts are redrawn as independent binomials at their observed rates
(:data:`N_DRAWS` draws, seeded), the statistic recomputed (a proportion, the max − min or min / max
of the groups' rates) and the change's 2.5 and 97.5 percentiles taken. Runs on the same items are
paired, so treating them as independent makes the interval conservative (wider). A metric without
counts (a mean shift, an effect size, a skew, a count of findings) gets its change and
``note`` :data:`NO_COUNTS`, no CI.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

N_DRAWS = 2000
CI_METHOD = (f"parametric bootstrap: both runs' counts redrawn as independent binomials ({N_DRAWS} draws), "
             "95% percentile interval")
NO_COUNTS = "no CI: the runs do not carry the counts this difference needs"
# Sections that hold no comparable metric (identities of a run, per-point data, rendering), or are compared elsewhere.
SKIPPED_SECTIONS = ("schema_version", "run", "methods", "gates", "clusters", "findings", "causes")
# Numbers inside a record that describe a statistic rather than being a metric of their own.
DESCRIPTIVE = frozenset({
    "p_value", "q_value", "ci_low", "ci_high", "n", "n_changed", "n_to_label", "n_from_label", "prob_reference",
    "prob_value", "n_x", "n_y", "k", "statistic", "n_tests", "severity", "rank",
})
SKIPPED_KEYS = frozenset({"by_group", "trials_by_group", "successes_by_group", "top_k_shares", "confusion",
                          "transitions", "templates", "neutral_templates", "a_labels", "b_labels"})
PROPORTION_KEYS = frozenset({"accuracy", "flip_rate"})
PROPORTION_PARENTS = frozenset({"tpr", "fpr", "selection_rate", "per_class", "pairs"})


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


def _class_trials(node: Any, classes: list) -> Any:
    """A performance node (``overall`` or a group) whose TPR, FPR and recall leaves carry their own trials as ``n``.

    results.json gives these rates the node's size as ``n``; their trials are the class's positives
    (TPR, recall) or negatives (FPR), which the node's confusion matrix (rows: true class) holds.
    Without a usable matrix ``n`` is dropped, so that no CI is drawn from the wrong trials.
    """
    if not isinstance(node, Mapping):
        return node
    try:
        matrix = np.asarray(node.get("confusion"), dtype=float)
    except (TypeError, ValueError):
        matrix = np.zeros((0, 0))
    usable = matrix.ndim == 2 and matrix.shape == (len(classes), len(classes))
    positives = dict(zip(map(str, classes), matrix.sum(axis=1))) if usable else {}
    out = dict(node)
    for key in ("tpr", "fpr", "per_class"):
        if isinstance(node.get(key), Mapping):
            out[key] = {
                cls: {**leaf, "n": int(matrix.sum() - positives[cls] if key == "fpr" else positives[cls])}
                if cls in positives else {k: v for k, v in leaf.items() if k != "n"}
                for cls, leaf in node[key].items() if isinstance(leaf, Mapping)}
    return out


def _keyed_lists(section: str, node: Any, classes: list) -> Any:
    """The lists of a section as mappings keyed by what each record is about (and rates' trials made right)."""
    if section == "performance" and isinstance(node, Mapping):
        by_attribute = {attr: {**entry, "groups": {g: _class_trials(v, classes) for g, v in entry["groups"].items()}}
                        if isinstance(entry, Mapping) and isinstance(entry.get("groups"), Mapping) else entry
                        for attr, entry in (node.get("by_attribute") or {}).items()}
        return {**node, "overall": _class_trials(node.get("overall"), classes), "by_attribute": by_attribute}
    if section == "counterfactual" and isinstance(node, Mapping):
        out = {}
        for attr, entry in node.items():
            if not isinstance(entry, Mapping):
                continue
            entry = dict(entry)
            shifts: dict[str, Any] = {}
            for row in entry.get("shifts") or []:
                shifts.setdefault(str(row.get("value")), {}).setdefault(str(row.get("true_class")), {})[
                    str(row.get("label"))] = {"prob_shift": row.get("prob_shift"), "mean_shift": row.get("mean_shift")}
            entry["shifts"] = shifts
            out[attr] = entry
        return out
    if section == "association" and isinstance(node, list):
        out: dict[str, Any] = {}
        for row in node:
            if isinstance(row, Mapping):
                out.setdefault(str(row.get("attribute")), {})[f"{row.get('x_group')}|{row.get('y_group')}"] = {
                    "effect_size": row.get("effect_size")}
        return out
    if section == "text_probes" and isinstance(node, Mapping):
        out = {}
        for attr, entry in (node.get("by_attribute") or {}).items():
            shifts: dict[str, Any] = {}
            for row in (entry or {}).get("shifts") or []:
                shifts.setdefault(str(row.get("value")), {}).setdefault(str(row.get("emotion")), {})[
                    str(row.get("label"))] = {"mean_shift": row.get("mean_shift")}
            out[attr] = shifts
        return {"by_attribute": out}
    return node


def _leaves(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, Mapping):
        if _is_number(node.get("value")) or ("value" in node and node.get("value") is None and "ci_low" in node):
            yield path, node
            return
        for key, child in node.items():
            if key in SKIPPED_KEYS or key in DESCRIPTIVE:
                continue
            yield from _leaves(child, path + (str(key),))
    elif _is_number(node):
        yield path, node


def metric_leaves(results: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """Every metric of ``results``: path (a tuple of keys) → a statistic mapping or a plain number."""
    out: dict[tuple[str, ...], Any] = {}
    run = results.get("run")
    classes = list(run.get("classes") or []) if isinstance(run, Mapping) else []
    for section, node in results.items():
        if section in SKIPPED_SECTIONS:
            continue
        out.update(_leaves(_keyed_lists(section, node, classes), (section,)))
    return out


def _value(leaf: Any) -> float | None:
    value = leaf.get("value") if isinstance(leaf, Mapping) else leaf
    return float(value) if _is_number(value) else None


def _counts(path: tuple[str, ...], leaf: Any) -> tuple[str, np.ndarray, np.ndarray] | None:
    """(kind, successes, trials) when the leaf carries its counts; kinds: proportion, difference, ratio."""
    if not isinstance(leaf, Mapping):
        return None
    hits, trials = leaf.get("successes_by_group"), leaf.get("trials_by_group")
    if isinstance(hits, Mapping) and isinstance(trials, Mapping) and hits and set(hits) == set(trials):
        groups = sorted(trials)
        kind = "ratio" if path[-1].endswith("_ratio") else "difference"
        return kind, np.array([hits[g] for g in groups], float), np.array([trials[g] for g in groups], float)
    n = leaf.get("n")
    is_proportion = path[-1] in PROPORTION_KEYS or (len(path) > 1 and path[-2] in PROPORTION_PARENTS)
    if is_proportion and isinstance(n, int) and n > 0 and _is_number(leaf.get("value")):
        return "proportion", np.array([round(float(leaf["value"]) * n)], float), np.array([n], float)
    return None


def _statistic(kind: str, rates: np.ndarray) -> np.ndarray:
    if kind == "proportion":
        return rates[:, 0]
    if kind == "difference":
        return rates.max(axis=1) - rates.min(axis=1)
    top = rates.max(axis=1)
    return np.divide(rates.min(axis=1), top, out=np.ones_like(top), where=top > 0)


def _draws(kind: str, hits: np.ndarray, trials: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    keep = trials > 0
    hits, trials = hits[keep], trials[keep]
    drawn = rng.binomial(trials.astype(np.int64)[None, :], (hits / trials)[None, :], size=(N_DRAWS, len(trials)))
    return _statistic(kind, drawn / trials[None, :])


def change_of(path: tuple[str, ...], base: Any, new: Any, *, seed: int = 0) -> dict[str, Any]:
    """The change of one metric from ``base`` to ``new`` (leaves as :func:`metric_leaves` gives them)."""
    b, n = _value(base), _value(new)
    entry: dict[str, Any] = {"value": None if b is None or n is None else n - b, "base": b, "new": n,
                             "ci_low": None, "ci_high": None}
    counted = _counts(path, base), _counts(path, new)
    if entry["value"] is not None and all(c is not None for c in counted) and counted[0][0] == counted[1][0]:
        rng = np.random.default_rng([seed, len(path)])
        diff = _draws(counted[1][0], *counted[1][1:], rng) - _draws(counted[0][0], *counted[0][1:], rng)
        entry["ci_low"], entry["ci_high"] = (float(x) for x in np.percentile(diff, [2.5, 97.5]))
        entry["ci_method"] = CI_METHOD
    else:
        entry["note"] = NO_COUNTS if entry["value"] is not None else (
            "only in the new run" if b is None else "only in the baseline run")
    return entry


def metric_changes(base: Mapping[str, Any], new: Mapping[str, Any], *, seed: int = 0) -> list[dict[str, Any]]:
    """Every metric of either run with its change, in the new run's order (then the baseline's).

    Returns
    -------
    list of dict
        ``{"path", "keys", "value" (new − base), "base", "new", "ci_low", "ci_high", "ci_method" | "note"}``
        (``keys``: the path's keys, which may themselves hold dots);
        a metric of one run only has ``value`` null and says which run has it.
    """
    before, after = metric_leaves(base), metric_leaves(new)
    paths = list(after) + [p for p in before if p not in after]
    return [{"path": ".".join(p), "keys": list(p), **change_of(p, before.get(p), after.get(p), seed=seed)}
            for p in paths]


def change_tree(changes: list[dict[str, Any]], new: Mapping[str, Any]) -> dict[str, Any]:
    """The changes nested as results.json nests its metrics, with the new run's ``run``: what change gates walk."""
    tree: dict[str, Any] = {"run": new.get("run")}
    for change in changes:
        node = tree
        *parents, last = change["keys"]
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = {k: v for k, v in change.items() if k not in ("path", "keys")}
    return tree
