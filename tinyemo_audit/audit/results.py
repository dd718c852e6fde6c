"""Reading a results.json back (for `report` and `gate`), with a clear error for anything else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._io import resolve_replaced
from ..errors import InputError

SUPPORTED_MAJOR = "1"


def read_results(path: str | Path) -> dict[str, Any]:
    """Parse and sanity-check a results.json written by ``tinyemo-audit run``.

    Parameters
    ----------
    path : str or Path
        The results.json. When the replacement of its run folder was killed between the fallback
        swap's two renames, the complete previous run is read from ``.<run>.old`` instead.

    Returns
    -------
    dict
        The parsed results (schema 1.x).
    """
    path = resolve_replaced(path)
    if not path.is_file():
        raise InputError(f"results file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict) or "schema_version" not in data or "run" not in data:
        raise InputError(f"{path} is not a tinyemo-audit results.json (no schema_version/run)")
    if str(data["schema_version"]).split(".")[0] != SUPPORTED_MAJOR:
        raise InputError(
            f"{path} has results schema {data['schema_version']}; this tool reads {SUPPORTED_MAJOR}.x"
        )
    return data
