"""Benchmark: tinyemo_audit.metrics.group_table bootstrap vs fairlearn MetricFrame(n_boot=...) on 100 k rows.

Usage: python benchmarks/bench_group_table.py [--rows 100000] [--groups 6] [--classes 7] [--n-boot 100]

fairlearn computes one metric (per-group accuracy) with ``n_boot`` replicates; group_table
computes accuracy plus one-vs-rest TPR, FPR and selection rate for every class, overall and per
group, with the same number of replicates. Prints timings, the speed-up and the largest gap
between the two methods' per-group accuracy CI ends.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def synthetic(rows: int, groups: int, classes: int, seed: int = 0):
    """Labels with 60 % correct predictions and a mild group effect."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, classes, rows)
    sensitive = rng.integers(0, groups, rows)
    correct = rng.random(rows) < 0.55 + 0.02 * sensitive
    y_pred = np.where(correct, y_true, rng.integers(0, classes, rows))
    return y_true, y_pred, sensitive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=6)
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score

    from tinyemo_audit.metrics import group_table

    y_true, y_pred, sensitive = synthetic(args.rows, args.groups, args.classes, args.seed)

    start = time.perf_counter()
    frame = MetricFrame(
        metrics=accuracy_score, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive,
        n_boot=args.n_boot, ci_quantiles=[0.025, 0.975], random_state=args.seed,
    )
    t_fairlearn = time.perf_counter() - start

    group_table(y_true[:1000], y_pred[:1000], sensitive[:1000], n_boot=10, interval="bootstrap")  # warm imports
    start = time.perf_counter()
    table = group_table(y_true, y_pred, sensitive, n_boot=args.n_boot, seed=args.seed, interval="bootstrap")
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    group_table(y_true, y_pred, sensitive, n_boot=1000, seed=args.seed, interval="bootstrap")
    t_ours_1000 = time.perf_counter() - start

    acc = table[(table.metric == "accuracy") & (table.group != "*")].set_index("group")
    gap_low = np.abs(acc.ci_low.to_numpy() - frame.by_group_ci[0].reindex(acc.index).to_numpy()).max()
    gap_high = np.abs(acc.ci_high.to_numpy() - frame.by_group_ci[1].reindex(acc.index).to_numpy()).max()
    n_values = int(table.value.notna().sum())

    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"data: {args.rows} rows, {args.groups} groups, {args.classes} classes, n_boot={args.n_boot}")
    print(f"fairlearn MetricFrame (accuracy only, 1 metric x {args.groups} groups): {t_fairlearn:.2f} s")
    print(f"group_table ({n_values} values incl. overall, same n_boot): {t_ours:.3f} s")
    print(f"speed-up: {t_fairlearn / t_ours:.0f}x")
    print(f"group_table with n_boot=1000: {t_ours_1000:.3f} s")
    print(f"max |CI end difference| for per-group accuracy: low {gap_low:.4f}, high {gap_high:.4f}")


if __name__ == "__main__":
    main()
