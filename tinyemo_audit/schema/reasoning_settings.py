"""The schema of the reasoning audit's settings (``reasoning:`` in configs/audit/default.yaml), lexicons included.

The reasoning audit (docs/results-schema.md, ``reasoning``) runs only on a bundle with a
``reasoning/`` part. Its cost is bounded here: how many twin identities per attribute are sent
through the MM-LLM (each twin set costs identities × groups × 2 generations, free and
conditional), and how many tokens each generation may write. Attribute lexicons are data: per
protected attribute, the words that name it in general (``general``) and those that name one of
its groups (``groups``); every list must be non-empty, and an attribute must list some words.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..user_text import shown
from ._base import Name, Section, no_control, problem

TWINS_MAX = 5_000  # as for the image twins (settings.TWINS_MAX)
TOKENS_MAX = 512  # SmolLM2's answers are a sentence or two; more only costs time
LEXICON_MAX = 500  # terms in one list
FOLDS_MIN, FOLDS_MAX = 2, 20
LEAKAGE_PERM_MIN, LEAKAGE_PERM_MAX = 100, 10_000  # a percentile CI needs 100; 10 000 stacked refits took ~50 s an attribute on 2 busy cores

Term = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_control)]
Terms = Annotated[list[Term], Field(min_length=1, max_length=LEXICON_MAX)]


class Lexicon(Section):
    """The words that name one protected attribute: in general, and per group."""

    general: Terms | None = None
    groups: Annotated[dict[Name, Terms], Field(max_length=100)] = {}

    @field_validator("general", "groups")
    @classmethod
    def _no_blank_terms(cls, value):
        terms = value if isinstance(value, list) else [t for words in (value or {}).values() for t in words]
        for term in terms or []:
            if not any(c.isalnum() for c in term):
                raise problem(f"a term must hold a word (a letter or digit); got {shown(term)}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Lexicon:
        if not self.general and not self.groups:
            raise problem("an empty lexicon: list the words that name the attribute (general) or its groups (groups)")
        return self


class Leakage(Section):
    """The LIC-style leakage classifier: cross-validation folds and permutations of its null."""

    folds: Annotated[int, Field(ge=FOLDS_MIN, le=FOLDS_MAX)] = 5
    n_perm: Annotated[int, Field(ge=LEAKAGE_PERM_MIN, le=LEAKAGE_PERM_MAX)] = 1000


class ReasoningSettings(Section):
    """Every reasoning-audit setting; see configs/audit/default.yaml for what each one does."""

    enabled: Literal["auto"] | bool = "auto"
    twins_per_attribute: Annotated[int, Field(ge=2, le=TWINS_MAX)] = 40
    max_new_tokens: Annotated[int, Field(ge=1, le=TOKENS_MAX)] = 48
    attributes: Annotated[list[Name], Field(min_length=1, max_length=100)] | None = None
    expressions: Annotated[list[Name], Field(min_length=1, max_length=100)] | None = None
    leakage: Leakage = Leakage()
    lexicons: Annotated[dict[Name, Lexicon], Field(min_length=1, max_length=100)]
