"""What the validity harness's trial projectors learn, outside any audit (figures in docs/validity.md, docs/faces-corpus.md).

Usage:
  python benchmarks/trial_projectors.py groups [--seeds 3]
      clean-label trial projectors: TPR of every class in every skin tone, gender and age group,
      on the whole 3 500-item test pool (the lowest three cells, and sad per skin tone)
  python benchmarks/trial_projectors.py dose [--seeds 10] [--rates 0.35 0.40 0.45]
      planted trial projectors: realised bias (points of P(angry) on neutral dark-skinned test
      faces over the clean projector of the same seed) per seed and annotation rate
Trial seeds are 1, 2, ... (the seeds of `validate --seed 0`); the trial recipe is validate's.
"""

from __future__ import annotations

import argparse

import numpy as np


def groups(pool, seeds: int, train) -> None:
    from tinyemo_audit.model.classifier import classify, project
    from tinyemo_audit.validate import _trials

    true, attributes = pool.true_labels["test"], pool.attributes["test"]
    sad = pool.classes.index("sad")
    for seed in range(1, seeds + 1):
        model = _trials.fit_planted(pool, 0.0, seed, train)
        predicted = classify(model, project(model, pool.features["test"]), pool.classes).predicted
        cells = []
        for column in ("skin_tone", "gender", "age"):
            values = attributes[column].to_numpy()
            for group in np.unique(values):
                for k, name in enumerate(pool.classes):
                    rows = (values == group) & (true == k)
                    cells.append((float((predicted[rows] == k).mean()), column, group, name))
        tones = attributes["skin_tone"].to_numpy()
        sad_by_tone = [(predicted[(tones == t) & (true == sad)] == sad).mean() for t in sorted(np.unique(tones))]
        print(f"seed {seed}: accuracy {(predicted == true).mean():.3f}; sad TPR by tone "
              + " / ".join(f"{x:.2f}" for x in sad_by_tone))
        print("  lowest cells: " + ", ".join(f"{name} on {column}={group} {tpr:.3f}"
                                             for tpr, column, group, name in sorted(cells)[:3]))


def dose(pool, seeds: int, rates: list[float], train) -> None:
    from tinyemo_audit.validate import _calibrate, _trials

    print("seed  " + "  ".join(f"r={r:.2f}" for r in rates))
    for seed in range(1, seeds + 1):
        clean = _calibrate.cell_probability(_trials.fit_planted(pool, 0.0, seed, train), pool)
        effects = [100 * (_calibrate.cell_probability(_trials.fit_planted(pool, r, seed, train), pool) - clean)
                   for r in rates]
        print(f"{seed:>4}  " + "  ".join(f"{e:6.1f}" for e in effects), flush=True)


def main() -> None:
    from tinyemo_audit.validate._pool import load_pool
    from tinyemo_audit.validate._run import TRIAL_TRAINING

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("groups").add_argument("--seeds", type=int, default=3)
    dose_parser = sub.add_parser("dose")
    dose_parser.add_argument("--seeds", type=int, default=10)
    dose_parser.add_argument("--rates", type=float, nargs="+", default=[0.35, 0.40, 0.45])
    args = parser.parse_args()
    pool = load_pool(n_twins=1)
    if args.what == "groups":
        groups(pool, args.seeds, TRIAL_TRAINING)
    else:
        dose(pool, args.seeds, args.rates, TRIAL_TRAINING)


if __name__ == "__main__":
    main()
