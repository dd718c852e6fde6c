"""Sham mitigation: does retraining the projector alone make retrieval-skew findings "new"? (issue 17, docs/mitigation.md)

Usage: python benchmarks/sham_retrain.py [--model faces-mini-clean] [--seeds 0 1 2] [--json FILE]

Audits the bundle (reasoning stage off, the rest as shipped), then, for ``reweigh`` with its own
weights and for a **sham** reweighing per seed (every weight 1, through the same retraining code
path, the bundle's own recipe with that seed), writes the retrained bundle, audits it the same way
and compares it with the source as ``mitigate`` does: the paired skew change test and one
Benjamini-Hochberg at ``q_max``. Prints one JSON line per variant: seconds, the comparison's counts,
and each new or over-the-bar finding with its top-k counts before and after and its q.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    from tinyemo_audit.audit._embedding_probes import skew_change_test
    from tinyemo_audit.audit.runner import run_audit
    from tinyemo_audit.audit.settings import load_settings
    from tinyemo_audit.comparison import compare_results
    from tinyemo_audit.mitigation._data import train_config, training_data
    from tinyemo_audit.mitigation._methods import Mitigated, Plan, reweigh
    from tinyemo_audit.mitigation._run import _write_bundle
    from tinyemo_audit.model.bundle import load_bundle
    from tinyemo_audit.model.train import fit_projector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="faces-mini-clean")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sham-") as work:
        work = Path(work)
        config = work / "settings.yaml"
        config.write_text("reasoning:\n  enabled: false\n")
        settings = load_settings(config)
        bundle = load_bundle(args.model)
        audit = {"dataset": "faces", "seed": 0, "config": config, "progress": False, "write": False}
        before = run_audit(model=args.model, **audit)
        plan = Plan(bundle=bundle, dataset="faces", attributes=["skin_group", "gender"], targets=[], options={})
        data = training_data(bundle, plan.attributes, "reweigh")
        ones = np.ones(len(data.labels["train"]))
        variants = [("reweigh (its weights)", None)] + [(f"sham: weights 1, seed {s}", s) for s in args.seeds]
        rows = []
        for i, (name, seed) in enumerate(variants):
            began = time.perf_counter()
            if seed is None:
                mitigated = reweigh(plan)
            else:
                recipe = replace(train_config(bundle), seed=seed)
                projector = fit_projector(data.features, data.labels, bundle.label_embeddings, recipe, progress=False,
                                          sample_weight=ones)[0]
                mitigated = Mitigated(method="reweigh", projector=projector, card=["sham reweighing: every weight 1"],
                                      record={"weights": {"min": 1.0, "max": 1.0}})
            folder = work / f"variant-{i}"
            _write_bundle(bundle, folder, mitigated, plan, "# sham\n")
            after = run_audit(model=str(folder), **audit)
            test = skew_change_test(before.retrieval, after.retrieval, n_perm=settings["n_perm"],
                                    n_boot=settings["n_boot"], seed=0)
            comparison = compare_results(before.results, after.results, change_test=test, q_max=settings["q_max"])
            row = {"variant": name, "seconds": round(time.perf_counter() - began),
                   "findings": comparison["summary"]["findings"],
                   "unmatched": [{"status": e["status"], "title": e["title"],
                                  **({k: e["change"][k] for k in ("before", "after", "q_value")} if e["change"] else {})}
                                 for e in comparison["findings"] if e["status"] in ("new", "crossed")]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
