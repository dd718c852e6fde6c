"""Conditional-mode twins: does the *text* change when only the attribute does? Its emotion reading, paired.

How strongly a text reads as each emotion is the cosine between its MiniLM sentence embedding
(all-MiniLM-L6-v2, the frozen text encoder the faces encoder was trained against; offline,
deterministic) and the embedding of a short prompt naming the emotion (:data:`EMOTION_PROMPT`).
Why an embedding and not a word list: the words a biased text adds are open-ended ("hostile",
"menacing", "glaring", "cold") and a list only finds the words someone thought of; the embedding
places any wording on every emotion's direction, and a paired difference cancels whatever the
two texts share. The word list that is kept as data is the attribute lexicon
(:mod:`._lexicon`), where exact words matter.

Each twin pair (same identity, same hint, only the image differs) gives a difference of the
reading on each emotion, tested with the image twins' paired sign-flip test, over all pairs and per
true expression. The probe takes the readings, not the encoder, so tests pass any reading.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...metrics import paired_shift
from ._texts import TwinTexts

EMOTION_PROMPT = "a face that looks {emotion}"
READING = (f"cosine between the text's MiniLM (all-MiniLM-L6-v2) sentence embedding and that of "
           f"\"{EMOTION_PROMPT}\"")

Reader = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def minilm_reading(texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Emotion reading of each text: float64 ``[len(texts), len(classes)]`` cosines (see module docstring).

    Each distinct text is embedded once (twins often write the same text).
    """
    from ...text_encoder import minilm_text_encoder

    encoder = minilm_text_encoder()
    distinct, inverse = np.unique(np.asarray(list(texts), dtype=object).astype(str), return_inverse=True)
    embedded = encoder.encode(list(distinct)) if len(distinct) else np.zeros((0, encoder.dim), np.float32)
    prompts = encoder.encode([EMOTION_PROMPT.format(emotion=c) for c in classes])
    return (embedded.astype(np.float64) @ prompts.astype(np.float64).T)[inverse.reshape(-1)]


def read_twins(tt: TwinTexts, reader: Reader = minilm_reading) -> np.ndarray:
    """The reading of every conditional-mode text: ``[identities, groups, classes]``."""
    n, k = tt.conditional.shape
    flat = reader(list(tt.conditional.ravel()), tt.classes)
    return np.asarray(flat, dtype=np.float64).reshape(n, k, len(tt.classes))


def text_shift_probe(tt: TwinTexts, readings: np.ndarray, *, reference: int, settings: dict[str, Any],
                     seed: int) -> dict[str, Any]:
    """The conditional-mode record of one attribute: per (group, true expression, label) the paired shift.

    Parameters
    ----------
    tt : TwinTexts
    readings : ndarray, shape (identities, groups, classes)
        From :func:`read_twins`.
    reference : int
        Column of the reference group.

    Returns
    -------
    dict
        ``reading`` (what the numbers are), ``identical`` (per group: pairs whose two texts are
        the same) and ``shifts`` rows with ``mean_shift`` (mean change of the reading from the
        reference twin to the changed one), its CI, p-value, ``n`` and the mean reading on each side.
        A label whose reading no pair changes is not tested.
    """
    n_boot, n_perm = settings["n_boot"], settings["n_perm_paired"]
    shifts, identical = [], {}
    for j, value in enumerate(tt.values):
        if j == reference:
            continue
        same = tt.conditional[:, reference] == tt.conditional[:, j]
        identical[value] = int(np.count_nonzero(same))
        for true_class, rows in tt.expression_rows():
            if len(rows) < 2:
                continue
            before, after = readings[rows, reference], readings[rows, j]
            res = paired_shift(before, after, n_perm=n_perm, n_boot=n_boot, seed=seed)
            for c, label in enumerate(tt.classes):
                if not np.any(before[:, c] != after[:, c]):
                    continue
                shifts.append({
                    "value": value, "reference": tt.values[reference], "true_class": true_class, "label": label,
                    "mean_shift": float(res["mean_shift"][c]), "ci_low": float(res["ci_low"][c]),
                    "ci_high": float(res["ci_high"][c]), "p_value": float(res["p_value"][c]), "n": int(len(rows)),
                    "reading_reference": float(before[:, c].mean()), "reading_value": float(after[:, c].mean()),
                    "n_identical": int(np.count_nonzero(same[rows])),
                    "test": res["test"], "flaggable": bool(len(rows) >= settings["min_group_size"]),
                })
    return {"reading": READING, "identical": identical, "shifts": shifts}


def pair_order(readings: np.ndarray, rows: np.ndarray, reference: int, column: int, label: int) -> np.ndarray:
    """``rows`` ordered by how much the reading on ``label`` rose from the reference twin (largest first; ties by row)."""
    rise = readings[rows, column, label] - readings[rows, reference, label]
    return rows[np.lexsort((rows, -rise))]
