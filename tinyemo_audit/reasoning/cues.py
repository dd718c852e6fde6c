"""The cue vocabulary: which FACS-style cues a face shows (from what was drawn) and which a text names.

The vocabulary is data (``resources/reasoning_cues.yaml``); see that file for the rule. Both the
instruct builder's reference reasoning and ``eval --reasoning``'s cue precision and recall read it
through this module, so what is written and what is scored cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..paths import RESOURCES_DIR

CUES_FILE = RESOURCES_DIR / "reasoning_cues.yaml"


@dataclass(frozen=True)
class Cue:
    """One cue: a renderer control in one direction, with its phrases (the first is canonical)."""

    id: str
    au: str
    control: str
    sign: int
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class CueVocabulary:
    """Every cue, the visibility threshold and how many cues a reference text names at most."""

    cues: tuple[Cue, ...]
    threshold: float
    max_named: int
    version: int

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.cues)

    def strengths(self, expressions: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """Signed drawn strength of every cue, float ``[N, n_cues]`` (negative: not in its direction).

        Parameters
        ----------
        expressions : ndarray of int
            Index into the faces' EXPRESSIONS.
        intensity : ndarray of float
            The faces' expression intensity (0 for neutral faces).
        """
        from ..data.faces.render import CONTROLS, EXPRESSION_CONTROLS

        columns = np.array([CONTROLS.index(c.control) for c in self.cues])
        signs = np.array([c.sign for c in self.cues], dtype=np.float64)
        drawn = EXPRESSION_CONTROLS[np.asarray(expressions, dtype=np.int64)][:, columns]
        return drawn * np.asarray(intensity, dtype=np.float64)[:, None] * signs

    def visible(self, expressions: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """Boolean ``[N, n_cues]``: the cues drawn beyond the threshold (what eval counts as drawn)."""
        return self.strengths(expressions, intensity) > self.threshold

    def named_in_reference(self, expressions: np.ndarray, intensity: np.ndarray) -> list[list[str]]:
        """Per face, the ids of the visible cues a reference text names: the strongest ``max_named``.

        They are listed in vocabulary order (brows, eyes, nose, mouth: top to bottom of the face);
        ties in strength keep vocabulary order, so the choice is the same on every machine.
        """
        strength = self.strengths(expressions, intensity)
        out = []
        for row in strength:
            strongest = np.argsort(-row, kind="stable")[: self.max_named]
            out.append([self.cues[j].id for j in sorted(strongest) if row[j] > self.threshold])
        return out

    def named_in_text(self, texts: list[str]) -> np.ndarray:
        """Boolean ``[N, n_cues]``: which cues each text names (any of a cue's phrases, whole words)."""
        patterns = _patterns(self)
        out = np.zeros((len(texts), len(self.cues)), dtype=bool)
        for i, text in enumerate(texts):
            for j, pattern in enumerate(patterns):
                out[i, j] = pattern.search(text or "") is not None
        return out

    def cue(self, cue_id: str) -> Cue:
        for c in self.cues:
            if c.id == cue_id:
                return c
        raise KeyError(cue_id)


@lru_cache(maxsize=4)
def _patterns(vocabulary: CueVocabulary) -> tuple[re.Pattern, ...]:
    return tuple(
        re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in cue.phrases) + r")(?!\w)", re.IGNORECASE)
        for cue in vocabulary.cues
    )


@lru_cache(maxsize=1)
def load_cue_vocabulary() -> CueVocabulary:
    """The shipped cue vocabulary, checked (unknown controls, bad signs, overlapping phrases)."""
    from .._yaml import read_yaml_mapping
    from ..data.faces.render import CONTROLS
    from .settings import check_keys

    where = str(CUES_FILE)
    raw = check_keys(read_yaml_mapping(CUES_FILE, what="cue vocabulary"), ("version", "threshold", "max_named", "cues"),
                     where)
    cues = []
    for i, entry in enumerate(raw.get("cues") or []):
        entry = check_keys(entry, ("id", "au", "control", "sign", "phrases"), f"{where}: cues[{i}]")
        if entry.get("control") not in CONTROLS or entry.get("sign") not in (1, -1):
            raise InputError(f"{where}: cues[{i}] needs a control among {', '.join(CONTROLS)} and a sign of 1 or -1")
        phrases = entry.get("phrases")
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p for p in phrases):
            raise InputError(f"{where}: cues[{i}].phrases must be a non-empty list of strings")
        cues.append(Cue(str(entry["id"]), str(entry.get("au", "")), entry["control"], int(entry["sign"]),
                        tuple(phrases)))
    if not cues or len({c.id for c in cues}) != len(cues):
        raise InputError(f"{where}: cues must be a non-empty list with distinct ids")
    return CueVocabulary(tuple(cues), float(raw["threshold"]), int(raw["max_named"]), int(raw["version"]))


def cue_scores(named: np.ndarray, drawn: np.ndarray) -> dict[str, float | int | None]:
    """Micro-averaged cue precision and recall over items.

    Parameters
    ----------
    named, drawn : ndarray of bool, shape (N, n_cues)
        Cues a text names; cues the face shows.

    Returns
    -------
    dict
        ``cue_precision`` (named and drawn / named), ``cue_recall`` (named and drawn / drawn), both
        None when their denominator is 0, plus the three counts.

    Examples
    --------
    >>> import numpy as np
    >>> cue_scores(np.array([[1, 1, 0]], bool), np.array([[1, 0, 1]], bool))["cue_precision"]
    0.5
    """
    named, drawn = np.asarray(named, dtype=bool), np.asarray(drawn, dtype=bool)
    hits = int((named & drawn).sum())
    n_named, n_drawn = int(named.sum()), int(drawn.sum())
    return {
        "cue_precision": hits / n_named if n_named else None,
        "cue_recall": hits / n_drawn if n_drawn else None,
        "cues_named": n_named,
        "cues_drawn": n_drawn,
        "cues_correct": hits,
    }
