"""Small PNG thumbnails as data URIs, so that the report needs no file beside it."""

from __future__ import annotations

import base64
import io

import numpy as np


def png_data_uri(image: np.ndarray, *, size: int = 96) -> str:
    """A uint8 [H, W, 3] image as ``data:image/png;base64,...`` scaled to ``size`` pixels."""
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    if picture.size != (size, size):
        picture = picture.resize((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
