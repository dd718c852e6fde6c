"""``validate``: power, false alarms, CI coverage and planted-slice precision@10 of the audit, measured."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..model.config import TrainConfig
from . import _calibrate, _coverage, _slices, _trials
from ._pool import FeaturePool, load_pool

# The trial recipe: the default bundle's projector settings with bigger batches, so a fit takes
# seconds on two CPU cores (the encoder is reused, never retrained).
TRIAL_TRAINING = TrainConfig(batch_size=256, max_lr=2e-3, epochs=5)
# Trial seeds are seed * 1000 + i and calibration uses seeds above 10 000: master seeds stay at most 8.
MAX_MASTER_SEED = 8
SLICE_RATE = 0.8  # share of the planted slice's training labels flipped (the model then errs there)


@dataclass(frozen=True)
class ValidationPlan:
    """How many trials of what. ``sizes`` pairs an audit's test items with its twins per attribute."""

    bias_points: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0)
    sizes: tuple[tuple[int, int], ...] = ((500, 105), (2000, 420))
    trials: int = 20
    clean_trials: int = 40
    coverage_sizes: tuple[int, ...] = (500, 2000)
    coverage_samples: int = 200
    slice_trials: int = 10
    slice_n: int = 2000
    recalibrate: bool = True
    train: TrainConfig = field(default_factory=lambda: TRIAL_TRAINING)

    def to_dict(self) -> dict[str, Any]:
        return {"bias_points": list(self.bias_points), "sizes": [list(s) for s in self.sizes],
                "trials": self.trials, "clean_trials": self.clean_trials,
                "coverage_sizes": list(self.coverage_sizes), "coverage_samples": self.coverage_samples,
                "slice_trials": self.slice_trials, "slice_n": self.slice_n, "recalibrate": self.recalibrate,
                "train": {k: getattr(self.train, k) for k in ("loss", "epochs", "batch_size", "max_lr",
                                                               "weight_decay", "dropout")}}


FULL = ValidationPlan()
QUICK = ValidationPlan(bias_points=(0.0, 10.0), sizes=((2000, 420),), trials=10, clean_trials=20,
                       coverage_sizes=(2000,), coverage_samples=60, slice_trials=2, recalibrate=False)

DEFINITIONS = {
    "bias": ("A b-point bias: biased annotators relabel a share r of the neutral dark-skinned faces "
             "(skin_group=dark, true label neutral) as angry in the train and val labels, and the projector "
             "trained on them (trial recipe) raises the mean P(angry) of the test pool's neutral dark-skinned "
             "faces by b points over the clean projector of the same seed. Each trial searches its own r "
             "(from the calibration curve's rate, stepping up then bisecting, at most 8 fits) until its "
             "realised effect is within 10 % of b; the realised effect, r and the fits used are in every "
             "planted trial row ('effect_points', 'rate', 'fits', 'within_tolerance'). 'calibration' holds "
             "the mean rate-to-points curve the search starts from (seeds no trial uses)."),
    "power": ("Share of trials with the bias planted in which a counted probe flags it in the planted "
              "direction: a counterfactual finding 'darker skin pushes neutral (or all) faces toward angry', "
              "or a disparity finding with dark as the worst group for the FPR of angry, the TPR of neutral "
              "or accuracy."),
    "false_alarm_rate": ("Share of trials with nothing planted that raise any finding from the counted "
                         "probes: group disparities (accuracy, TPR, FPR, selection rate, every class) and "
                         "counterfactual twins, over skin_group, gender and age."),
    "audit": ("Each trial audits n test items drawn without replacement from the 3 500-item test pool, plus "
              "twins per attribute, with the audit's own functions (_groups.disparities, "
              "_twins.counterfactual_probe, _findings.apply_fdr: one Benjamini–Hochberg over the trial's "
              "p-values, _findings.rank_findings with configs/audit/default.yaml's thresholds)."),
    "placebo_false_alarm_rate": ("Negative control: each clean-label stack audited again with every attribute "
                                 "column shuffled across the sample and every twin identity's attribute values "
                                 "shuffled, so no counted probe has a real effect to find; share of those audits "
                                 "with any counted finding."),
    "ci_coverage": ("Share of 95 % CIs of per-group accuracy (group_table's Wilson score intervals, as the audit reports them) "
                    "that contain the group's accuracy on the whole test pool, over audit samples of n items "
                    "drawn with replacement from the pool, every group of skin_group, gender and age; "
                    "predictions of the default bundle."),
    "precision_at_10": ("Domino's protocol: 80 % of the training labels of happy older masculine faces are "
                        "relabelled sad; on n test items, discovery (the audit's discover()) and a diagonal "
                        "GaussianMixture over the same projected embeddings (as many components as discovery "
                        "found clusters) each rank items by their cluster's error rate, then own error, then a "
                        "seeded tie-break; precision@10 = share of the top 10 in the planted slice (older, "
                        "masculine, truly happy), averaged over trials."),
}


