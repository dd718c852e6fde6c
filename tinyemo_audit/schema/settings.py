"""The schema of audit settings (configs/audit/default.yaml and a user's --config override).

Types, ranges and the reason for each range live here and in the comments of
configs/audit/default.yaml. How an override is applied (:func:`merge_settings`):

- mappings merge **key by key**, at every level: an override of ``reference_groups.age`` or of
  ``text_probes.terms.gender.feminine`` keeps every other default;
- lists and numbers replace the default whole (a list of templates is one value);
- in the mappings keyed by the data's names (``reference_groups``, ``association_sets``,
  ``text_probes.terms`` and each attribute under it) ``null`` removes a default entry; elsewhere
  ``null`` is an error like any other wrong type.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..user_text import shown
from ._base import Name, NonNegative, Section, placeholders, problem

# Bootstrap CIs are percentile intervals: with B replicates the 2.5 % end is the (0.025·B)-th
# order statistic, which below ~100 replicates is one of the two or three most extreme values.
# Permutation p-values are at least 1/(1 + n_perm): below 100 permutations no test can reach
# p < 0.01, so after the Benjamini–Hochberg correction over an audit's hundreds of tests nothing
# could ever be flagged. Upper bounds keep run time and memory sane (both grow linearly).
RESAMPLES_MIN = 100
BOOT_MAX = 100_000
PERM_MAX = 100_000
# Twin sets are rendered (64x64 RGB per identity and group) and held in memory with their
# sign-flip matrices (n_perm_paired x identities).
TWINS_MAX = 5_000
COUNT_MAX = 1_000_000_000
UMAP_CAP_MIN, UMAP_CAP_MAX = 100, 200_000
LIST_MAX = 100  # templates, terms per group, groups per attribute, labels per set
TEMPLATE_FIELDS = {"emotion", "group"}
NEUTRAL_FIELDS = {"group"}
OPEN_MAPS = ("reference_groups", "association_sets", "text_probes.terms", "text_probes.terms.*")

Count = Annotated[int, Field(ge=2, le=COUNT_MAX)]
Terms = Annotated[list[Name], Field(min_length=1, max_length=LIST_MAX)]


class MinEffect(Section):
    """The smallest effect worth a flag, per probe (every bar at least 0, and reachable)."""

    disparity: Annotated[NonNegative, Field(le=1)] = 0.05  # a difference of two proportions is at most 1
    prob_shift: Annotated[NonNegative, Field(le=1)] = 0.03  # so is a change of a probability
    text_shift: Annotated[NonNegative, Field(le=2)] = 0.02  # a cosine difference is at most 2
    effect_size: Annotated[NonNegative, Field(le=2)] = 0.5  # WEAT's d is at most 2 in absolute value
    skew: Annotated[NonNegative, Field(le=20)] = 0.4  # ln of a ratio of shares; ln(1e-9) ≈ -20.7
    flip_rate: Annotated[NonNegative, Field(le=1)] = 0.05


class Discovery(Section):
    method: Literal["hdbscan", "kmeans"] = "hdbscan"
    umap_cap: Annotated[int, Field(ge=UMAP_CAP_MIN, le=UMAP_CAP_MAX)] = 5000


def _check_template(template: str, fields: set[str], key: str) -> None:
    found = placeholders(template)
    if found != fields:
        need = " and ".join(f"{{{f}}}" for f in sorted(fields))
        extra = sorted(found - fields)
        detail = f"; {{{extra[0]}}} is not one" if extra else ""
        raise problem(f"{key} must each use exactly {need}{detail}; got {shown(template)}")


class TextProbes(Section):
    templates: Annotated[list[Annotated[str, Field(min_length=1, max_length=300)]],
                         Field(min_length=1, max_length=LIST_MAX)]
    neutral_templates: Annotated[list[Annotated[str, Field(min_length=1, max_length=300)]],
                                 Field(min_length=1, max_length=LIST_MAX)]
    terms: Annotated[dict[Name, Annotated[dict[Name, Terms], Field(max_length=LIST_MAX)]], Field(max_length=LIST_MAX)]

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: list[str]) -> list[str]:
        for template in value:
            _check_template(template, TEMPLATE_FIELDS, "templates")
        return value

    @field_validator("neutral_templates")
    @classmethod
    def _neutral_templates(cls, value: list[str]) -> list[str]:
        for template in value:
            _check_template(template, NEUTRAL_FIELDS, "neutral templates")
        return value

    @field_validator("terms")
    @classmethod
    def _paired_terms(cls, value: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for attribute, groups in value.items():
            if len(groups) < 2:
                raise problem(f"attribute {shown(attribute)} needs at least two groups to compare; "
                              f"got {len(groups)}")
            sizes = {group: len(words) for group, words in groups.items()}
            # Prompts are paired by position (man <-> woman, boy <-> girl): unequal lists would
            # silently drop the extra terms.
            if len(set(sizes.values())) > 1:
                listed = ", ".join(f"{shown(g)} has {n}" for g, n in sizes.items())
                raise problem(f"the groups of {shown(attribute)} are paired term by term, so they must list "
                              f"as many terms each; {listed}")
        return value


class AuditSettings(Section):
    """Every audit setting; see configs/audit/default.yaml for what each one does and its range."""

    n_boot: Annotated[int, Field(ge=RESAMPLES_MIN, le=BOOT_MAX)] = 1000
    n_perm: Annotated[int, Field(ge=RESAMPLES_MIN, le=PERM_MAX)] = 1000
    n_perm_paired: Annotated[int, Field(ge=RESAMPLES_MIN, le=PERM_MAX)] = 10000
    q_max: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.05
    min_group_size: Count = 30
    min_effect: MinEffect = MinEffect()
    twins_per_attribute: Annotated[int, Field(ge=2, le=TWINS_MAX)] = 420
    reference_groups: Annotated[dict[Name, Name | None], Field(max_length=LIST_MAX)] = {}
    skew_k: Annotated[int, Field(ge=1, le=COUNT_MAX)] = 100
    discovery: Discovery = Discovery()
    example_reasoning: bool = True
    association_sets: Annotated[dict[Name, Terms], Field(max_length=LIST_MAX)]
    text_probes: TextProbes

    @field_validator("association_sets")
    @classmethod
    def _two_sets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) != 2:
            names = ", ".join(shown(k) for k in list(value)[:6])
            raise problem(f"must hold exactly two label sets (A and B of the association test); got {len(value)}"
                          f"{': ' + names if names else ''} (set a default set to null to drop it)")
        (a_name, a), (b_name, b) = value.items()
        both = sorted(set(a) & set(b))
        if both:
            raise problem(f"a label cannot be in both sets ({shown(a_name)} and {shown(b_name)}); got {shown(both[0])}")
        return value

    @model_validator(mode="after")
    def _references_name_term_groups(self) -> AuditSettings:
        # The text probes start from the reference group too: a reference they do not know would
        # silently fall back to the first group of the terms.
        for attribute, group in self.reference_groups.items():
            groups = self.text_probes.terms.get(attribute)
            if group is not None and groups is not None and group not in groups:
                raise problem(f"reference_groups: {shown(group)} is the reference of {shown(attribute)}, but the "
                              f"text-probe terms of {shown(attribute)} name no such group (groups: "
                              f"{shown(list(groups))}); use one name for a group in both")
        return self


def _is_open(path: tuple[str, ...]) -> bool:
    joined = ".".join(path)
    return any(joined == p or (p.endswith(".*") and len(path) == p.count(".") + 1
                               and joined.startswith(p[:-2] + "."))
               for p in OPEN_MAPS)


def merge_settings(defaults: dict[str, Any], override: dict[str, Any], _path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``defaults`` with ``override`` applied key by key (see the module docstring).

    Unknown keys and wrong types are passed through for :class:`AuditSettings` to report.
    """
    out = copy.deepcopy(defaults)
    for key, value in override.items():
        path = (*_path, str(key))
        if value is None and _is_open(_path):
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_settings(out[key], value, path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def overridden_keys(override: Any, _path: tuple[str, ...] = ()) -> frozenset[str]:
    """Dotted paths of every leaf (and every nulled entry) an override sets."""
    if not isinstance(override, dict) or not override:
        return frozenset({".".join(_path)}) if _path else frozenset()
    keys: set[str] = set()
    for key, value in override.items():
        keys |= overridden_keys(value, (*_path, str(key)))
    return frozenset(keys)
