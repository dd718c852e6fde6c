"""Turning pydantic's ValidationError into the one-line InputError every schema failure becomes.

A message reads ``<file>: <key path>: <problem>; got <value>``, e.g.
``audit.yaml: discovery.method: must be 'hdbscan' or 'kmeans'; got 'dbscan'`` or
``strict.yaml: gates[2] ('TPR gap').on: must be 'value', 'ci_low' or 'ci_high'; got 'ci_mid'``.
Every part that comes from the input (keys, values, the file name) is shown bounded and with
control characters made visible (:mod:`tinyemo_audit.user_text`), and the whole line is at most
:data:`MESSAGE_LIMIT` characters, so a hostile input can never make a long or multi-line error.
Only the first problem is named (with a count of the others): one line, the first thing to fix.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InputError
from ..input_files import shown_path
from ..user_text import shorten, shown, visible

MESSAGE_LIMIT = 378  # with "tinyemo-audit: error: " in front, a line stays within 400 characters
SOURCE_LIMIT = 90
PATH_LIMIT = 100
KEY_LIMIT = 40

_KIND = {
    "int_type": "must be an integer", "int_parsing": "must be an integer", "int_from_float": "must be an integer",
    "float_type": "must be a number", "float_parsing": "must be a number", "finite_number": "must be a finite number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be a string", "list_type": "must be a list", "tuple_type": "must be a list",
    "set_type": "must be a list", "dict_type": "must be a mapping", "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping", "none_required": "must be null",
}
_RANGE = {
    "greater_than_equal": ("ge", "must be at least {}"), "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"), "less_than": ("lt", "must be less than {}"),
}

M = TypeVar("M", bound=BaseModel)


def source_text(source: str | os.PathLike) -> str:
    """The file a message names: visible, and at most SOURCE_LIMIT characters (its end kept: the name)."""
    text = shown_path(source)
    return text if len(text) <= SOURCE_LIMIT else "…" + text[-(SOURCE_LIMIT - 1):]


def key_text(key: Any) -> str:
    """A key of the input as a key path shows it: visible and bounded."""
    return shorten(visible(str(key), one_line=True), KEY_LIMIT)


def _child(node: Any, key: Any) -> Any:
    try:
        if isinstance(node, dict) and key in node:
            return node[key]
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            return node[key]
    except TypeError:
        pass
    return None


def key_path(loc: tuple, data: Any) -> str:
    """``loc`` as a readable key path: ``text_probes.terms.gender``, ``gates[2] ('TPR gap').on``.

    A list item that is a mapping with a string ``name`` is shown with that name.
    """
    parts: list[str] = []
    node = data
    for item in loc:
        if item == "[key]":  # pydantic's marker: the problem is the key itself, not its value
            parts.append(" (the key)")
            continue
        if isinstance(item, int):
            node = _child(node, item)
            name = node.get("name") if isinstance(node, dict) else None
            label = f" ({shown(name.strip(), limit=KEY_LIMIT)})" if isinstance(name, str) and name.strip() else ""
            parts.append(f"[{item}]{label}")
        else:
            node = _child(node, item)
            parts.append(("." if parts else "") + key_text(item))
    return shorten("".join(parts), PATH_LIMIT)


def _data_loc(loc: tuple, data: Any, kind: str = "") -> tuple:
    """``loc`` without pydantic's union-member tags (``literal['auto']``, ``bool``, ...).

    Once the path leaves the input (a name the mapping there lacks, other than the key a "missing"
    error names; a name after a list; anything after a plain value), what pydantic adds names a
    member of the field's type, not a place in the input.
    """
    node = data
    for depth, item in enumerate(loc):
        if item == "[key]":
            continue
        missing_key = kind == "missing" and depth == len(loc) - 1
        if (not isinstance(node, (dict, list)) or (isinstance(node, list) and not isinstance(item, int))
                or (isinstance(node, dict) and item not in node and not missing_key)):
            return loc[:depth]
        node = _child(node, item)
    return loc


def _describe(error: dict) -> tuple[tuple, str]:
    """(location named, problem text) of one pydantic error."""
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return loc[:-1], f"missing required key {shown(loc[-1], limit=KEY_LIMIT)}"
    if kind == "extra_forbidden":
        return loc[:-1], f"unknown key {shown(loc[-1], limit=KEY_LIMIT)}"
    if kind == "rule":
        return loc, str(ctx.get("reason", error["msg"]))
    if kind in _KIND:
        text = _KIND[kind]
    elif kind in _RANGE:
        bound, template = _RANGE[kind]
        text = template.format(ctx.get(bound))
    elif kind == "literal_error":
        text = f"must be {ctx.get('expected')}"
    elif kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        text = "must not be empty" if least == 1 else f"must have at least {least} entries"
    elif kind == "too_long":
        text = f"must have at most {ctx.get('max_length')} entries"
    elif kind == "string_too_long":
        text = f"must be at most {ctx.get('max_length')} characters long"
    elif kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
    else:
        text = shorten(visible(str(error["msg"]), one_line=True), 120)
    return loc, f"{text}; got {shown(value)}"


def input_error(err: ValidationError, *, source: str | os.PathLike, data: Any) -> InputError:
    """The one conversion of a pydantic ValidationError into a one-line, bounded InputError.

    Parameters
    ----------
    err : pydantic.ValidationError
        From validating ``data`` against a schema model.
    source : str or path-like
        The file the data came from (named first in the message).
    data : Any
        The data validated; list items are named by their ``name`` key where they have one.

    Returns
    -------
    InputError
        ``"<source>: <key path>: <problem>"``, at most :data:`MESSAGE_LIMIT` characters.
    """
    errors = [{**e, "loc": _data_loc(tuple(e["loc"]), data, e["type"])} for e in err.errors(include_url=False)]
    # A value that fits none of a union's members gives one error per member at the same place:
    # they are one problem ("must be 'auto', or must be true or false"), named once.
    first = errors[0]["loc"]
    same = [e for e in errors if e["loc"] == first]
    described = [_describe(e) for e in same]
    loc, text = described[0]
    if len(same) > 1:
        musts = list(dict.fromkeys(t.rsplit("; got ", 1)[0] for _, t in described))
        text = ", or ".join(musts) + text[len(text.rsplit("; got ", 1)[0]):]
    rest = len(errors) - len(same)
    where = key_path(loc, data)
    more = f" (and {rest} more problem{'s' if rest > 1 else ''})" if rest else ""
    message = f"{source_text(source)}: {where + ': ' if where else ''}{text}{more}"
    message = " ".join(visible(message, one_line=True).split())
    return InputError(shorten(message, MESSAGE_LIMIT))


def validate(model: type[M], data: Any, *, source: str | os.PathLike, context: dict | None = None) -> M:
    """``model.model_validate(data)``, with any validation failure as one InputError line naming ``source``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        raise input_error(err, source=source, data=data) from None
