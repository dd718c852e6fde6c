"""Bias size in points: the annotation rate whose projector moves the target cell's P(to_label) by that much."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..model.classifier import classify, project
from ..model.config import TrainConfig
from ._pool import FeaturePool
from ._trials import TARGET, fit_planted

# Seeds used only to calibrate, never by a trial (trials use seeds below 10 000).
CALIBRATION_SEEDS = (10_001, 10_002)
CALIBRATION_RATES = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
# A trial's realised bias must lie within this share of the planted size (10 points: 9 to 11).
TOLERANCE = 0.1
MAX_FITS = 8  # fits a trial may spend searching its annotation rate
RATE_STEP = 0.05  # how far the search steps up while no rate above the target is known


def target_cell(pool: FeaturePool, split: str = "test") -> np.ndarray:
    """Rows of ``split`` in the planted cell (attribute = value, true label = from_label)."""
    attrs = pool.attributes[split]
    return (attrs[TARGET["attribute"]].to_numpy(str) == TARGET["value"]) & (
        pool.true_labels[split] == pool.classes.index(TARGET["from_label"])
    )


def cell_probability(model, pool: FeaturePool) -> float:
    """Mean P(to_label) the model gives the whole test pool's target-cell faces."""
    rows = target_cell(pool)
    preds = classify(model, project(model, pool.features["test"][rows]), pool.classes)
    return float(preds.probabilities[:, pool.classes.index(TARGET["to_label"])].mean())


def calibrate(pool: FeaturePool, train_config: TrainConfig, *, rates=CALIBRATION_RATES,
              seeds=CALIBRATION_SEEDS) -> dict[str, Any]:
    """Effect (points of P(to_label) on the target cell, over the clean fit of the same seed) per rate."""
    effects = np.zeros((len(seeds), len(rates)))
    for i, seed in enumerate(seeds):
        for j, rate in enumerate(rates):
            model = fit_planted(pool, rate, seed, train_config)
            effects[i, j] = cell_probability(model, pool)
        effects[i] -= effects[i, 0]
    return {"rates": [float(r) for r in rates], "seeds": [int(s) for s in seeds],
            "effect_points": np.round(100 * effects.mean(axis=0), 2).tolist(),
            "effect_points_by_seed": np.round(100 * effects, 2).tolist()}


def rate_for_points(points: float, calibration: dict[str, Any]) -> float:
    """Annotation rate giving ``points`` of effect, by linear interpolation of the (monotone) curve."""
    if points <= 0:
        return 0.0
    effect = np.maximum.accumulate(np.asarray(calibration["effect_points"], dtype=float))
    return float(np.interp(points, effect, calibration["rates"]))


@dataclass
class Planted:
    """The outcome of a rate search: the rate kept, its realised effect and what it produced."""

    rate: float
    effect_points: float
    fits: int
    within_tolerance: bool
    payload: Any = None


def search_rate(effect_of: Callable[[float], tuple[float, Any]], points: float, guess: float, *,
                tolerance: float = TOLERANCE, max_fits: int = MAX_FITS) -> Planted:
    """The annotation rate whose realised effect is ``points`` within ``tolerance`` (a share of it).

    ``effect_of(rate)`` fits a stack and returns (effect in points, anything to keep). The search
    starts at ``guess`` (the calibration curve's rate), steps up by ``RATE_STEP`` until it has a
    rate above the target, then bisects; it stops within tolerance or after ``max_fits`` fits and
    keeps the rate whose effect came closest. The realised effect of one fit is noisy in the rate
    (which items are relabelled, and the fit itself, change with it), so the search needs only a
    rate below and one above the target, not a monotone curve.
    """
    low, high, rate = 0.0, None, min(max(guess, 0.0), 1.0)
    best: Planted | None = None
    for fits in range(1, max_fits + 1):
        effect, payload = effect_of(rate)
        close = bool(abs(effect - points) <= tolerance * points)
        if best is None or abs(effect - points) < abs(best.effect_points - points):
            best = Planted(rate, float(effect), fits, close, payload)
        if close or (effect < points and rate >= 1.0):
            break
        if effect < points:
            low = rate
        else:
            high = rate
        rate = (low + high) / 2 if high is not None else min(1.0, rate + RATE_STEP)
    return replace(best, fits=fits)  # every fit spent counts, not only those up to the closest


def plant_points(pool: FeaturePool, points: float, seed: int, train_config: TrainConfig,
                 calibration: dict[str, Any], clean_probability: float) -> Planted:
    """A projector trained with a realised ``points``-point bias (``payload``: the fitted model).

    ``clean_probability`` is :func:`cell_probability` of the clean projector of the same seed.
    """
    def effect_of(rate: float):
        model = fit_planted(pool, rate, seed, train_config)
        return 100 * (cell_probability(model, pool) - clean_probability), model

    return search_rate(effect_of, points, rate_for_points(points, calibration))


# ``calibrate(load_pool(), TRIAL_TRAINING)`` as measured on faces renderer v4 (docs/validity.md).
# Every trial's rate search starts from it; the full plan measures the curve again first.
STORED_CALIBRATION: dict[str, Any] = {
    "rates": [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5],
    "seeds": [10001, 10002],
    "effect_points": [0.0, 0.23, 0.84, 1.28, 2.01, 5.63, 10.5, 38.92],
    "effect_points_by_seed": [[0.0, 0.3, 0.69, 0.7, 1.74, 6.11, 8.1, 41.01],
                              [0.0, 0.16, 0.99, 1.87, 2.29, 5.15, 12.91, 36.83]],
}
