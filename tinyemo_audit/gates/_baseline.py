"""The baseline run that gates with ``change: true`` compare against: found, read and checked before any work."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import UsageError
from ..user_text import shown
from ._evaluate import NO_BASELINE
from ._spec import GateSpec

MSG_NO_BASELINE = "{source}: gate {gate} " + NO_BASELINE + "; add 'baseline: <results.json>' to the gate file or pass --baseline"


def resolve_baseline(spec: GateSpec | None, baseline: Any = None) -> dict[str, Any] | None:
    """The baseline results: ``baseline`` (a results.json path or its parsed dict) or the gate file's own.

    Parameters
    ----------
    spec : GateSpec or None
        The gate file; its ``baseline`` (resolved against the file's folder) is used when
        ``baseline`` is None.
    baseline : path, Mapping or None
        ``--baseline`` (or the API's argument); it wins over the gate file's.

    Returns
    -------
    dict or None
        The checked results (schema 1.x); None when no baseline is named.

    Raises
    ------
    UsageError
        A gate bounds a change but no baseline is named.
    InputError
        The baseline file cannot be read or is no results.json.
    """
    from ..audit.results import check_results, read_results
    from ..schema._errors import source_text

    if baseline is None and spec is not None:
        baseline = spec.baseline
    if baseline is None:
        changing = [g for g in spec.gates if g.change] if spec is not None else []
        if changing:
            raise UsageError(MSG_NO_BASELINE.format(source=source_text(spec.source),
                                                    gate=shown(changing[0].name)))
        return None
    if isinstance(baseline, Mapping):
        return check_results(dict(baseline), source="baseline results")
    return read_results(os.fspath(baseline))
