"""Mitigation targets (issue 17): every method on the default bundle and on the clean control bundle.

Usage: python benchmarks/bench_mitigate.py [--out reports/bench-mitigate] [--models tinyemo-faces-mini faces-mini-clean]
       [--rates decisions|scores] [--constraint equalized_odds|false_positive_rate_parity] [--json FILE]

For each bundle it runs ``tinyemo-audit mitigate --method all`` (the same code as the command:
before-audit, four mitigated bundles, their after-audits through the audit itself, comparisons,
trade-off page) and checks the targets:

- default bundle: a method cuts the P(angry) shift of neutral twins under dark skin and the
  P(happy) shift under a feminine presentation by >= 70 % each, with test accuracy down <= 1 point
  and no finding in its after-audit that the before-audit did not have;
- control bundle: no method creates a finding.

"A finding the before-audit did not have" is the comparison's status ``new``: flagged after only,
and (for retrieval skew, the one kind with a paired change test) a change the paired test finds
significant and, for a retraining method, beyond what refits of the source's projector give
(mitigation._refits). Findings flagged after only whose change is not significant (status ``crossed``:
they were just under the bar before) are printed and written separately, not hidden.

The control bundle's attributes and targets are the default bundle's (skin_group, gender; angry,
happy), so both are mitigated for the same thing. Prints one line per method and writes the rows.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

CUT = 0.70
MAX_ACCURACY_DROP = 0.01
PLANTED = {("skin_group", "angry"), ("gender", "happy")}


def meets(row: dict) -> dict:
    """The default-bundle targets for one method's trade-off row."""
    cuts = {(b["bias"]["attribute"], b["bias"]["label"]): b.get("cut") for b in row["biases"]}
    planted = [cuts.get(key) for key in sorted(PLANTED)]
    return {
        "cuts": {f"{a}->{t}": cuts.get((a, t)) for a, t in sorted(PLANTED)},
        "cut_ok": all(c is not None and c >= CUT for c in planted),
        "accuracy_ok": row.get("accuracy_change", 0.0) >= -MAX_ACCURACY_DROP,
        "no_new_finding": not row.get("new_findings"),
    }


def main() -> None:
    from tinyemo_audit.api import mitigate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/bench-mitigate")
    parser.add_argument("--models", nargs="+", default=["tinyemo-faces-mini", "faces-mini-clean"])
    parser.add_argument("--rates", default=None, help="thresholds option (default: the method's default)")
    parser.add_argument("--constraint", default=None, help="thresholds option (default: the method's default)")
    parser.add_argument("--refits", type=int, default=None,
                        help="refits of the source projector a retraining method's new skew must exceed (default 99)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    options = {k: v for k, v in {"rates": args.rates, "constraint": args.constraint, "refits": args.refits}.items()
               if v is not None}
    figures = {}
    for model in args.models:
        start = time.perf_counter()
        result = mitigate(model=model, dataset="faces", method="all", attributes=["skin_group", "gender"],
                          options=options, out=Path(args.out) / model, progress=True)
        seconds = time.perf_counter() - start
        rows = []
        for row in result.tradeoff[1:]:
            entry = {"method": row["method"], "accuracy": row["accuracy"], "accuracy_change": row.get("accuracy_change"),
                     "biases": [{k: b.get(k) for k in ("name", "prob_shift", "mean_shift", "ci_low", "ci_high", "cut",
                                                        "flagged")} for b in row["biases"]],
                     "new_findings": row.get("new_findings"), "crossed_findings": row.get("crossed_findings"),
                     **meets(row)}
            rows.append(entry)
            print(f"{model} {row['method']}: accuracy {row['accuracy']['value']:.4f} ({100 * row.get('accuracy_change', 0):+.2f} points); "
                  + "; ".join(f"{b['name']} {100 * (b.get('prob_shift') or 0):+.1f} points (cut "
                              + ("—" if b.get("cut") is None else f"{100 * b['cut']:.0f} %") + ")" for b in row["biases"])
                  + f"; new findings {len(row.get('new_findings') or [])}"
                  + f"; over the bar without a significant change {len(row.get('crossed_findings') or [])}")
        before = result.tradeoff[0]
        figures[model] = {"seconds": round(seconds), "before": before, "methods": rows}
        if model == "tinyemo-faces-mini":
            passing = [r["method"] for r in rows if r["cut_ok"] and r["accuracy_ok"] and r["no_new_finding"]]
            print(f"{model}: methods meeting every target: {', '.join(passing) or 'none'}")
        else:
            creating = [r["method"] for r in rows if r["new_findings"]]
            print(f"{model}: methods creating a finding: {', '.join(creating) or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
