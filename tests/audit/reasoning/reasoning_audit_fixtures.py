"""Hand-made twin texts for the reasoning-audit tests: a planted word in one group's texts, known by construction."""

from __future__ import annotations

import numpy as np

from tinyemo_audit.audit.reasoning import TwinTexts
from tinyemo_audit.audit.settings import load_settings

CLASSES = ("angry", "happy", "neutral")
ANGRY, HAPPY, NEUTRAL = range(3)
CALM = "The brows are relaxed and the mouth rests closed."
HOSTILE = " The face looks hostile."
EMOTION_WORDS = {"angry": ("hostile", "angry", "glaring"), "happy": ("smile", "happy"), "neutral": ("relaxed", "calm")}


def word_reading(texts, classes):
    """A stand-in for the MiniLM reading: how many of each emotion's words a text holds."""
    return np.array([[sum(w in t.lower() for w in EMOTION_WORDS[c]) for c in classes] for t in texts], dtype=float)


def planted_texts(n=40, planted=12, *, attribute="skin_group", values=("light", "dark"), reference=None,
                  stated_flips=0, mention=0) -> TwinTexts:
    """``n`` neutral identities; the last group's text says "hostile" for the first ``planted`` of them.

    ``stated_flips`` of them state "angry" in free mode on the last group (the others state neutral);
    ``mention`` of them name "dark skin" in their conditional text on the last group.
    """
    k = len(values)
    conditional = np.full((n, k), CALM, dtype=object)
    conditional[:planted, -1] = CALM + HOSTILE
    for i in range(mention):
        conditional[i, -1] = conditional[i, -1] + " The dark skin is visible."
    stated = np.full((n, k), "neutral", dtype=object)
    stated[:stated_flips, -1] = "angry"
    free = np.where(stated == "angry", "Reasoning: glaring eyes. Predicted Label: angry",
                    "Reasoning: calm. Predicted Label: neutral").astype(object)
    ref = np.full((n, k), CALM, dtype=object) if reference is None else reference
    return TwinTexts(attribute=attribute, values=values, classes=CLASSES, ids=[f"id{i:03d}" for i in range(n)],
                     labels=np.full(n, NEUTRAL), stated=stated, free=free, conditional=conditional,
                     hints=np.full(n, "neutral", dtype=object), reference=ref)


def fast_settings(**reasoning) -> dict:
    """The default settings with small resampling budgets (the tests' time, not their meaning)."""
    settings = load_settings()
    settings["n_boot"] = 200
    settings["n_perm_paired"] = 1000
    settings["reasoning"] = {**settings["reasoning"], "enabled": "auto", "leakage": {"folds": 5, "n_perm": 30}, **reasoning}
    return settings
