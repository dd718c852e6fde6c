"""Small synthetic captioned image datasets for the encoder tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tinyemo_audit.data.dataset import Dataset

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (230, 220, 40)}
SHAPES = ("square", "stripe")


def captioned_shapes(n: int, seed: int, split: str, size: int = 32) -> Dataset:
    """Noise images with a coloured square or stripe; the caption names colour and shape."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, len(COLOURS), n)
    shape = rng.integers(0, len(SHAPES), n)
    images = rng.integers(0, 60, (n, size, size, 3)).astype(np.uint8)
    palette = np.array(list(COLOURS.values()), dtype=np.uint8)
    rows, cols = np.mgrid[:size, :size]
    square = (rows >= size // 4) & (rows < 3 * size // 4) & (cols >= size // 4) & (cols < 3 * size // 4)
    stripe = (cols >= 3 * size // 8) & (cols < 5 * size // 8)
    masks = np.stack([square, stripe])[shape]
    images = np.where(masks[..., None], palette[colour][:, None, None, :], images)
    names = np.array(list(COLOURS))
    captions = [f"a {c} {s} on noise" for c, s in zip(names[colour], np.array(SHAPES)[shape])]
    return Dataset(
        name="synthetic-shapes", split=split, classes=tuple(COLOURS), labels=colour.astype(np.int64),
        ids=np.array([f"{split}-{i}" for i in range(n)]), attributes=pd.DataFrame({"shape": np.array(SHAPES)[shape]}),
        images=images.astype(np.uint8), meta={"captions": captions},
    )


@pytest.fixture(scope="session")
def shapes_train() -> Dataset:
    return captioned_shapes(192, seed=0, split="train")


@pytest.fixture(scope="session")
def shapes_val() -> Dataset:
    return captioned_shapes(64, seed=1, split="val")


@pytest.fixture(scope="session")
def make_shapes():
    """The :func:`captioned_shapes` factory, for tests that need their own sizes."""
    return captioned_shapes
