"""The validity harness at toy scale: structure, determinism, a large planted bias found, clean not."""

import json

import numpy as np
import pytest

from tinyemo_audit.audit.settings import load_settings
from tinyemo_audit.data.faces import FacesConfig
from tinyemo_audit.errors import UsageError
from tinyemo_audit.model.bundle import list_bundles
from tinyemo_audit.model.config import TrainConfig
from tinyemo_audit.validate import ValidationPlan, run_validation, validation_markdown
from tinyemo_audit.validate import _calibrate, _coverage, _slices, _trials
from tinyemo_audit.validate._pool import load_pool

pytestmark = pytest.mark.skipif("tinyemo-faces-mini" not in list_bundles(), reason="default bundle not trained")

# A small corpus (the test split is the full one, shared with the audit tests' cache).
TINY_FACES = FacesConfig(n_train=2100, n_val=420)
TINY_TRAIN = TrainConfig(batch_size=64, max_lr=2e-3, epochs=5)
N_TWINS = 140


@pytest.fixture(scope="module")
def pool():
    return load_pool(n_twins=N_TWINS, faces_config=TINY_FACES)


@pytest.fixture(scope="module")
def settings():
    settings = load_settings()
    settings.update(n_boot=200, n_perm=200, n_perm_paired=2000)
    return settings


@pytest.fixture(scope="module")
def tiny_plan():
    # 60 points lies beyond the calibration curve: its largest rate (0.5), a large planted bias.
    return ValidationPlan(bias_points=(0.0, 60.0), sizes=((600, N_TWINS),), trials=1, clean_trials=1,
                          coverage_sizes=(500,), coverage_samples=3, slice_trials=0, slice_n=300,
                          recalibrate=False, train=TINY_TRAIN)


@pytest.fixture(scope="module")
def tiny_result(pool, settings, tiny_plan):
    return run_validation(plan=tiny_plan, pool=pool, settings=settings, seed=1, progress=False)


def test_result_structure(tiny_result):
    for key in ("power_10pt", "false_alarm_rate", "ci_coverage", "precision_at_10", "baseline_precision_at_10",
                "power", "false_alarm", "coverage", "slices", "trials", "calibration", "definitions"):
        assert key in tiny_result, key
    assert tiny_result["power_10pt"] is None  # no n = 2 000 cell in the toy plan
    assert [row["bias_points"] for row in tiny_result["trials"]] == [0.0, 60.0]
    planted = tiny_result["trials"][1]
    assert 0.0 < planted["rate"] <= 1.0 and 1 <= planted["fits"] <= _calibrate.MAX_FITS
    assert planted["within_tolerance"] and abs(planted["effect_points"] - 60.0) <= 6.0  # seeded: reached
    row = tiny_result["power"][0]
    assert row["effect_points_mean"] == pytest.approx(planted["effect_points"])
    assert row["off_target"] == 0
    assert [(row["null"], row["n"]) for row in tiny_result["false_alarm"]] == [("clean labels", 600), ("placebo", 600)]
    assert set(tiny_result["trials"][0]["placebo"]) == {"n_tests", "n_flags", "found", "flags"}
    assert "placebo" not in tiny_result["trials"][1]
    assert tiny_result["power"][0]["trials"] == 1
    assert 0.0 <= tiny_result["ci_coverage"] <= 1.0
    assert tiny_result["coverage"][0]["n_intervals"] == 3 * (3 + 2 + 3)  # samples × groups of the 3 attributes
    assert tiny_result["slices"] == [] and tiny_result["precision_at_10"] is None  # UMAP: see the slow test
    json.dumps(tiny_result, allow_nan=False)
    text = validation_markdown(tiny_result)
    assert "| power, 10-point bias, n = 2 000 | – |" in text and "| placebo | 600 | 140 | 1 |" in text