def _wilson(k: int, n: int) -> tuple[float | None, float | None]:
    from ..metrics import wilson_interval

    if n == 0:
        return None, None
    low, high = wilson_interval(k, n)
    return float(low), float(high)


def _rate_row(hits: int, trials: int, **extra) -> dict[str, Any]:
    low, high = _wilson(hits, trials)
    return {**extra, "trials": trials, "hits": hits, "rate": hits / trials if trials else None,
            "ci_low": low, "ci_high": high}


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _trial_rows(pool, plan, settings, calibration, seed, progress) -> list[dict[str, Any]]:
    """Every trial of the plan, rows ordered by bias size, audit size, trial seed.

    One fit per (bias size, trial seed) serves every audit size. A clean trial's stack is the
    reference of the planted trials of the same seed; a planted trial searches its annotation rate
    until its realised bias is the planted size (``_calibrate.plant_points``).
    """
    clean: dict[int, tuple[Any, float]] = {}

    def clean_fit(trial_seed: int):
        if trial_seed not in clean:
            model = _trials.fit_planted(pool, 0.0, trial_seed, plan.train)
            clean[trial_seed] = (model, _calibrate.cell_probability(model, pool))
        return clean[trial_seed]

    cells: dict[tuple[float, int], list[dict[str, Any]]] = {}
    for points in plan.bias_points:
        count = plan.clean_trials if points == 0 else plan.trials
        _say(progress, f"trials: {points:g}-point bias, {count} trials, audits of n = "
                       + ", ".join(str(n) for n, _ in plan.sizes))
        for i in range(count):
            trial_seed = seed * 1000 + i + 1
            if points == 0:
                model, extra = clean_fit(trial_seed)[0], {}
                rate = 0.0
            else:
                planted = _calibrate.plant_points(pool, points, trial_seed, plan.train, calibration,
                                                  clean_fit(trial_seed)[1])
                model, rate = planted.payload, planted.rate
                extra = {"effect_points": round(planted.effect_points, 3), "fits": planted.fits,
                         "within_tolerance": planted.within_tolerance}
            for n, n_twins in plan.sizes:
                row = _trials.run_trial(pool, rate=rate, n=n, n_twins=n_twins, seed=trial_seed, settings=settings,
                                        train_config=plan.train, placebo=points == 0, model=model)
                cells.setdefault((points, n), []).append({"bias_points": float(points), **row, **extra})
    return [row for points in plan.bias_points for n, _ in plan.sizes for row in cells.get((points, n), [])]


def _coverage_rows(pool, plan, settings, seed, progress) -> list[dict[str, Any]]:
    from ..model.bundle import load_bundle
    from ..model.classifier import classify, project

    bundle = load_bundle(pool.encoder_record["bundle"])
    predicted = classify(bundle, project(bundle, pool.features["test"]), pool.classes).predicted
    out = []
    for n in plan.coverage_sizes:
        _say(progress, f"CI coverage: n = {n}, {plan.coverage_samples} samples")
        out.append(_coverage.accuracy_coverage(
            pool.true_labels["test"], predicted, pool.attributes["test"][list(pool.audited)], n=n,
            n_samples=plan.coverage_samples, n_boot=settings["n_boot"], seed=seed,
        ))
    return out


def _slice_rows(pool: FeaturePool, plan, settings, seed, progress) -> list[dict[str, Any]]:
    from ..model.classifier import classify, project

    _say(progress, f"planted slices: {plan.slice_trials} trials, n = {plan.slice_n}")
    rows = []
    to_label = pool.classes.index(_slices.SLICE_TO)
    for i in range(plan.slice_trials):
        trial_seed = seed * 1000 + i + 1
        labels = {
            split: _slices.plant_slice(
                pool.true_labels[split], _slices.slice_mask(pool.attributes[split], pool.true_labels[split],
                                                            pool.classes),
                to_label, SLICE_RATE, trial_seed,
            )
            for split in ("train", "val")
        }
        model = _trials.fit(pool, labels, replace(plan.train, seed=trial_seed))
        test = pool.features["test"]
        keep = np.sort(np.random.default_rng(trial_seed).choice(len(test), size=plan.slice_n, replace=False))
        preds = classify(model, project(model, test[keep]), pool.classes)
        true = pool.true_labels["test"][keep]
        attributes = pool.attributes["test"][list(pool.audited)].iloc[keep].reset_index(drop=True)
        in_slice = _slices.slice_mask(attributes, true, pool.classes)
        rows.append(_slices.slice_trial(preds.embeddings, preds.predicted != true, attributes, in_slice,
                                        settings=settings, seed=trial_seed))
    return rows


