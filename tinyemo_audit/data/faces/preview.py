"""Contact sheet of the faces corpus: one row per expression, one column per demographic group."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..._io import atomic_write_bytes
from .attributes import EXPRESSIONS, PROTECTED_ATTRIBUTES, SKIN_GROUP_OF_TONE
from .params import sample_parameters
from .render import finish, render_face

PREVIEW_STREAM = 2
PREVIEW_SIZE = 128
PREVIEW_INTENSITY = 0.9


def preview_grid(*, seed: int = 0, size: int = PREVIEW_SIZE) -> tuple[np.ndarray, list[str]]:
    """Faces of the contact sheet and the column captions.

    Each column is one identity (skin group x gender x age, the two swatches of a group
    alternating); each row shows that identity with one expression at high intensity.

    Returns
    -------
    grid : ndarray of uint8, shape (7, n_columns, size, size, 3)
    columns : list of str
    """
    tones = PROTECTED_ATTRIBUTES["skin_tone"]
    combos = []
    for group in PROTECTED_ATTRIBUTES["skin_group"]:
        pair = [t for t in tones if SKIN_GROUP_OF_TONE[t] == group]
        for g, gender in enumerate(PROTECTED_ATTRIBUTES["gender"]):
            for a, age in enumerate(PROTECTED_ATTRIBUTES["age"]):
                tone = pair[(g + a) % 2]
                combos.append((tones.index(tone), g, a, f"{group} {gender[0].upper()} {age}"))
    params = sample_parameters(len(combos), seed=seed, split="test", stream=PREVIEW_STREAM)
    grid = np.empty((len(EXPRESSIONS), len(combos), size, size, 3), dtype=np.uint8)
    for j, (tone, gender, age, _) in enumerate(combos):
        base = params.iloc[j].to_dict() | {"skin_tone": tone, "gender": gender, "age": age}
        for e in range(len(EXPRESSIONS)):
            level = PREVIEW_INTENSITY if e != EXPRESSIONS.index("neutral") else 0.0
            # Sensor noise is left out so that the committed PNG compresses to a small file.
            p = base | {"expression": e, "intensity": level, "noise_sigma": 0.0}
            grid[e, j] = finish(render_face(p, size), p)
    return grid, [c[3] for c in combos]


def preview_png(*, seed: int = 0) -> bytes:
    """The contact sheet (expressions x demographic groups) as PNG bytes.

    Parameters
    ----------
    seed : int
        Corpus seed the identities come from.
    """
    grid, columns = preview_grid(seed=seed)
    rows, cols, size = grid.shape[0], grid.shape[1], grid.shape[2]
    left, top, pad = 110, 34, 4
    width, height = left + cols * (size + pad), top + rows * (size + pad)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=20)
    small = ImageFont.load_default(size=13)
    for j, name in enumerate(columns):
        x = left + j * (size + pad) + size // 2
        draw.text((x, top // 2), name, fill=(40, 40, 40), font=small, anchor="mm")
    for e, expression in enumerate(EXPRESSIONS):
        y = top + e * (size + pad)
        draw.text((left - 10, y + size // 2), expression, fill=(20, 20, 20), font=font, anchor="rm")
        for j in range(cols):
            sheet.paste(Image.fromarray(grid[e, j]), (left + j * (size + pad), y))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_preview(path: str | os.PathLike, *, seed: int = 0) -> Path:
    """Write the contact sheet PNG (expressions x demographic groups) atomically.

    Parameters
    ----------
    path : path-like
        Where to write the PNG.
    seed : int
        Corpus seed the identities come from.

    Returns
    -------
    Path
        ``path``.
    """
    atomic_write_bytes(path, preview_png(seed=seed))
    return Path(path)
