"""Value sets of the faces corpus: expressions, protected and nuisance attributes, colours, caption words."""

from __future__ import annotations

import numpy as np

EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# Monk Skin Tone scale swatches (Ellis Monk / Google, MST-1 ... MST-10), sRGB hex.
MONK_SKIN_TONE_SWATCHES: dict[str, str] = {
    "MST-1": "#f6ede4", "MST-2": "#f3e7db", "MST-3": "#f7ead0", "MST-4": "#eadaba",
    "MST-5": "#d7bd96", "MST-6": "#a07e56", "MST-7": "#825c43", "MST-8": "#604134",
    "MST-9": "#3a312a", "MST-10": "#292420",
}
# Six swatches spanning the scale, evenly spaced in lightness; level "1" is the lightest.
SKIN_TONE_SWATCH: dict[str, str] = {
    "1": "MST-1", "2": "MST-3", "3": "MST-5", "4": "MST-6", "5": "MST-8", "6": "MST-10",
}
SKIN_GROUP_OF_TONE: dict[str, str] = {
    "1": "light", "2": "light", "3": "medium", "4": "medium", "5": "dark", "6": "dark",
}
# The swatch a skin_group twin uses: one fixed level per group (the lighter of its two).
SKIN_GROUP_TWIN_TONE: dict[str, str] = {"light": "1", "medium": "3", "dark": "5"}

PROTECTED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "skin_tone": ("1", "2", "3", "4", "5", "6"),
    "skin_group": ("light", "medium", "dark"),
    "gender": ("feminine", "masculine"),
    "age": ("child", "adult", "older"),
}

HAIR_COLORS: dict[str, str] = {
    "black": "#1c1714", "brown": "#5a3a22", "blond": "#c9a55c", "red": "#9a3f1c", "auburn": "#6e2c1e",
}
BACKGROUNDS: dict[str, str] = {
    "grey": "#9a9a9a", "blue": "#7f9cc4", "green": "#8fb48a", "beige": "#cdbd9c",
    "pink": "#d0a0b0", "teal": "#6fa8a3",
}
CLOTHING: dict[str, str] = {
    "navy": "#263a66", "red": "#8c2a2a", "white": "#e6e6e6", "olive": "#5c6634", "black": "#222222",
}

NUISANCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "hair_color": tuple(HAIR_COLORS),
    "hair_style": ("straight", "curly"),
    "glasses": ("no", "yes"),
    "background": tuple(BACKGROUNDS),
    "clothing": tuple(CLOTHING),
}

# Every categorical column of ``Dataset.attributes``, in order.
ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {**PROTECTED_ATTRIBUTES, **NUISANCE_ATTRIBUTES}

GREY_HAIR = "#bdbab5"

# Caption vocabulary: several words per expression so the text encoder sees variety.
EXPRESSION_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "angry": ("angry", "furious", "annoyed"),
    "disgust": ("disgusted", "revolted", "grossed-out"),
    "fear": ("scared", "frightened", "fearful"),
    "happy": ("smiling", "happy", "joyful"),
    "sad": ("sad", "unhappy", "sorrowful"),
    "surprise": ("surprised", "astonished", "amazed"),
    "neutral": ("calm", "neutral-looking", "expressionless"),
}
PERSON_NOUNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("child", "feminine"): ("girl", "little girl"),
    ("child", "masculine"): ("boy", "little boy"),
    ("adult", "feminine"): ("woman", "young woman"),
    ("adult", "masculine"): ("man", "young man"),
    ("older", "feminine"): ("older woman", "elderly woman"),
    ("older", "masculine"): ("older man", "elderly man"),
}
SKIN_WORDS: dict[str, tuple[str, ...]] = {
    "light": ("light", "fair", "pale"),
    "medium": ("medium", "tan", "olive"),
    "dark": ("dark", "deep brown", "dark brown"),
}
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a photo of a {adj} {person} with {skin} skin{extra}",
    "a close-up of a {person} with {skin} skin looking {adj}{extra}",
    "a {adj} {person} with {skin} skin{extra}",
    "a portrait of a {person} with {skin} skin, {adj}{extra}",
    "a face of a {adj} {person}, {skin} skin{extra}",
)


def hex_rgb(code: str) -> np.ndarray:
    """``"#rrggbb"`` as a float array of three values in [0, 255]."""
    code = code.lstrip("#")
    return np.array([int(code[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def palette(table: dict[str, str], order: tuple[str, ...]) -> np.ndarray:
    """Colours of ``order`` (keys of ``table``) as a float array [len(order), 3]."""
    return np.stack([hex_rgb(table[k]) for k in order])


SKIN_RGB = palette(
    {k: MONK_SKIN_TONE_SWATCHES[v] for k, v in SKIN_TONE_SWATCH.items()}, PROTECTED_ATTRIBUTES["skin_tone"]
)
HAIR_RGB = palette(HAIR_COLORS, NUISANCE_ATTRIBUTES["hair_color"])
BACKGROUND_RGB = palette(BACKGROUNDS, NUISANCE_ATTRIBUTES["background"])
CLOTHING_RGB = palette(CLOTHING, NUISANCE_ATTRIBUTES["clothing"])