def _summaries(trials, plan) -> tuple[list[dict], list[dict]]:
    power, false_alarm = [], []
    for points in plan.bias_points:
        for n, n_twins in plan.sizes:
            cell = [t for t in trials if t["bias_points"] == points and t["n"] == n]
            if points == 0:
                false_alarm.append(_rate_row(sum(t["n_flags"] > 0 for t in cell), len(cell), n=n, n_twins=n_twins,
                                             null="clean labels"))
                false_alarm.append(_rate_row(sum(t["placebo"]["n_flags"] > 0 for t in cell), len(cell), n=n,
                                             n_twins=n_twins, null="placebo"))
            else:
                effects = [t["effect_points"] for t in cell]
                rates = [t["rate"] for t in cell]
                power.append(_rate_row(
                    sum(t["found"] for t in cell), len(cell), bias_points=points, n=n, n_twins=n_twins,
                    effect_points_mean=round(float(np.mean(effects)), 3) if cell else None,
                    effect_points_min=min(effects, default=None), effect_points_max=max(effects, default=None),
                    rate_min=min(rates, default=None), rate_max=max(rates, default=None),
                    off_target=sum(not t["within_tolerance"] for t in cell),
                ))
    return power, false_alarm


def run_validation(*, quick: bool = False, seed: int = 0, progress: bool = True,
                   plan: ValidationPlan | None = None, pool: FeaturePool | None = None,
                   settings: dict | None = None) -> dict[str, Any]:
    """Measure how often the audit is right; returns one JSON-ready dict (no timings: same seed, same dict).

    Parameters
    ----------
    quick : bool
        The CI plan (``QUICK``) instead of the full one (``FULL``); ``plan`` overrides both.
    seed : int
        Master seed, 0..8 (trial seeds are ``seed * 1000 + i``; calibration uses seeds above 10 000).
    progress : bool
        One stderr line per stage.
    plan, pool, settings : optional
        A custom plan, a prepared feature pool, audit settings (default configs/audit/default.yaml).

    Returns
    -------
    dict
        Headline keys ``power_10pt``, ``false_alarm_rate``, ``placebo_false_alarm_rate``,
        ``ci_coverage``, ``precision_at_10``, ``baseline_precision_at_10``, and the tables ``power``,
        ``false_alarm``, ``coverage``, ``slices``, ``trials``, ``calibration``, ``plan``, ``definitions``.
    """
    from ..audit.settings import load_settings
    from ..schema.run_request import check_seed

    check_seed(seed, high=MAX_MASTER_SEED)
    plan = plan or (QUICK if quick else FULL)
    settings = settings or load_settings()
    if pool is None:
        _say(progress, "loading the feature pool (default bundle's encoder, cached features)")
        max_twins = max([t for _, t in plan.sizes] + [1])
        pool = load_pool(n_twins=max_twins, progress=progress)
    if plan.recalibrate:
        _say(progress, "calibrating bias sizes (annotation rate -> points of P(angry))")
        calibration = _calibrate.calibrate(pool, plan.train)
    else:
        calibration = dict(_calibrate.STORED_CALIBRATION)
    trials = _trial_rows(pool, plan, settings, calibration, seed, progress)
    power, false_alarm = _summaries(trials, plan)
    coverage = _coverage_rows(pool, plan, settings, seed, progress)
    slices = _slice_rows(pool, plan, settings, seed, progress)
    headline_power = [p for p in power if p["bias_points"] == 10.0 and p["n"] == 2000]
    clean = [t for t in trials if t["bias_points"] == 0]
    n_cov = sum(c["n_intervals"] for c in coverage)
    return {
        "power_10pt": headline_power[0]["rate"] if headline_power else None,
        "false_alarm_rate": (sum(t["n_flags"] > 0 for t in clean) / len(clean)) if clean else None,
        "placebo_false_alarm_rate": (
            sum(t["placebo"]["n_flags"] > 0 for t in clean) / len(clean) if clean else None
        ),
        "ci_coverage": (sum(c["coverage"] * c["n_intervals"] for c in coverage) / n_cov) if n_cov else None,
        "precision_at_10": float(np.mean([s["precision_at_k"] for s in slices])) if slices else None,
        "baseline_precision_at_10": float(np.mean([s["baseline_precision_at_k"] for s in slices])) if slices else None,
        "mode": "quick" if plan == QUICK else ("full" if plan == FULL else "custom"),
        "seed": seed,
        "power": power,
        "false_alarm": false_alarm,
        "coverage": coverage,
        "slices": slices,
        "calibration": calibration,
        "trials": trials,
        "plan": plan.to_dict(),
        "settings": {"q_max": settings["q_max"], "min_effect": settings["min_effect"],
                     "n_boot": settings["n_boot"], "n_perm": settings["n_perm"],
                     "n_perm_paired": settings["n_perm_paired"], "min_group_size": settings["min_group_size"]},
        "encoder": pool.encoder_record,
        "definitions": DEFINITIONS,
    }
