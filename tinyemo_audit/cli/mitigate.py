"""The ``mitigate`` command: apply a documented bias mitigation to a bundle and measure it before/after."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..user_text import visible


def mitigate(
    model: Annotated[Optional[str], typer.Option(help="Bundle name (in models/) or bundle folder (default tinyemo-faces-mini).")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Dataset audited before and after (default 'faces'); thresholds are fitted on its val split.")] = None,
    method: Annotated[str, typer.Option(help="reweigh, correlation-remover, prompt-projection, thresholds or all.")] = "all",
    attribute: Annotated[Optional[list[str]], typer.Option(help="Protected attribute to mitigate (repeatable; default: those of the before-audit's flagged twin shifts).")] = None,
    target: Annotated[Optional[str], typer.Option(help="Label the bias pushes toward (default: the flagged shifts' labels); with thresholds, fairlearn's ThresholdOptimizer on 'is it TARGET?'.")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="correlation-remover: share of the correlation removed, 0 to 1 (default 1).")] = None,
    projection: Annotated[Optional[str], typer.Option(help="prompt-projection: 'orthogonal' (default) or 'calibrated' (Chuang et al.).")] = None,
    rank: Annotated[Optional[int], typer.Option(help="prompt-projection: bias directions per attribute (default 1).")] = None,
    rates: Annotated[Optional[str], typer.Option(help="thresholds (offsets): equalise 'decisions' (TPR/FPR of predicted labels, default) or 'scores' (mean P(label) of each class, Kleinberg et al.'s balance).")] = None,
    constraint: Annotated[Optional[str], typer.Option(help="thresholds: 'equalized_odds' (default), 'false_positive_rate_parity' or 'true_positive_rate_parity' (fairlearn's names).")] = None,
    refits: Annotated[Optional[int], typer.Option(help="reweigh, correlation-remover: refits of the source's projector (its recipe, other seeds) that a new retrieval skew must exceed to count as created by the method (default 99; 0: the paired test alone).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default reports/mitigate-<model>-<UTC time>): new, empty or one this tool wrote.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of both audits and of retraining draws.")] = 0,
    n: Annotated[Optional[int], typer.Option(help="Audit at most this many test items (default: all).")] = None,
    n_twins: Annotated[Optional[int], typer.Option(help="Identities per rendered twin set (default from the config).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Audit settings YAML for both audits (and prompt-projection's term pairs).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print mitigation.json's trade-off rows on stdout instead of the summary.")] = False,
) -> None:
    """Mitigate a bundle's bias and prove it: new bundle, after-audit, before/after comparison, trade-off.

    Methods: reweigh (Kamiran & Calders 2012; retrains the projector), correlation-remover
    (fairlearn's CorrelationRemover before the projector, stored in the bundle; retrains),
    prompt-projection (bias directions of counterfactual prompt pairs projected out of the label
    embeddings, Chuang et al. 2023; no retraining), thresholds (per-group logit offsets fitted on
    the val split, or fairlearn's ThresholdOptimizer with --target). correlation-remover and
    thresholds read the protected attribute at prediction time. Writes <out>/<method>/bundle,
    <out>/<method>/after, <out>/<method>/comparison.{json,html}, <out>/before, mitigation.json and
    tradeoff.html (docs/mitigation.md).
    """
    from ..api import mitigate as run_mitigation
    from ..audit.runner import default_run_dir
    from ..report._format import dec

    options = {k: v for k, v in {"alpha": alpha, "projection": projection, "rank": rank, "rates": rates,
                                       "constraint": constraint, "refits": refits}.items() if v is not None}
    out = out or default_run_dir("mitigate", model or "tinyemo-faces-mini")
    result = run_mitigation(model=model, dataset=dataset, method=method, attributes=list(attribute) if attribute else None,
                            target=target, options=options, out=out, seed=seed, n=n, n_twins=n_twins, config=config,
                            progress=True)
    if json_:
        from .._io import json_bytes

        typer.echo(json_bytes(result.tradeoff).decode("utf-8"))
        return
    for row in result.tradeoff:
        acc = row.get("accuracy") or {}
        parts = [f"{row['method']}: accuracy {dec(acc.get('value'), 4)}"]
        for b in row["biases"]:
            if isinstance(b.get("prob_shift"), (int, float)):
                cut = "" if b.get("cut") is None else f" (cut {100 * b['cut']:.0f} %)"
                parts.append(f"{b['name']} {100 * b['prob_shift']:+.1f} points{cut}")
        if row.get("new_findings") is not None:
            parts.append(f"{len(row['new_findings'])} new findings")
        if row.get("crossed_findings"):
            parts.append(f"{len(row['crossed_findings'])} over the bar without a significant change")
        typer.echo(visible("; ".join(parts), one_line=True))
    typer.echo(f"wrote {visible(str(Path(out) / 'tradeoff.html'), one_line=True)}")
