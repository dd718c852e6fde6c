"""Builders for hostile inputs (bad images, CSVs, feature folders, checkpoints, bundles, configs) in a tmp folder."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import shlex
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tinyemo_audit.paths import models_dir
from fixture_files import png_claiming as bomb_png_bytes

SIDE = 8  # every image is tiny: the suite decodes, it does not look
BUNDLE = "tinyemo-faces-mini"
# A label, an attribute value and a file name a hostile manifest might carry into report.html.
SCRIPT = '<script>alert("owned")</script>'
IMG_TAG = "<img src=x onerror=alert(1)>"
RTL_OVERRIDE = "\u202e"


def random_png(path: Path, seed: int) -> Path:
    """An 8x8 RGB PNG of seeded noise."""
    pixels = np.random.default_rng(seed).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="PNG")
    return path


def good_images(folder: Path, n: int, *, prefix: str = "ok", seed: int = 0) -> list[str]:
    """``n`` decodable PNGs in ``folder``; returns their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{prefix}{i:02d}.png" for i in range(n)]
    for i, name in enumerate(names):
        random_png(folder / name, seed * 1000 + i)
    return names


def _png_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **kwargs)
    return buffer.getvalue()


# name -> expected reason prefix (skipped files) ...
UNREADABLE_IMAGES = {
    "zero_byte.png": "empty file (0 bytes)",
    "truncated.png": "truncated image",
    "not_an_image.jpg": "not an image Pillow can read",
    "bomb.png": "decompression-bomb guard",
}
# ... and files in unusual modes that must load (converted to the RGB a viewer sees).
UNUSUAL_MODE_IMAGES = ("cmyk.jpg", "grey16.png", "palette.png", "palette_transparent.png", "alpha.png")


def write_unreadable_images(folder: Path) -> list[str]:
    """The four files of :data:`UNREADABLE_IMAGES` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zero_byte.png").write_bytes(b"")
    noise = np.random.default_rng(7).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = _png_bytes(Image.fromarray(noise), format="PNG")
    (folder / "truncated.png").write_bytes(full[: len(full) // 2])
    (folder / "not_an_image.jpg").write_text("id,label\n1,happy\n", encoding="utf-8")
    (folder / "bomb.png").write_bytes(bomb_png_bytes())
    return list(UNREADABLE_IMAGES)


def write_unusual_mode_images(folder: Path) -> list[str]:
    """CMYK JPEG, 16-bit greyscale, palette, palette-with-transparency and RGBA PNGs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (SIDE, SIDE), (200, 30, 30)).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    grey16 = np.full((SIDE, SIDE), 40_000, dtype=np.uint16)
    Image.fromarray(grey16).save(folder / "grey16.png")
    Image.new("RGB", (SIDE, SIDE), (10, 120, 200)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        folder / "palette.png")
    palette = Image.new("P", (SIDE, SIDE), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.save(folder / "palette_transparent.png", transparency=0)
    Image.new("RGBA", (SIDE, SIDE), (0, 255, 0, 128)).save(folder / "alpha.png")
    return list(UNUSUAL_MODE_IMAGES)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A UTF-8 CSV written by the csv module (so quotes and commas in values are quoted properly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def labelled_manifest(folder: Path, n: int = 24, *, name: str = "manifest.csv", seed: int = 0,
                      label=None, group=None, file_name=None) -> Path:
    """A CSV ``path,label,group`` over ``n`` fresh images; ``label``/``group``/``file_name`` map row -> value."""
    label = label or (lambda i: ("happy", "sad")[i % 2])
    group = group or (lambda i: ("a", "b")[i * 2 // n])
    file_name = file_name or (lambda i: f"img{seed}_{i:02d}.png")
    rows = []
    for i in range(n):
        random_png(folder / file_name(i), seed * 1000 + i)
        rows.append([file_name(i), label(i), group(i)])
    return write_csv(folder / name, ["path", "label", "group"], rows)


def write_feature_folder(root: Path, vectors: dict[str, Sequence[np.ndarray]], split: str = "test") -> Path:
    """TinyEmo's ``<root>/<split>/<label>/<id>.pt`` layout, one 1-D float tensor per file."""
    import torch

    for label, items in vectors.items():
        folder = root / split / label
        folder.mkdir(parents=True, exist_ok=True)
        for i, vector in enumerate(items):
            torch.save(torch.as_tensor(np.asarray(vector, dtype=np.float32)), folder / f"{i:03d}.pt")
    return root


def write_feature_store(root: Path, *, rows: int, claimed_rows: int, dim: int = 4, split: str = "test") -> Path:
    """An ``embed`` cache whose manifest claims ``claimed_rows`` while features.npy holds ``rows``."""
    from tinyemo_audit.data.feature_store import FEATURES_FILE, MANIFEST_FILE, STATUS_COMPLETE

    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / FEATURES_FILE, np.zeros((rows, dim), dtype=np.float32))
    manifest = {"status": STATUS_COMPLETE, "n": claimed_rows, "dim": dim, "features": FEATURES_FILE,
                "ids": [f"x{i}" for i in range(claimed_rows)], "labels": [0] * claimed_rows,
                "classes": ["happy"], "attributes": {}}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return root


class CodeRunningPayload:
    """Unpickling this runs a shell command that creates ``marker`` (what a malicious checkpoint does)."""

    def __init__(self, marker: Path):
        self.marker = Path(marker)

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def write_pickle_checkpoint(path: Path, marker: Path) -> Path:
    """A torch checkpoint whose ``model.0.weight`` is a :class:`CodeRunningPayload`."""
    import torch

    torch.save({"model.0.weight": CodeRunningPayload(marker), "model.4.weight": torch.zeros(2, 2)}, path)
    return path


def write_raw_pickle(path: Path, marker: Path) -> Path:
    """A legacy (non-zip) pickle file holding a :class:`CodeRunningPayload`."""
    with open(path, "wb") as handle:
        pickle.dump({"model.0.weight": CodeRunningPayload(marker)}, handle)
    return path


def copy_bundle(target: Path, name: str = BUNDLE) -> Path:
    """A private copy of a shipped bundle to damage."""
    return Path(shutil.copytree(models_dir() / name, target))


def write_text(path: Path, text: str) -> Path:
    """``text`` as a UTF-8 file at ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PYTHON_TAG_YAML = "seed: !!python/object/apply:os.system ['touch {marker}']\n"


# Audit settings for quick end-to-end runs on tiny datasets: the smallest budgets the settings schema accepts.
SMALL_BUDGET = "n_boot: 100\nn_perm: 100\nn_perm_paired: 100\nskew_k: 10\n"
