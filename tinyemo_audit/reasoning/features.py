"""Visual features for the MM-LLM: the bundle's own encoder on images decoded at its input size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
    from ..encoders.engine import engine_features  # the command's engine: this process or Ray Data

    return np.asarray(engine_features(bundle.encoder, images, progress=progress), dtype=np.float32)


def read_image_files(paths: Sequence[str | Path], size: int, *, what: str, remedy: str = "") -> np.ndarray:
    """Every image file of ``paths`` decoded at ``size`` × ``size`` (uint8 ``[N, size, size, 3]``), all or none.

    Decoding is :func:`~tinyemo_audit.data.images.read_images`' (threaded); unlike a dataset, where a
    bad file is skipped, here one that is not a regular file or does not decode is an InputError.

    Raises
    ------
    InputError
        Naming the first such file, with ``remedy`` appended to the message.
    """
    from ..data.images import read_images
    from ..errors import InputError
    from ..input_files import regular_file, shown_path

    for path in paths:
        regular_file(path, what=what)
    images, ok, reasons = read_images(list(paths), size)
    if not ok.all():
        bad = int(np.argmin(ok))
        raise InputError(f"{what} {shown_path(paths[bad])} cannot be read ({reasons[bad]}){remedy}")
    return images