def test_same_seed_same_trial_and_coverage(pool, settings, tiny_result):
    clean, planted = tiny_result["trials"]
    again = _trials.run_trial(pool, rate=planted["rate"], n=600, n_twins=N_TWINS, seed=planted["seed"],
                              settings=settings, train_config=TINY_TRAIN)
    search = {key: planted[key] for key in ("effect_points", "fits", "within_tolerance")}
    assert {"bias_points": 60.0, **again, **search} == planted
    # The recorded realised effect is what a refit with the row's rate and seed gives.
    biased = _trials.fit_planted(pool, planted["rate"], planted["seed"], TINY_TRAIN)
    reference = _trials.fit_planted(pool, 0.0, planted["seed"], TINY_TRAIN)
    effect = 100 * (_calibrate.cell_probability(biased, pool) - _calibrate.cell_probability(reference, pool))
    assert round(effect, 3) == planted["effect_points"]
    predicted = pool.true_labels["test"].copy()
    predicted[::7] = 0
    twice = [_coverage.accuracy_coverage(pool.true_labels["test"], predicted, pool.attributes["test"][["gender"]],
                                         n=300, n_samples=2, n_boot=100, seed=5) for _ in range(2)]
    assert twice[0] == twice[1]


def test_large_planted_bias_found_clean_not_flagged(tiny_result):
    clean, planted = tiny_result["trials"]
    assert planted["found"], planted["flags"]
    # The small clean stack may carry a real disparity of its own; the planted one it must not show.
    assert not clean["found"], clean["flags"]


def test_plant_relabels_exactly_the_rate_of_the_target_cell(pool):
    labels = _trials.plant(pool, 0.5, seed=7)
    cell = _calibrate.target_cell(pool, "train")
    changed = labels["train"] != pool.true_labels["train"]
    assert not changed[~cell].any()
    assert changed.sum() == round(0.5 * cell.sum())
    assert (labels["train"][changed] == pool.classes.index("angry")).all()


def test_rate_for_points_interpolates_the_calibration_curve():
    curve = {"rates": [0.0, 0.2, 0.4], "effect_points": [0.0, 4.0, 12.0]}
    assert _calibrate.rate_for_points(0, curve) == 0.0
    assert _calibrate.rate_for_points(8, curve) == pytest.approx(0.3)
    assert _calibrate.rate_for_points(50, curve) == 0.4  # beyond the curve: its largest rate


def test_rate_search_steps_up_then_bisects_to_the_target():
    calls = []

    def effect_of(rate):  # a steep, noisy dose-response like a projector's
        calls.append(rate)
        return 100 / (1 + np.exp(-(rate - 0.45) / 0.02)) + (3.0 if round(rate, 4) == 0.425 else 0.0), rate

    found = _calibrate.search_rate(effect_of, 10.0, guess=0.3)
    assert calls[:4] == pytest.approx([0.3, 0.35, 0.4, 0.45])  # below the target: step up until above it
    assert found.within_tolerance and abs(found.effect_points - 10.0) <= 1.0
    assert found.payload == found.rate and found.fits == len(calls) <= _calibrate.MAX_FITS


def test_rate_search_keeps_the_closest_fit_when_the_target_is_out_of_reach():
    found = _calibrate.search_rate(lambda rate: (5.0 + rate, None), 60.0, guess=0.9)
    assert not found.within_tolerance and found.rate == 1.0 and found.fits == 3  # 0.9, 0.95, 1.0
    one_step = _calibrate.search_rate(lambda rate: (50.0 if rate > 0.5 else 0.0, None), 10.0, guess=0.2, max_fits=4)
    assert one_step.fits == 4 and not one_step.within_tolerance


def test_precision_at_k_ranks_the_worst_cluster_first():
    cluster_of = np.array([0] * 10 + [1] * 10 + [-1] * 5)
    errors = np.array([1] * 8 + [0] * 2 + [1] * 1 + [0] * 9 + [1] * 5, dtype=bool)
    in_slice = np.zeros(25, dtype=bool)
    in_slice[:8] = True
    order = _slices.rank_by_clusters(cluster_of, errors, seed=0)
    assert set(order[:8]) == set(range(8))
    assert _slices.precision_at_k(order, in_slice, k=10) == pytest.approx(0.8)


def test_seed_out_of_range_is_a_usage_error():
    with pytest.raises(UsageError, match="--seed"):
        run_validation(seed=9, progress=False)


@pytest.mark.slow
def test_planted_slice_trial_ranks_the_slice(pool, settings):
    plan = ValidationPlan(bias_points=(), sizes=(), coverage_sizes=(), slice_trials=1, slice_n=1000,
                          recalibrate=False, train=TINY_TRAIN)
    result = run_validation(plan=plan, pool=pool, settings=settings, seed=2, progress=False)
    (row,) = result["slices"]
    assert row["slice_size"] > 0 and row["slice_error_rate"] > 0.3
    assert 0.0 <= result["baseline_precision_at_10"] <= 1.0
    assert result["precision_at_10"] >= 0.5
