"""What results.json may hold: finite numbers only, and user text with its control characters made visible.

A statistic that the data cannot define (a Cramér's V with one label, an effect size over items
that all sit on one point, a p-value of a test with nothing to permute) is ``null`` in
results.json, with a ``note`` saying why; never NaN or Infinity, which JSON cannot hold and which
a gate could misread. Probes use :func:`finite_or_none` and :func:`undefined_note`;
:func:`check_finite` runs once over the whole result before it is written, and a non-finite
number reaching it is a bug in a probe, reported with the JSON path of the value.

Every string in the result (keys too: attribute and group names are keys) passes through
:func:`~tinyemo_audit.user_text.visible` once, in :func:`visible_strings`: whatever a loader or a
gate file let through, results.json (and every output rendered from it) holds no raw control or
bidi character.
Examples
--------
>>> finite_or_none(float("nan")) is None, finite_or_none(0.25)
(True, 0.25)
>>> try:
...     check_finite({"a": [1.0, {"b": float("inf")}]})
... except NonFiniteResultError as err:
...     print(str(err).split(";")[0])
results.json would hold inf at $.a[1].b
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

MSG_NON_FINITE = ("results.json would hold {value} at {path}; a probe let an undefined statistic through "
                  "instead of null with a note (this is a bug in tinyemo-audit)")


class NonFiniteResultError(RuntimeError):
    """A NaN or infinite number reached the results writer: a bug, never bad input (exit 3 at the CLI)."""


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float, or None where it is missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def undefined_note(fields: Mapping[str, Any], why: str) -> str | None:
    """``"<names> undefined: <why>"`` for the fields of ``fields`` that are None, else None."""
    missing = [name for name, value in fields.items() if value is None]
    return f"{', '.join(missing)} undefined: {why}" if missing else None


def _key(path: str, key: Any) -> str:
    key = str(key)
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]"


def check_finite(results: Any, root: str = "$") -> None:
    """Raise :class:`NonFiniteResultError` naming the JSON path of the first NaN or infinite number.

    Parameters
    ----------
    results : JSON-like
        Nested dicts, lists and tuples of numbers, strings, booleans and None (numpy scalars too).
    root : str
        How the top of ``results`` is named in the message.
    """
    stack: list[tuple[str, Any]] = [(root, results)]
    while stack:  # iterative: depth never meets the recursion limit
        path, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((_key(path, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, np.ndarray):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value.tolist()))))
        elif isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
            raise NonFiniteResultError(MSG_NON_FINITE.format(value=float(value), path=path))


def visible_strings(value: Any) -> Any:
    """``value`` with every string in it (mapping keys included) passed through :func:`~tinyemo_audit.user_text.visible`.

    Tabs and newlines stay (model cards are markdown); numbers, booleans and None are kept as they
    are. Iterative, so any depth is fine.
    """
    from ..user_text import visible

    def convert(item: Any) -> tuple[Any, list]:
        if isinstance(item, str):
            return visible(item), []
        if isinstance(item, Mapping):
            keys = [(visible(k) if isinstance(k, str) else k, v) for k, v in item.items()]
            out: dict = dict.fromkeys(k for k, _ in keys)  # insertion order kept: keys first, values below
            return out, [(out, k, v) for k, v in keys]
        if isinstance(item, (list, tuple)):
            out_list: list = [None] * len(item)
            return out_list, [(out_list, i, v) for i, v in enumerate(item)]
        return item, []

    root, pending = convert(value)
    while pending:
        container, key, item = pending.pop()
        converted, children = convert(item)
        container[key] = converted
        pending.extend(children)
    return root


def guard_results(results: dict[str, Any]) -> dict[str, Any]:
    """The result as it may be written: strings made visible, and a :class:`NonFiniteResultError` on NaN/Infinity."""
    check_finite(results)
    return visible_strings(results)
