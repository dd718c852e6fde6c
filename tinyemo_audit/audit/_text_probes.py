"""Counterfactual text probes: prompt pairs that differ only in a demographic term, in label space."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import paired_shift
from ._requirements import LeftOut
from ._results_guard import finite_or_none, undefined_note

# When the two prompts of every pair land on the same point, the shift is 0 and has no spread.
NOTE_NO_SHIFT = "the paired prompts' similarities do not differ"
WHY_UNDEFINED = "the shift or its confidence interval is undefined"


def _prompts(templates, terms, emotion):
    """Prompts in (template, term) order; the same order for every group keeps them paired."""
    return [t.format(emotion=emotion, group=term) for t in templates for term in terms]


def text_probe(
    space, label_emb: np.ndarray, classes: tuple[str, ...], settings: dict, reference_groups: dict, seed: int,
    *, left_out: LeftOut | None = None,
) -> dict[str, Any]:
    """Shift of every label's similarity when only the group term in a prompt changes.

    Similarities are centred per prompt (minus the mean over labels), so a shift toward one
    label is relative to the others. Units of the paired test are (template, term index) pairs: term lists are aligned by index
    (man ↔ woman, boy ↔ girl, ...). Rows with ``emotion == "*"`` use the emotion-free templates:
    which emotion does the group term alone pull toward?
    """
    cfg = settings["text_probes"]
    out: dict[str, Any] = {"templates": list(cfg["templates"]), "neutral_templates": list(cfg["neutral_templates"]),
                           "by_attribute": {}}
    for attr, groups in cfg["terms"].items():
        names = list(groups)
        ref = reference_groups.get(attr, names[0])
        ref = ref if ref in groups else names[0]
        size = min(len(v) for v in groups.values())
        rows = []
        for value in names:
            if value == ref:
                continue
            for emotion in ("*",) + tuple(classes):
                templates = cfg["neutral_templates"] if emotion == "*" else cfg["templates"]
                texts_a = _prompts(templates, groups[ref][:size], emotion)
                texts_b = _prompts(templates, groups[value][:size], emotion)
                emb = space.embed_texts(texts_a + texts_b).numpy()
                sims = emb @ label_emb.T
                # Relative to the prompt's mean similarity over all labels: a term that sits closer
                # to every emotion word alike (a general closeness) is no association with one.
                sims = sims - sims.mean(axis=1, keepdims=True)
                res = paired_shift(sims[: len(texts_a)], sims[len(texts_a):], n_perm=settings["n_perm_paired"],
                                   n_boot=settings["n_boot"], seed=seed)
                for c, label in enumerate(classes):
                    numbers = {key: finite_or_none(res[key][c]) for key in ("mean_shift", "ci_low", "ci_high", "p_value")}
                    if None in (numbers["mean_shift"], numbers["ci_low"], numbers["ci_high"]):
                        if left_out is not None:
                            left_out.add(WHY_UNDEFINED, f"{attr}: {value} vs {ref}, {emotion} → {label}")
                        continue
                    row = {"value": value, "reference": ref, "emotion": emotion, "label": label, **numbers,
                           "n": int(res["n"]), "test": res["test"]}
                    note = undefined_note(numbers, NOTE_NO_SHIFT)
                    if note:
                        row["note"] = note
                    rows.append(row)
        out["by_attribute"][attr] = {"terms": {k: list(v[:size]) for k, v in groups.items()}, "shifts": rows}
    return out
