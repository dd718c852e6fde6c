"""Shared building blocks of the schema models: closed and open sections, bounded field types, rule errors."""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..user_text import has_control, shown

SEED_MAX = 2**32 - 1  # numpy's legacy seeding and torch.manual_seed both take 32-bit seeds
NAME_MAX = 200  # characters in a name: an attribute, a group, a label, a gate
TEXT_MAX = 2_000  # characters in a free-text field: a description, a template


def problem(text: str) -> PydanticCustomError:
    """A rule violation whose message is ``text`` exactly (no templating of its braces)."""
    return PydanticCustomError("rule", "{reason}", {"reason": text})


def no_control(text: str) -> str:
    """``text`` unless it holds a control character (then a rule error echoing it bounded)."""
    if has_control(text):
        raise problem(f"must not hold control characters; got {shown(text)}")
    return text


def _collapse(text: str) -> str:
    """Free text on one line: runs of whitespace (folded YAML lines) become one space."""
    return no_control(" ".join(text.split()))


# Strings: names are single-line and bounded; free text is folded onto one line.
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(no_control)]
FreeText = Annotated[str, Field(max_length=TEXT_MAX), AfterValidator(_collapse)]
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(allow_inf_nan=False, ge=0)]


def placeholders(template: str) -> set[str]:
    """The ``{field}`` names of a str.format template; a problem error if it is malformed.

    Only bare names are allowed: ``{emotion.__class__}``, ``{0}`` or ``{group!r:>9}`` could read
    attributes, need positional arguments or change the text, so they are refused.
    """
    names = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise problem(f"is not a valid template ({err}); got {shown(template)}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise problem(f"placeholders must be plain names such as {{group}}; got {shown(template)}")
        names.add(field)
    return names


class Section(BaseModel):
    """A closed mapping: every key is declared; an unknown key is refused, listing the valid ones.

    Strict types: a string is never read as a number, a number never as a string, ``true`` never as 1.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise problem(f"unknown key {shown(key, limit=40)}; valid keys: {', '.join(cls.model_fields)}")
        return data


class OpenSection(BaseModel):
    """A mapping written by this tool (results.json, bundle.json): declared keys are typed, others kept.

    Unknown keys are allowed so that files written by a newer 1.x version still read.
    """

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, protected_namespaces=())
