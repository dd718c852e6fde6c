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
    """The label plan's headline figures and tables, and the reasoning plan's section, whichever ``result`` holds."""
    lines = [f"# Audit validity ({result['mode']} run, seed {result['seed']})", ""]
    if "power" in result:
        lines += _label_plan(result)
    if result.get("reasoning") is not None:
        lines += reasoning_markdown(result["reasoning"])
    return "\n".join(lines)


def _counts(counts: dict[str, int] | None, n: int) -> str:
    return "–" if not counts else ", ".join(f"{group} {k}/{n}" for group, k in counts.items())


def reasoning_markdown(section: dict[str, Any]) -> list[str]:
    """The reasoning plan: power and false alarms with Wilson CIs, then one row per trial, the recipe and timings."""
    from ..gates._markdown import _cell  # the one markdown escape of audit text (finding titles quote model output)

    power, alarm, recipe = section["power"], section["false_alarm"], section["plan"]["train"]
    direction = section["knob"]["direction"]
    lines = [
        "## Reasoning plan (MM-LLM retrained per trial)", "",
        "| figure | trials | hits | rate | 95 % CI (Wilson) |", "|---|---|---|---|---|",
        f"| power: a reasoning finding in the planted direction | {power['trials']} | {power['hits']} | "
        f"{_pct(power['rate'])} | {_ci(power)} |",
        f"| false alarms: any reasoning finding, knob off | {alarm['trials']} | {alarm['hits']} | "
        f"{_pct(alarm['rate'])} | {_ci(alarm)} |",
        "",
        f"Knob words counted: {', '.join(direction['words']) or '–'}; twins: {direction['attribute']}, true label "
        f"{direction['label']}. Recipe: {section['plan']['n_images']} faces, stage 1 {recipe['stage1_steps']} steps "
        f"at lr {recipe['stage1_lr']:g}, stage 2 {recipe['stage2_steps']} steps at lr {recipe['stage2_lr']:g}, "
        f"batch {recipe['batch_size']}, LoRA r {recipe['lora_r']}, base {recipe['llm']} ({recipe['dtype']}).",
        "",
        "| seed | knob | knob rows | final loss (stage 2) | findings | in planted direction | conditional texts with a "
        "knob word | free texts stating another label | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    seconds = {(t["seed"], t["planted"]): t["total_s"] for t in section["timings"]["trials"]}
    for trial in section["trials"]:
        real = trial["realised"] or {}
        n = real.get("n_twins", 0)
        losses = list(trial["final_loss"].values())
        loss = "–" if not losses or losses[-1] is None else f"{losses[-1]:.3f}"
        lines.append(
            f"| {trial['seed']} | {'on' if trial['planted'] else 'off'} | {trial['knob_rows']} | {loss} | "
            f"{trial['n_flags']} | {len(trial['hits'])} | {_counts(real.get('conditional_with_knob_word'), n)} | "
            f"{_counts(real.get('free_stating_other_label'), n)} | "
            f"{seconds.get((trial['seed'], trial['planted']), '–')} |")
    flagged = [(t, title) for t in section["trials"] for title in t["flags"]]
    if flagged:
        lines += ["", "Findings raised:", ""]
        lines += [f"- seed {t['seed']} ({'knob on' if t['planted'] else 'knob off'}): {_cell(title)}"
                  + (" — planted direction" if title in t["hits"] else "") for t, title in flagged]
    lines += ["", f"Mean seconds per trial: {section['timings']['mean_trial_s']:.0f}.", ""]
    return lines


def _label_plan(result: dict[str, Any]) -> list[str]:
    lines = [
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
    return lines
