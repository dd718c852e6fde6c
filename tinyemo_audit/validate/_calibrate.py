"""Bias size in points: the annotation rate whose projector moves the target cell's P(to_label) by that much."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..model.classifier import classify, project
from ..model.config import TrainConfig
from ._pool import FeaturePool
from ._trials import TARGET, fit, plant

# Seeds used only to calibrate, never by a trial (trials use seeds below 10 000).
CALIBRATION_SEEDS = (10_001, 10_002)
CALIBRATION_RATES = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


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
            model = fit(pool, plant(pool, rate, seed), replace(train_config, seed=seed))
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


# ``calibrate(load_pool(), TRIAL_TRAINING)`` as measured (docs/validity.md); the quick plan uses it,
# the full plan measures the curve again.
STORED_CALIBRATION: dict[str, Any] = {
    "rates": [0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5],
    "seeds": [10001, 10002],
    "effect_points": [0.0, 0.91, 2.1, 2.22, 4.83, 9.32, 8.61, 47.22],
    "effect_points_by_seed": [[0.0, 0.93, 1.97, 1.13, 6.22, 6.49, 8.11, 51.29],
                              [0.0, 0.88, 2.23, 3.3, 3.45, 12.15, 9.11, 43.15]],
}
