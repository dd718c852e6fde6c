"""Reading a results.json back (for ``report`` and ``gate``): one schema check before anything uses it.

The file is read as strict, bounded JSON (:mod:`tinyemo_audit._json`: finite numbers only, no
NaN/Infinity, integers of at most 20 digits, at most 64 levels deep, at most
:data:`MAX_RESULTS_BYTES`) and then checked against :class:`tinyemo_audit.schema.results.ResultsFile`
(schema 1.x: known sections typed, unknown keys allowed). Anything else is one InputError line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._io import resolve_replaced
from ..errors import InputError
from ..input_files import MiB

# A default faces run writes about 1.5 MB; the largest sections (UMAP points, examples) are capped
# by settings, so 64 MiB is far above any run this tool writes and still fits in memory parsed.
MAX_RESULTS_BYTES = 64 * MiB
WHAT = "results file"
MSG_NOT_RESULTS = "{source} is not a tinyemo-audit results.json: the top level must be an object, got {kind}"


def check_results(data: Any, *, source: str = "<results>") -> dict[str, Any]:
    """``data`` (parsed results.json) if it fits the results schema 1.x; otherwise an InputError line.

    Parameters
    ----------
    data : Any
        The parsed document.
    source : str
        Named in error messages.

    Returns
    -------
    dict
        ``data`` itself (unchanged: unknown keys are kept).
    """
    from ..schema._errors import source_text, validate
    from ..schema.results import ResultsFile

    if not isinstance(data, dict):
        raise InputError(MSG_NOT_RESULTS.format(source=source_text(source), kind=type(data).__name__))
    validate(ResultsFile, data, source=source)
    return data


def read_results(path: str | Path) -> dict[str, Any]:
    """Parse and check a results.json written by ``tinyemo-audit run``.

    Parameters
    ----------
    path : str or Path
        The results.json. When the replacement of its run folder was killed between the fallback
        swap's two renames, the complete previous run is read from ``.<run>.old`` instead.

    Returns
    -------
    dict
        The parsed results (schema 1.x), every number finite, every known section well typed.

    Raises
    ------
    InputError
        Not a regular file, too large, not strict JSON (NaN, huge integers, too deep, duplicate
        keys), or not a results.json of schema 1.x; one line naming the file and the key.
    """
    from .._json import read_json

    path = resolve_replaced(path)
    data = read_json(path, what=WHAT, max_bytes=MAX_RESULTS_BYTES)
    return check_results(data, source=str(path))
