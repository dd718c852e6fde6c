"""``tinyemo-audit validate``: how often the audit finds a planted bias, and how often it cries wolf."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

MSG_REASONING_ONLY = "{option} belongs to the reasoning plan: add --reasoning"


def validate(
    quick: Annotated[bool, typer.Option("--quick", help="The CI plan: fewer trials (minutes on 2 cores).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object, not markdown.")] = False,
    seed: Annotated[int, typer.Option(help="Master seed (0-8); same seed, same figures.")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="Also write the JSON to this file (atomically).")] = None,
    progress: Annotated[bool, typer.Option(help="One stderr line per stage.")] = True,
    reasoning: Annotated[bool, typer.Option(
        "--reasoning", help="The reasoning plan instead: retrain the MM-LLM with and without the annotator-bias "
                            "knob per trial and report the reasoning probes' power and false alarms.")] = False,
    model: Annotated[Optional[str], typer.Option(
        help="Reasoning plan: the bundle whose reasoning part the trials retrain (a private copy; default "
             "tinyemo-faces-mini).")] = None,
    trials: Annotated[Optional[int], typer.Option(
        help="Reasoning plan: planted trials, and as many clean ones (1-100; default 5, --quick 1).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume/--no-resume", help="Reasoning plan: reuse the trials an earlier run of the same plan finished "
                                     "(same code, bundle, recipe and settings), so an interrupted plan goes on "
                                     "where it stopped; --no-resume reruns every trial.")] = True,
) -> None:
    """Plant annotation biases and a slice, retrain the projector, audit, and report power, false alarms,
    CI coverage and planted-slice precision@10; with --reasoning, plant annotator-bias wording, retrain the
    MM-LLM, and report the reasoning probes' power and false alarms (see docs/validity.md)."""
    import json
    import os
    import time
    from dataclasses import replace

    from .._io import json_bytes
    from ..errors import UsageError
    from ..outputs import OutputPlan
    from ..validate import (REASONING_FULL, REASONING_QUICK, run_reasoning_validation, run_validation,
                            validation_markdown)
    from ..schema.run_request import check_count
    from ..validate._reasoning import DEFAULT_MODEL, MAX_TRIALS

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not reasoning:
        for option, value in (("--model", model), ("--trials", trials)):
            if value is not None:
                raise UsageError(MSG_REASONING_ONLY.format(option=option))
        if not resume:
            raise UsageError(MSG_REASONING_ONLY.format(option="--no-resume"))
    plan = OutputPlan(cache=True)
    if out is not None:
        plan.file(out, "--out")
    reasoning_plan = None
    if reasoning:
        reasoning_plan = REASONING_QUICK if quick else REASONING_FULL
        if check_count(trials, "--trials", low=1, high=MAX_TRIALS) is not None:
            reasoning_plan = replace(reasoning_plan, planted_trials=trials, clean_trials=trials)
    plan.check()
    started = time.perf_counter()
    if reasoning:
        result = run_reasoning_validation(seed=seed, progress=progress, plan=reasoning_plan,
                                          model=model or DEFAULT_MODEL, resume=resume)
    else:
        result = run_validation(quick=quick, seed=seed, progress=progress)
    if out is not None:
        data = json_bytes(result)
        with plan.writing() as staged:
            staged.write_bytes(out, data)
    if json_output:
        typer.echo(json.dumps(result, sort_keys=False))
    else:
        typer.echo(validation_markdown(result))
    if progress:
        typer.echo(f"validated in {time.perf_counter() - started:.0f} s", err=True)
