"""Post-processing per protected group, fitted on validation data; it uses the attribute at prediction time.

Two decisions (written into the bundle as ``decision``, applied by :mod:`tinyemo_audit.model.steps`):

- **group offsets** (the multiclass decision): for each target emotion and each group, one offset
  added to that emotion's logit, chosen so that the group's TPR and FPR of the target (one-vs-rest)
  come as close as a single offset allows to the overall rates of the unadjusted model: the offset
  minimises ``max(|TPR_g − TPR|, |FPR_g − FPR|)`` (the equalized-odds gap), the smallest such
  offset in magnitude on ties. ``rates="decisions"`` counts predicted labels (Hardt et al.'s
  rates); ``rates="scores"`` uses their soft form, the mean P(target) over the group's items of the
  target and of the other classes (Kleinberg et al. 2016's balance for the positive and negative
  class), which also moves the probabilities of items whose label does not change.
- **one-vs-rest thresholds**: fairlearn's ``ThresholdOptimizer`` (equalized odds, balanced
  accuracy) on P(target) for "is this item the target?"; its per-group randomised thresholds are
  stored as data.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..model.steps import group_key

OFFSET_GRID = np.round(np.linspace(-8.0, 8.0, 321), 6)  # logit units, steps of 0.05
PROBABILITY_BOUNDS = (-1.0, 2.0)  # an infinite threshold on a probability, stored as finite JSON


def target_margins(logits: np.ndarray, target: int) -> np.ndarray:
    """How much the target's logit must rise for the target to be predicted: ``max_other − logit_target``."""
    others = np.delete(logits, target, axis=1)
    return others.max(axis=1) - logits[:, target]


RATES = ("decisions", "scores")
# fairlearn's names: which of the target's rates a group must match (Hardt et al.; predictive equality is FPR parity)
CONSTRAINTS = ("equalized_odds", "false_positive_rate_parity", "true_positive_rate_parity")


def soft_margins(logits: np.ndarray, target: int) -> np.ndarray:
    """``logsumexp(other logits) − logit_target``: P(target) after an offset b is ``sigmoid(b − margin)``."""
    others = np.delete(logits, target, axis=1)
    top = others.max(axis=1)
    return top + np.log(np.exp(others - top[:, None]).sum(axis=1)) - logits[:, target]


def _rates(margins: np.ndarray, positive: np.ndarray, grid: np.ndarray, rates: str) -> tuple[np.ndarray, np.ndarray]:
    """TPR and FPR of the target (hard or soft, see the module docstring) for every offset of ``grid``."""
    def share(m):
        if not len(m):
            return np.zeros(len(grid))
        if rates == "scores":
            return (1.0 / (1.0 + np.exp(np.clip(m[None, :] - grid[:, None], -60, 60)))).mean(axis=1)
        return np.searchsorted(np.sort(m), grid, side="left") / len(m)

    return share(margins[positive]), share(margins[~positive])


def fit_offsets(logits: np.ndarray, labels: np.ndarray, keys: np.ndarray, target: int,
                grid: np.ndarray = OFFSET_GRID, *, rates: str = "decisions",
                constraint: str = "equalized_odds") -> dict[str, float]:
    """Per-group offset of the ``target`` logit that best equalises its TPR and FPR (module docstring).

    Parameters
    ----------
    logits : float ``[N, K]``
        Validation logits (similarity / temperature), with any offsets already fitted for other targets.
    labels : int ``[N]``
    keys : ``[N]``
        Each item's group key.
    target : int
    rates : {"decisions", "scores"}
        Hard rates of predicted labels, or their soft form (mean P(target)).
    constraint : {"equalized_odds", "false_positive_rate_parity", "true_positive_rate_parity"}
        Which gap the offset closes: the larger of the TPR and FPR gaps, or one of them.

    Returns
    -------
    dict
        group key → offset (logit units).
    """
    margins = soft_margins(logits, target) if rates == "scores" else target_margins(logits, target)
    positive = labels == target
    tpr_all, fpr_all = (float(r[0]) for r in _rates(margins, positive, np.zeros(1), rates))
    out = {}
    for key in np.unique(keys):
        rows = keys == key
        tpr, fpr = _rates(margins[rows], positive[rows], grid, rates)
        tpr_gap = np.abs(tpr - tpr_all) if positive[rows].any() and constraint != "false_positive_rate_parity" else 0.0
        fpr_gap = np.abs(fpr - fpr_all) if (~positive[rows]).any() and constraint != "true_positive_rate_parity" else 0.0
        gap = np.maximum(tpr_gap, fpr_gap) + np.zeros(len(grid))
        best = np.flatnonzero(gap <= gap.min() + 1e-12)
        out[str(key)] = float(grid[best[np.argmin(np.abs(grid[best]))]])
    return out


