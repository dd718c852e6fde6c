"""Small generated input files shared by tests in several folders (importable: tests/ is on sys.path)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def write_class_features(root, classes, *, dim=16, per_split=(8, 4, 4), seed=0):
    """A TinyEmo-layout feature folder (``<split>/<label>/<id>.pt``) with one Gaussian cluster per class."""
    import torch

    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(len(classes), dim))
    for split, n in zip(("train", "val", "test"), per_split):
        for ci, label in enumerate(classes):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i, row in enumerate(centres[ci] + rng.normal(size=(n, dim))):
                torch.save(torch.tensor(row, dtype=torch.float32), folder / f"{i:03d}.pt")
    return root


def png_claiming(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid 1x1 PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)
