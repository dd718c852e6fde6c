"""The schema of a model bundle's bundle.json (format ``tinyemo-audit-bundle``, version 1).

The sections a loader reads are typed (specs are strings, dimensions positive integers, the
temperature a positive finite number, classes a non-empty list of distinct names); keys this
version does not know are kept, so a bundle written by a newer 1.x tool still loads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ..user_text import shown
from ._base import Finite, Name, OpenSection, problem

BUNDLE_FORMAT = "tinyemo-audit-bundle"
BUNDLE_VERSION = 1
DIM_MAX = 1 << 20  # feature and embedding widths; the largest real ones are a few thousand

Dim = Annotated[int, Field(ge=1, le=DIM_MAX)]


class EncoderSection(OpenSection):
    spec: str | None = None
    weights: str | None = None
    dim: Dim | None = None


class LabelSpaceSection(OpenSection):
    spec: str | None = None
    dim: Dim | None = None
    template: str | None = None
    synonyms: bool | None = None
    bos: bool | None = None
    tokenizer: str | None = None
    dtype: str | None = None
    trust_remote_code: bool | None = None
    fingerprint: str | None = None


class TaxonomySection(OpenSection):
    name: str | None = None
    classes: Annotated[list[Name], Field(min_length=1, max_length=10_000)]

    @field_validator("classes")
    @classmethod
    def _distinct(cls, classes: list[str]) -> list[str]:
        if len(set(classes)) != len(classes):
            twice = next(c for i, c in enumerate(classes) if c in classes[:i])
            raise problem(f"lists the class {shown(twice)} twice")
        return classes


class ProjectorSection(OpenSection):
    d_in: Dim
    d_out: Dim
    dropout: Annotated[Finite, Field(ge=0, lt=1)] | None = None
    weights: str | None = None


class LossSection(OpenSection):
    name: str | None = None
    temperature: Annotated[Finite, Field(gt=0)] | None = None


class TrainingDataset(OpenSection):
    spec: str


class TrainingSection(OpenSection):
    datasets: list[TrainingDataset] | None = None


class PreprocessingStep(OpenSection):
    """A feature step before the projector (model/steps.py): fairlearn's CorrelationRemover."""

    kind: Literal["correlation-remover"]
    weights: Name
    columns: Annotated[list[Annotated[list[Name], Field(min_length=2, max_length=2)]], Field(max_length=10_000)]
    alpha: Annotated[Finite, Field(ge=0, le=1)]


class GroupLogits(OpenSection):
    group: dict[Name, Name]
    logits: dict[Name, Finite]


class ThresholdOperation(OpenSection):
    p: Annotated[Finite, Field(ge=0, le=1)]
    threshold: Finite
    operator: Literal[">", "<"]


class GroupThresholds(OpenSection):
    group: dict[Name, Name]
    operations: Annotated[list[ThresholdOperation], Field(min_length=1, max_length=3)]


class DecisionSection(OpenSection):
    """How label scores become a prediction when not plain nearest-label (model/steps.py)."""

    kind: Literal["group-offsets", "one-vs-rest-thresholds"]
    attributes: Annotated[list[Name], Field(min_length=1, max_length=16)]
    offsets: list[GroupLogits] | None = None
    target: Name | None = None
    groups: list[GroupThresholds] | None = None

    @field_validator("offsets", "groups")
    @classmethod
    def _keys(cls, rows, info):
        for row in rows or []:
            if set(row.group) != set(info.data.get("attributes") or []):
                raise problem("every group must name exactly the decision's attributes")
        return rows


class BundleFile(OpenSection):
    """A whole bundle.json."""

    format: str
    version: int
    name: str | None = None
    description: str | None = None
    encoder: EncoderSection
    label_space: LabelSpaceSection
    taxonomy: TaxonomySection
    projector: ProjectorSection
    loss: LossSection
    training: TrainingSection | None = None
    metrics: dict[str, Any] | None = None
    preprocessing: list[PreprocessingStep] | None = None
    decision: DecisionSection | None = None
    mitigation: dict[str, Any] | None = None

    @field_validator("decision")
    @classmethod
    def _complete(cls, decision):
        if decision is not None:
            needed = {"group-offsets": ("offsets",), "one-vs-rest-thresholds": ("target", "groups")}[decision.kind]
            for key in needed:
                if getattr(decision, key) is None:
                    raise problem(f"a {decision.kind} decision needs {key}")
        return decision

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value != BUNDLE_FORMAT:
            raise problem(f"must be {BUNDLE_FORMAT!r}; got {shown(value)}")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != BUNDLE_VERSION:
            raise problem(f"bundle version {shown(value)} is not one this tool reads ({BUNDLE_VERSION})")
        return value
