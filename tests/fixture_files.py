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


def write_image_csv(root, n: int = 30, *, shape=(32, 32), labels=("happy", "sad", "angry"), group: bool = True,
                    seed: int = 0):
    """A ``csv:`` dataset of ``n`` random RGB images (test split), labels cycling, ``group`` a/b alternating.

    Returns the manifest's path (``root/m.csv``); the images are ``root/img/<i>.png``.
    """
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True)
    rows = ["path,label,id" + (",group" if group else "") + ",split"]
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(root / "img" / f"{i:03d}.png")
        rows.append(f"img/{i:03d}.png,{labels[i % len(labels)]},i{i:03d}" + (f",{'ab'[i % 2]}" if group else "")
                    + ",test")
    (root / "m.csv").write_text("\n".join(rows) + "\n")
    return root / "m.csv"
