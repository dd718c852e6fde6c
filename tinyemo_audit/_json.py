"""The one reader of JSON inputs (results.json, bundle.json): strict JSON, finite numbers, bounded sizes.

Python's ``json`` module accepts more than JSON and fails badly on hostile sizes; this reader
closes each gap with one rule:

- ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON numbers: refused (``parse_constant``), and
  so is a number literal too large for a float (``1e999`` would become ``inf``). Every number
  that comes back is finite.
- Integers have at most :data:`MAX_INT_DIGITS` digits: Python's own limit (4 300 digits) raises
  a ValueError; we refuse far earlier, with a message.
- Nesting is bounded (:data:`MAX_DEPTH` levels): ``json`` recurses once per level and raises
  RecursionError near 1 000; anything deeper than our limit is refused either way.
- A key given twice in one object is refused (``json`` would keep the last one silently).
- Strings must be writable as UTF-8: a lone surrogate escape (``"\\ud800"``) would make every
  later write of that text fail.
- Files are read through :func:`input_files.read_text` (regular files only, size-bounded, UTF-8).

Examples
--------
>>> parse_json('{"a": [1, 2.5]}', source="<example>")
{'a': [1, 2.5]}
>>> parse_json('{"a": NaN}', source="<example>")
Traceback (most recent call last):
...
tinyemo_audit.errors.InputError: JSON <example>: NaN is not a JSON number (NaN and Infinity are refused)
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from .errors import InputError
from .input_files import read_text, shown_path
from .user_text import shorten, shown

MAX_DEPTH = 64
MAX_INT_DIGITS = 20

MSG_NOT_JSON = "{what} {source} is not valid JSON: {problem}"
MSG_REFUSED = "{what} {source}: {problem}"
PROBLEM_CONSTANT = "{name} is not a JSON number (NaN and Infinity are refused)"
PROBLEM_HUGE_FLOAT = "the number {text} is too large to be a finite number"
PROBLEM_INT = "an integer of {digits:,} digits (at most {limit} are read)"
PROBLEM_DEPTH = "nested more than {limit} levels deep"
PROBLEM_DUPLICATE = "the key {key} is given twice in one object"
PROBLEM_SURROGATE = "a string holds a lone surrogate escape (\\ud800-\\udfff), which is not text"
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    """Raised from inside the parser's hooks; becomes one InputError line."""


def _parse_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Refused(PROBLEM_INT.format(digits=digits, limit=MAX_INT_DIGITS))
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(PROBLEM_HUGE_FLOAT.format(text=shorten(text, 30)))
    return value


def _parse_constant(name: str) -> None:
    raise _Refused(PROBLEM_CONSTANT.format(name=name))


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(PROBLEM_DUPLICATE.format(key=shown(key, limit=40)))
        out[key] = value
    return out


def _check_tree(data: Any) -> None:
    """Depth and text checks over the parsed tree, iteratively (no recursion, whatever the input)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                raise _Refused(PROBLEM_DEPTH.format(limit=MAX_DEPTH))
            for key, value in node.items():
                if _SURROGATE.search(key):
                    raise _Refused(PROBLEM_SURROGATE)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                raise _Refused(PROBLEM_DEPTH.format(limit=MAX_DEPTH))
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str) and _SURROGATE.search(node):
            raise _Refused(PROBLEM_SURROGATE)


def parse_json(text: str, *, source: str, what: str = "JSON") -> Any:
    """Parse a JSON document by the rules of this module (see the module docstring).

    Parameters
    ----------
    text : str
        The document.
    source : str
        Named in error messages (usually the file's path).
    what : str
        What the document is, for messages ("results file", "bundle file", ...).

    Returns
    -------
    Any
        Plain data: dicts, lists, str, int, finite float, bool, None.

    Raises
    ------
    InputError
        One line naming ``source``: not JSON, a refused constant or number, too deep, a
        duplicate key, a lone surrogate.
    """
    where = dict(what=what, source=shown_path(source))
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant,
                          object_pairs_hook=_object)
        _check_tree(data)
    except _Refused as err:
        raise InputError(MSG_REFUSED.format(**where, problem=err)) from None
    except RecursionError:
        raise InputError(MSG_REFUSED.format(**where, problem=PROBLEM_DEPTH.format(limit=MAX_DEPTH))) from None
    except json.JSONDecodeError as err:
        problem = f"{err.msg} (line {err.lineno}, column {err.colno})"
        raise InputError(MSG_NOT_JSON.format(**where, problem=problem)) from None
    return data


def read_json(path: str | os.PathLike, *, what: str, max_bytes: int) -> Any:
    """The JSON document in the regular file ``path`` (UTF-8, at most ``max_bytes``), parsed strictly."""
    return parse_json(read_text(path, what=what, max_bytes=max_bytes), source=os.fspath(path), what=what)


def read_cache_entry(path: str | os.PathLike, key: str, *, what: str, max_bytes: int) -> dict[str, Any] | None:
    """A cache entry: the JSON object at ``path`` recording ``"key": key``; None when absent or unreadable.

    What a cache keeps is never trusted blindly: a missing, damaged, oversized or foreign entry
    reads as None (the caller computes it again), never as an error.
    """
    from .errors import InputError

    if not os.path.isfile(path):
        return None
    try:
        entry = read_json(path, what=what, max_bytes=max_bytes)
    except InputError:
        return None
    return entry if isinstance(entry, dict) and entry.get("key") == key else None


def write_cache_entry(path: str | os.PathLike, key: str, fields: dict[str, Any], *, indent: int | None = None) -> bool:
    """Keep ``{"key": key, **fields}`` at ``path`` atomically (the entry :func:`read_cache_entry` reads back).

    Keeping is an optimisation for a later run: a cache that cannot be written (a full disk, a
    read-only folder) is passed over, costing that run the work and never this one its result.

    Returns
    -------
    bool
        Whether the entry was written.
    """
    from pathlib import Path

    from ._io import atomic_write_json

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"key": key, **fields}, indent=indent)
    except OSError:
        return False
    return True
