"""The schema of gate files (configs/gates/*.yaml, ``--gates FILE``); the format is documented in docs/gates.md.

Names, metric paths and attribute lists are checked here; :mod:`tinyemo_audit.gates._spec` turns
a valid :class:`GateFile` into the plain :class:`~tinyemo_audit.gates.GateSpec` the evaluator uses.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..gates._spec import ATTRIBUTE_PLACEHOLDER, GATE_FILE_VERSION, WILDCARD
from ..user_text import shown
from ._base import Finite, FreeText, Name, Section, no_control, problem

BOUND_TARGETS = ("value", "ci_low", "ci_high")
SEVERITIES = ("fail", "warn")
WHEN_MISSING = ("error", "skip")
MAX_GATES = 1_000
METRIC_MAX = 500
_SEGMENT_RE = re.compile(r"[^{}*]+")

PROBLEM_EMPTY_SEGMENT = "bad metric path {metric}: empty segment (two dots in a row, or a leading/trailing dot)"
PROBLEM_BAD_SEGMENT = "bad metric path {metric}: segment {segment}: use a key, '*' or '{{attribute}}' as a whole segment"
PROBLEM_TWO_PLACEHOLDERS = "bad metric path {metric}: '{{attribute}}' may appear only once"
PROBLEM_ATTRIBUTES = "must be a non-empty list of distinct attribute names without dots, or [\"*\"]; got {got}"
PROBLEM_ATTRIBUTES_WITHOUT_PLACEHOLDER = "'attributes' given but metric {metric} has no {{attribute}} segment"
PROBLEM_MISSING_BOUND = "missing bound: give 'min' and/or 'max'"
PROBLEM_EMPTY_RANGE = "'min' ({min:g}) is greater than 'max' ({max:g})"
PROBLEM_DUPLICATE_NAME = "duplicate gate name {name}: gates[{index}] repeats gates[{first}] (gate names must be unique)"


def check_metric(metric: str) -> str:
    """``metric`` if it is a valid dotted path; otherwise a problem naming the bad segment."""
    segments = metric.split(".")
    for segment in segments:
        if segment == "":
            raise problem(PROBLEM_EMPTY_SEGMENT.format(metric=shown(metric)))
        if segment not in (ATTRIBUTE_PLACEHOLDER, WILDCARD) and not _SEGMENT_RE.fullmatch(segment):
            raise problem(PROBLEM_BAD_SEGMENT.format(metric=shown(metric), segment=shown(segment, limit=40)))
    if segments.count(ATTRIBUTE_PLACEHOLDER) > 1:
        raise problem(PROBLEM_TWO_PLACEHOLDERS.format(metric=shown(metric)))
    return metric


# A baseline results.json, relative to the gate file's folder (docs/gates.md, "Gates relative to a baseline").
BaselinePath = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(no_control)]
MetricPath = Annotated[str, Field(min_length=1, max_length=METRIC_MAX), AfterValidator(no_control)]


class GateEntry(Section):
    """One gate of a gate file (see docs/gates.md for each key)."""

    name: Name
    metric: MetricPath
    attributes: Annotated[list[Name], Field(max_length=100)] | None = None
    min: Finite | None = None
    max: Finite | None = None
    on: Literal["value", "ci_low", "ci_high"] = "value"
    severity: Literal["fail", "warn"] = "fail"
    description: FreeText | None = None
    when_missing: Literal["error", "skip"] | None = None
    skip_reason: FreeText | None = None
    change: bool = False

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        if not value.strip():
            raise problem("must be a non-empty string")
        return value.strip()

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        return check_metric(value.strip())

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        valid = (value and all(a.strip() and "." not in a for a in value) and len(set(value)) == len(value)
                 and (WILDCARD not in value or value == [WILDCARD]))
        if not valid:
            raise problem(PROBLEM_ATTRIBUTES.format(got=shown(value)))
        return value

    @model_validator(mode="after")
    def _bounds_and_placeholder(self) -> GateEntry:
        if self.attributes is not None and ATTRIBUTE_PLACEHOLDER not in self.metric.split("."):
            raise problem(PROBLEM_ATTRIBUTES_WITHOUT_PLACEHOLDER.format(metric=shown(self.metric)))
        if self.min is None and self.max is None:
            raise problem(PROBLEM_MISSING_BOUND)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise problem(PROBLEM_EMPTY_RANGE.format(min=self.min, max=self.max))
        return self


class GateFile(Section):
    """A whole gate file: ``version: 1``, a non-empty list of gates, optional description and default."""

    version: int

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != GATE_FILE_VERSION:
            raise problem(f"must be {GATE_FILE_VERSION} (the only gate file version); got {shown(value)}")
        return value
    description: FreeText | None = None
    when_missing: Literal["error", "skip"] = "error"
    baseline: BaselinePath | None = None
    gates: Annotated[list[GateEntry], Field(min_length=1, max_length=MAX_GATES)]

    @field_validator("gates")
    @classmethod
    def _unique_names(cls, gates: list[GateEntry]) -> list[GateEntry]:
        seen: dict[str, int] = {}
        for index, gate in enumerate(gates):
            if gate.name in seen:
                raise problem(PROBLEM_DUPLICATE_NAME.format(name=shown(gate.name), first=seen[gate.name], index=index))
            seen[gate.name] = index
        return gates