def group_offsets(logits: np.ndarray, labels: np.ndarray, groups: list[dict[str, str]], names: list[str],
                  targets: list[int], classes: tuple[str, ...], *, rates: str = "decisions",
                  constraint: str = "equalized_odds") -> list[dict[str, Any]]:
    """Offsets for every target in turn (each fitted after the previous ones are applied), as bundle rows."""
    keys = np.array([group_key(g, names) for g in groups], dtype=object)
    logits = np.array(logits, dtype=np.float64)
    found: dict[str, dict[str, float]] = {k: {} for k in dict.fromkeys(keys)}
    for target in targets:
        offsets = fit_offsets(logits, labels, keys, target, rates=rates, constraint=constraint)
        for key, value in offsets.items():
            found[key][classes[target]] = value
        logits[:, target] += np.array([offsets[k] for k in keys])
    first = {group_key(g, names): g for g in groups}
    return [{"group": first[k], "logits": found[k]} for k in found]


def _score_column():
    """A fitted 'estimator' whose prediction is its one input column: P(target) as ThresholdOptimizer's score."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class ScoreColumn(ClassifierMixin, BaseEstimator):
        def fit(self, X, y=None):  # noqa: N803 - sklearn's names
            self.fitted_ = True
            return self

        def predict(self, X):  # noqa: N803
            return np.asarray(X)[:, 0]

    return ScoreColumn().fit(None)


def _finite(threshold: float) -> float:
    low, high = PROBABILITY_BOUNDS
    return float(low if threshold == -np.inf else high if threshold == np.inf else threshold)


def fit_threshold_optimizer(score: np.ndarray, is_target: np.ndarray, groups: list[dict[str, str]], names: list[str],
                            *, constraint: str = "equalized_odds") -> list[dict[str, Any]]:
    """fairlearn ``ThresholdOptimizer`` (``constraint``, default equalized odds) on one score; its per-group operations as data.

    Each group's rule is a mixture: with probability ``p`` an item is judged by ``score > threshold``
    (or ``<``). fairlearn's "ignore the score" share becomes an operation whose threshold no
    probability crosses.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    keys = np.array([group_key(g, names) for g in groups], dtype=object)
    optimizer = ThresholdOptimizer(estimator=_score_column(), constraints=constraint,
                                   objective="balanced_accuracy_score", prefit=True, predict_method="predict")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # prefit checks: the score column needs no fitting
        optimizer.fit(np.asarray(score, dtype=np.float64)[:, None], np.asarray(is_target, dtype=int),
                      sensitive_features=keys)
    first = {group_key(g, names): g for g in groups}
    rows = []
    for key, rule in optimizer.interpolated_thresholder_.interpolation_dict.items():
        ignore = float(rule.get("p_ignore", 0.0))
        constant = float(rule.get("prediction_constant", 0.0))
        operations = []
        if ignore > 0:
            # a constant answer: a threshold every probability is above (yes) or below (no)
            operations.append({"p": ignore, "threshold": PROBABILITY_BOUNDS[0] if constant >= 0.5 else PROBABILITY_BOUNDS[1],
                               "operator": ">"})
        for i in (0, 1):
            p = (1.0 - ignore) * float(rule[f"p{i}"])
            if p > 0:
                op = rule[f"operation{i}"]
                operations.append({"p": p, "threshold": _finite(float(op.threshold)), "operator": op.operator})
        rows.append({"group": first[key], "operations": operations})
    return rows
