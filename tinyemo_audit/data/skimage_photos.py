"""Real photographs bundled in the scikit-image wheel, written as PNG files plus an unlabelled CSV manifest.

scikit-image ships ``lfw_subset.npy`` inside its wheel: 100 face crops drawn at random from Labeled
Faces in the Wild and 100 background crops from the same photographs, all 25 × 25 grey pixels. No
download is involved. The crops carry no emotion labels and no demographic annotations, so the
manifest has **no label column** and only attributes that are honest about what they are:

``content``
    ``face`` or ``background``: which half of ``lfw_subset`` the crop comes from (as documented by
    scikit-image). A positive control: a face-emotion model should treat the two very differently.
``brightness``
    ``dark`` / ``mid`` / ``bright``: tertile of the crop's mean grey level. An image property, not a
    demographic one.
``placebo``
    ``A`` / ``B``: a seeded random split into two halves. A negative control: a label-free audit
    that flags it is raising false alarms.

Run ``python -m tinyemo_audit.data.skimage_photos OUT_DIR`` to write ``OUT_DIR/manifest.csv`` and
``OUT_DIR/images/*.png``, then ``tinyemo-audit run --dataset csv:OUT_DIR/manifest.csv``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_directory
from ..errors import TinyEmoAuditError, UsageError

N_FACES = 100  # lfw_subset: the first 100 crops are faces, the next 100 are backgrounds
ATTRIBUTES = ("content", "brightness", "placebo")
BRIGHTNESS_GROUPS = ("dark", "mid", "bright")
PLACEBO_GROUPS = ("A", "B")
MSG_NO_SKIMAGE = ("scikit-image is not installed; it ships the real photos "
                  "(pip install scikit-image, or the project's dev extra)")


@dataclass(frozen=True)
class PhotoManifest:
    """What :func:`write_lfw_subset` wrote.

    Attributes
    ----------
    manifest : Path
        The CSV file; pass it as ``--dataset csv:<manifest>``.
    table : pandas.DataFrame
        Its rows: ``path`` (relative to the CSV's folder), ``id`` and one column per attribute.
    """

    manifest: Path
    table: pd.DataFrame


def lfw_subset_crops(*, faces_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The LFW crops bundled with scikit-image, read from the installed wheel.

    Parameters
    ----------
    faces_only : bool, default False
        Keep only the 100 face crops.

    Returns
    -------
    images : numpy.ndarray
        ``(n, 25, 25)`` uint8 grey images.
    is_face : numpy.ndarray
        ``(n,)`` bool: the crop is a face (True) or a background patch (False).

    Raises
    ------
    TinyEmoAuditError
        scikit-image is not installed.
    """
    try:
        from skimage import data
    except ImportError:
        raise TinyEmoAuditError(MSG_NO_SKIMAGE) from None
    crops = np.asarray(data.lfw_subset())
    # Older scikit-image versions return floats in [0, 1]; newer ones uint8.
    if crops.dtype != np.uint8:
        crops = np.clip(np.rint(crops * 255.0), 0, 255).astype(np.uint8)
    is_face = np.arange(len(crops)) < N_FACES
    if faces_only:
        crops, is_face = crops[is_face], is_face[is_face]
    return crops, is_face


def photo_attributes(images: np.ndarray, is_face: np.ndarray, *, seed: int = 0) -> pd.DataFrame:
    """The declared attribute columns of the crops (see the module docstring).

    Parameters
    ----------
    images : numpy.ndarray
        ``(n, h, w)`` or ``(n, h, w, c)`` pixels.
    is_face : numpy.ndarray
        ``(n,)`` bool.
    seed : int, default 0
        Seed of the placebo split.

    Returns
    -------
    pandas.DataFrame
        Columns ``content``, ``brightness``, ``placebo``; the placebo halves differ in size by at most one.
    """
    n = len(images)
    brightness = images.reshape(n, -1).mean(axis=1)
    tertile = pd.qcut(pd.Series(brightness).rank(method="first"), 3, labels=list(BRIGHTNESS_GROUPS))
    placebo = np.resize(np.array(PLACEBO_GROUPS), n)
    np.random.default_rng(seed).shuffle(placebo)
    return pd.DataFrame({
        "content": np.where(is_face, "face", "background"),
        "brightness": tertile.astype(str).to_numpy(),
        "placebo": placebo,
    })


def write_lfw_subset(out: str | Path, *, seed: int = 0, faces_only: bool = False) -> PhotoManifest:
    """Write scikit-image's LFW crops as PNG files and an unlabelled CSV manifest.

    Parameters
    ----------
    out : str or path-like
        Folder to create (written whole or not at all); it must not exist yet.
    seed : int, default 0
        Seed of the placebo split.
    faces_only : bool, default False
        Write only the 100 face crops (the ``content`` column is then dropped: it would have one value).

    Returns
    -------
    PhotoManifest

    Raises
    ------
    UsageError
        ``out`` already exists.
    TinyEmoAuditError
        scikit-image is not installed.
    """
    out = Path(out)
    if out.exists():
        raise UsageError(f"{out} already exists; choose a new folder for the photos")
    images, is_face = lfw_subset_crops(faces_only=faces_only)
    table = photo_attributes(images, is_face, seed=seed)
    if faces_only:
        table = table.drop(columns="content")
    ids = [f"lfw{i:03d}" for i in range(len(images))]
    table.insert(0, "id", ids)
    table.insert(0, "path", [f"images/{i}.png" for i in ids])
    with atomic_directory(out) as tmp:
        from PIL import Image

        (tmp / "images").mkdir()
        for name, pixels in zip(ids, images):  # the folder as a whole is atomic, so plain writes suffice
            Image.fromarray(pixels).save(tmp / "images" / f"{name}.png")
        table.to_csv(tmp / "manifest.csv", index=False)
    return PhotoManifest(manifest=out / "manifest.csv", table=table)


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyemo_audit.data.skimage_photos OUT_DIR [--seed N] [--faces-only]``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to create")
    parser.add_argument("--seed", type=int, default=0, help="seed of the placebo split")
    parser.add_argument("--faces-only", action="store_true", help="only the 100 face crops")
    args = parser.parse_args(argv)
    try:
        written = write_lfw_subset(args.out, seed=args.seed, faces_only=args.faces_only)
    except TinyEmoAuditError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(written.manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
