"""The ``reasoning`` section of results.json: the four reasoning probes over each attribute's twin texts.

Input is text only (:class:`._texts.TwinTexts` per attribute); the section holds every tested
record, each with its p-value, so that the audit's one Benjamini–Hochberg correction and flag rule
(:mod:`tinyemo_audit.audit._findings`, :mod:`tinyemo_audit.audit._rules`) treat them like every
other probe. What the findings need to show pairs of texts (the texts and their readings) is
returned beside the section as :class:`ReasoningEvidence`; results.json holds only the pairs a
finding shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._leakage import CLASSIFIER, leakage_probe
from ._mentions import lexicon_terms, mention_probe
from ._reading import READING, Reader, minilm_reading, read_twins, text_shift_probe
from ._stated import reference_index, stated_label_probe
from ._texts import TwinTexts

NO_LEXICON = "no lexicon for the attribute in settings reasoning.lexicons"


@dataclass
class ReasoningEvidence:
    """What the findings quote: each attribute's texts, the readings of its conditional texts, its reference column."""

    texts: dict[str, TwinTexts] = field(default_factory=dict)
    readings: dict[str, np.ndarray] = field(default_factory=dict)
    reference: dict[str, int] = field(default_factory=dict)
    lexicons: dict[str, dict[str, Any]] = field(default_factory=dict)


def reasoning_section(texts: Mapping[str, TwinTexts], *, settings: dict[str, Any], references: Mapping[str, Any],
                      seed: int, reader: Reader = minilm_reading,
                      skipped: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], ReasoningEvidence]:
    """Every reasoning probe over every attribute's twin texts.

    Parameters
    ----------
    texts : mapping of attribute → TwinTexts
    settings : dict
        The audit settings (``n_boot``, ``n_perm_paired``, ``min_group_size``, ``reasoning``...).
    references : mapping of attribute → group or None
        The reference group of each attribute (the run's ``reference_groups``).
    seed : int
    reader : callable, optional
        ``reader(texts, classes) -> [n, K]`` emotion readings (default: MiniLM, see :mod:`._reading`).
    skipped : list, optional
        The run's ``run.skipped``; a probe left out for an attribute is added to it.

    Returns
    -------
    (dict, ReasoningEvidence)
        The ``reasoning`` section and what the findings quote.
    """
    options = settings["reasoning"]
    lexicons = options.get("lexicons") or {}
    evidence = ReasoningEvidence()
    by_attribute = {}
    for attr, tt in texts.items():
        ref = reference_index(tt, references.get(attr))
        readings = read_twins(tt, reader)
        entry: dict[str, Any] = {
            "values": list(tt.values), "reference": tt.values[ref], "n_identities": len(tt),
            "expressions": {c: int(np.count_nonzero(tt.labels == k)) for k, c in enumerate(tt.classes)
                            if np.any(tt.labels == k)},
            "free": stated_label_probe(tt, reference=tt.values[ref], settings=settings, seed=seed),
            "conditional": text_shift_probe(tt, readings, reference=ref, settings=settings, seed=seed),
            "mentions": None, "leakage": None,
        }
        lexicon = lexicons.get(attr)
        if lexicon is None:
            if skipped is not None:
                skipped.append({"probe": f"reasoning: attribute mentions and leakage of {attr}", "reason": NO_LEXICON,
                                "metrics": [f"reasoning.by_attribute.{attr}.mentions",
                                            f"reasoning.by_attribute.{attr}.leakage"]})
        else:
            entry["mentions"] = mention_probe(tt, lexicon, reference=ref, settings=settings, seed=seed)
            entry["leakage"] = leakage_probe(
                tt.conditional, tt.reference, lexicon_terms(lexicon), folds=options["leakage"]["folds"],
                n_perm=options["leakage"]["n_perm"], n_boot=settings["n_boot"], seed=seed,
                min_group_size=settings["min_group_size"])
            evidence.lexicons[attr] = lexicon
        by_attribute[attr] = entry
        evidence.texts[attr], evidence.readings[attr], evidence.reference[attr] = tt, readings, ref
    section = {
        "mode_free": "the MM-LLM names the label itself (no hint); its stated label is parsed from the text",
        "mode_conditional": "every twin of an identity gets the same hint (the projector's label of the reference "
                            "twin), so only the image differs",
        "reading": READING,
        "classifier": CLASSIFIER,
        "settings": {k: options[k] for k in ("twins_per_attribute", "max_new_tokens", "attributes", "expressions")},
        "by_attribute": by_attribute,
    }
    return section, evidence
