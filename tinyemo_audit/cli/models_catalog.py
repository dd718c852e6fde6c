"""The extended ``models list`` command: bundles, published TinyEmo variants and known encoders."""

from __future__ import annotations

from typing import Annotated

import typer



def models_list(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    check_weights: Annotated[bool, typer.Option("--check-weights/--no-check-weights", help="Look for each model's weights on this machine (folders and the HF cache; never downloads).")] = True,
) -> None:
    """List bundles, the published TinyEmo projectors and known encoders (with local availability)."""
    import json

    from ..model.catalog import format_catalog, model_catalog

    catalog = model_catalog(check_weights=check_weights)
    typer.echo(json.dumps(catalog) if json_output else format_catalog(catalog))
