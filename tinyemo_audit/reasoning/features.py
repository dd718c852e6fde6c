"""Visual features for the MM-LLM: the bundle's own encoder on images decoded at its input size."""

from __future__ import annotations

import numpy as np

from ..data.images import DEFAULT_SIZE


def encoder_image_size(encoder) -> int:
    """The square side an encoder takes (faces-mini: 64; open_clip/hf: their own; else 224)."""
    size = getattr(getattr(encoder, "config", None), "image_size", None) or getattr(encoder, "image_size", None)
    if isinstance(size, (tuple, list)):
        size = size[0]
    return int(size) if isinstance(size, (int, np.integer)) and size > 0 else DEFAULT_SIZE


def image_features(bundle, images: np.ndarray, *, progress: bool = False) -> np.ndarray:
    """Encoder features (float32 ``[N, dim]``) of uint8 images ``[N, H, W, 3]`` under the bundle's encoder."""
    if len(images) == 0:
        return np.zeros((0, int(bundle.encoder.dim)), dtype=np.float32)
    return np.asarray(bundle.encoder.encode_images(images, progress=progress), dtype=np.float32)
