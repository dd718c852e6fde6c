"""``tinyemo-audit validate``: how often the audit finds a planted bias, and how often it cries wolf."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer



def validate(
    quick: Annotated[bool, typer.Option("--quick", help="The CI plan: fewer trials (minutes on 2 cores).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object, not markdown.")] = False,
    seed: Annotated[int, typer.Option(help="Master seed (0-8); same seed, same figures.")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="Also write the JSON to this file (atomically).")] = None,
    progress: Annotated[bool, typer.Option(help="One stderr line per stage.")] = True,
) -> None:
    """Plant annotation biases and a slice, retrain the projector, audit, and report power, false alarms,
    CI coverage and planted-slice precision@10 (see docs/validity.md)."""
    import json
    import os
    import time

    from .._io import json_bytes
    from ..outputs import OutputPlan
    from ..validate import run_validation, validation_markdown

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    plan = OutputPlan(cache=True)
    if out is not None:
        plan.file(out, "--out")
    plan.check()
    started = time.perf_counter()
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
