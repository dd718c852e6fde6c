"""Example thumbnails as PNG data URIs at native resolution, so that the report needs no file beside it.

A thumbnail keeps the image's own pixels (the report shows it 1:1 or at an integer scale); only an
image larger than :data:`MAX_SIDE` on a side is reduced, by the smallest integer factor that fits.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

# Larger images (user photos) are reduced so that one finding's examples stay a few kilobytes.
MAX_SIDE = 128


def thumbnail_size(height: int, width: int, *, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(height, width) of the thumbnail: native, or divided by the smallest integer that fits ``max_side``."""
    factor = max(1, math.ceil(max(height, width) / max_side))
    return max(1, height // factor), max(1, width // factor)


def png_data_uri(image: np.ndarray, *, max_side: int = MAX_SIDE) -> str:
    """A uint8 [H, W, 3] image as ``data:image/png;base64,...`` at :func:`thumbnail_size`."""
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    height, width = thumbnail_size(picture.height, picture.width, max_side=max_side)
    if (width, height) != picture.size:
        picture = picture.resize((width, height), Image.Resampling.BOX)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail(image: np.ndarray) -> dict[str, Any]:
    """``{"image": data URI, "width", "height"}`` of one example image (its pixel size as stored)."""
    height, width = thumbnail_size(*np.asarray(image).shape[:2])
    return {"image": png_data_uri(image), "width": int(width), "height": int(height)}
