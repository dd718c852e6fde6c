"""The validity results as markdown tables (what `validate` prints without --json)."""

from __future__ import annotations

from typing import Any


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _ci(row: dict[str, Any]) -> str:
    if row.get("ci_low") is None:
        return "–"
    return f"{100 * row['ci_low']:.0f}–{100 * row['ci_high']:.0f} %"


def _span(low, high, digits: int) -> str:
    if low is None:
        return "–"
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f}–{high:.{digits}f}"


def _points(row: dict[str, Any]) -> str:
    if row.get("effect_points_mean") is None:
        return "–"
    return f"{row['effect_points_mean']:.1f} ({_span(row['effect_points_min'], row['effect_points_max'], 1)})"


def validation_markdown(result: dict[str, Any]) -> str:
    """Headline figures, then power, false-alarm, coverage and slice tables."""
    lines = [
        f"# Audit validity ({result['mode']} run, seed {result['seed']})",
        "",
        "| figure | value |",
        "|---|---|",
        f"| power, 10-point bias, n = 2 000 | {_pct(result['power_10pt'])} |",
        f"| any flag, clean labels (nothing planted) | {_pct(result['false_alarm_rate'])} |",
        f"| false-alarm rate, placebo (no real effect) | {_pct(result['placebo_false_alarm_rate'])} |",
        f"| 95 % CI coverage | {_pct(result['ci_coverage'])} |",
        f"| planted-slice precision@10, discovery | {_pct(result['precision_at_10'])} |",
        f"| planted-slice precision@10, GMM baseline | {_pct(result['baseline_precision_at_10'])} |",
        "",
        "## Power (planted bias flagged in the planted direction)",
        "",
        "| bias (points) | realised (mean, range) | off target | annotation rate | n | twins / attribute | trials "
        "| power | 95 % CI (Wilson) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["power"]:
        lines.append(
            f"| {row['bias_points']:g} | {_points(row)} | {row['off_target']} | {_span(row['rate_min'], row['rate_max'], 3)} "
            f"| {row['n']} | {row['n_twins']} | {row['trials']} | {_pct(row['rate'])} | {_ci(row)} |")
    lines += ["", "## Any counted flag with nothing planted", "",
              "| null | n | twins / attribute | trials | share with a flag | 95 % CI (Wilson) |",
              "|---|---|---|---|---|---|"]
    for row in result["false_alarm"]:
        lines.append(f"| {row['null']} | {row['n']} | {row['n_twins']} | {row['trials']} | {_pct(row['rate'])} | "
                     f"{_ci(row)} |")
    lines += ["", "## CI coverage (per-group accuracy, 95 % Wilson interval)", "",
              "| n | samples | intervals | coverage | mean width |", "|---|---|---|---|---|"]
    for row in result["coverage"]:
        lines.append(f"| {row['n']} | {row['n_samples']} | {row['n_intervals']} | {_pct(row['coverage'])} | "
                     f"{100 * row['mean_width']:.1f} points |")
    lines += ["", "## Planted slice (Domino protocol)", "",
              "| seed | n | slice size | slice error rate | clusters | precision@10 | GMM precision@10 |",
              "|---|---|---|---|---|---|---|"]
    for row in result["slices"]:
        lines.append(f"| {row['seed']} | {row['n']} | {row['slice_size']} | {_pct(row['slice_error_rate'])} | "
                     f"{row['n_clusters']} | {_pct(row['precision_at_k'])} | {_pct(row['baseline_precision_at_k'])} |")
    cal = result["calibration"]
    lines += ["", "## Calibration (annotation rate → points of P(angry) on the target cell)", "",
              "| rate | " + " | ".join(f"{r:g}" for r in cal["rates"]) + " |",
              "|---|" + "---|" * len(cal["rates"]),
              "| points | " + " | ".join(f"{p:.1f}" for p in cal["effect_points"]) + " |", ""]
    return "\n".join(lines)
