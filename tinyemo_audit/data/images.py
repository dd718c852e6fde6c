"""Decodes image files from disk into one uint8 RGB array, skipping (never crashing on) bad files."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..input_files import MiB, not_regular_reason, open_regular

DEFAULT_SIZE = 224
# Pillow's own default; anything larger is refused before its pixels are decoded.
DEFAULT_MAX_PIXELS = 89_478_485
# An image file larger than this is skipped before it is read: even an uncompressed image at the
# pixel limit above fits in it.
MAX_IMAGE_BYTES = 512 * MiB
FITS = ("crop", "pad", "stretch")
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jfif"}
)
# Transparent pixels are composited onto white: dropping alpha would expose whatever colour the
# encoder left under it (often black), which is not what a viewer sees.
BACKGROUND = (255, 255, 255)


class SkippedImage(Exception):
    """An image that cannot be used; ``str(err)`` is the reason recorded in ``meta["skipped"]``."""


def _to_rgb(image):
    """Convert any Pillow mode to 8-bit RGB, keeping what a viewer would see."""
    from PIL import Image

    mode = image.mode
    if mode in ("RGB",):
        return image
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16/32-bit greyscale: Pillow's convert("L") clips at 255, turning most pixels white.
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or (mode == "I" and values.max(initial=0) > 255):
            values = values / 257.0
        elif mode == "F" and values.max(initial=0) <= 1.0:
            values = values * 255.0
        grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB")
    if mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def _fit(image, size: int, fit: str):
    from PIL import Image, ImageOps

    if fit == "crop":
        return ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC)
    if fit == "pad":
        return ImageOps.pad(image, (size, size), Image.Resampling.BICUBIC, color=BACKGROUND)
    return image.resize((size, size), Image.Resampling.BICUBIC)


def image_file_bytes(path: str | Path, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of one image file, read only if it is a regular file of at most ``max_bytes``.

    A FIFO, socket, device or folder under an image name is never opened for reading (it could
    block forever); it is skipped with what it is.

    Raises
    ------
    SkippedImage
        Not a regular file, missing, empty, too large or unreadable.
    """
    reason = not_regular_reason(path)
    if reason is not None:
        if reason == "not found" or reason.startswith("cannot"):
            raise SkippedImage(f"cannot read file: {reason.removeprefix('cannot be read ').strip('()')}")
        raise SkippedImage(reason.removeprefix("is "))  # "a FIFO (named pipe), not a regular file"
    try:
        fd = open_regular(path, what="image file")  # checks again on the descriptor: a swapped file is caught
    except InputError:
        raise SkippedImage("not a regular file when opened") from None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise SkippedImage("empty file (0 bytes)")
        if size > max_bytes:
            raise SkippedImage(f"file too large ({size:,} bytes; at most {max_bytes:,} are read)")
        try:
            return handle.read(max_bytes + 1)[:max_bytes]
        except OSError as err:
            raise SkippedImage(f"cannot read file: {err.strerror or type(err).__name__}") from None


def decode_image(path: str | Path, size: int = DEFAULT_SIZE, *, fit: str = "crop",
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read one image file as a ``(size, size, 3)`` uint8 RGB array.

    Parameters
    ----------
    path : path
        The image file.
    size : int
        Side of the square output.
    fit : {"crop", "pad", "stretch"}
        ``crop`` resizes the shorter side and centre-crops (as CLIP preprocessing does), ``pad``
        letterboxes on white, ``stretch`` ignores the aspect ratio.
    max_pixels : int
        Images declaring more pixels than this are refused from their header alone
        (decompression-bomb guard).

    Raises
    ------
    SkippedImage
        With a one-line reason: empty, missing, not an image, truncated, too large.
    """
    from PIL import Image, ImageOps

    from ..diagnostics import c_stderr_captured

    data = image_file_bytes(path)
    # libtiff (and other C decoders) print to descriptor 2; that goes to the diagnostics log instead.
    with warnings.catch_warnings(), c_stderr_captured():
        # Pillow only warns between 1x and 2x its own limit; here every bomb warning is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise SkippedImage(
                        f"decompression-bomb guard: {width}x{height} pixels exceeds the limit of {max_pixels}"
                    )
                if width == 0 or height == 0:
                    raise SkippedImage("image has no pixels")
                image.draft("RGB", (size, size))  # JPEG: decode at reduced scale, much faster
                image.load()
                image = ImageOps.exif_transpose(image)
                image = _to_rgb(image)
                return np.asarray(_fit(image, size, fit), dtype=np.uint8)
        except SkippedImage:
            raise
        except Image.UnidentifiedImageError:
            raise SkippedImage("not an image Pillow can read") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise SkippedImage("decompression-bomb guard: Pillow refused the image size") from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as err:
            reason = " ".join(str(err).split()) or type(err).__name__
            if "truncated" in reason.lower():
                raise SkippedImage(f"truncated image ({reason})") from None
            raise SkippedImage(f"cannot decode image ({reason})") from None


def read_images(paths: Sequence[str | Path], size: int = DEFAULT_SIZE, *, fit: str = "crop",
                max_pixels: int = DEFAULT_MAX_PIXELS, workers: int | None = None,
                ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Decode many image files.

    Parameters
    ----------
    paths : sequence of path
    size, fit, max_pixels
        As in :func:`decode_image`.
    workers : int, optional
        Decoding threads (Pillow releases the GIL while decoding); default: the CPU count, at most 8.

    Returns
    -------
    images : ndarray of uint8, shape (n_ok, size, size, 3)
        The decoded images, in the order of ``paths``, bad files left out.
    ok : ndarray of bool, shape (len(paths),)
        Which paths decoded.
    reasons : list of (str or None)
        Per path, why it was skipped (None where it decoded).
    """
    if fit not in FITS:
        from ..errors import UsageError

        raise UsageError(f"unknown image fit {fit!r}; valid choices: {', '.join(FITS)}")
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    reasons: list[str | None] = [None] * len(paths)

    def work(i: int) -> None:
        try:
            images[i] = decode_image(paths[i], size, fit=fit, max_pixels=max_pixels)
        except SkippedImage as err:
            reasons[i] = str(err)

    workers = workers or min(8, os.cpu_count() or 1)
    if workers > 1 and len(paths) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, range(len(paths))))
    else:
        for i in range(len(paths)):
            work(i)
    ok = np.asarray([r is None for r in reasons], dtype=bool)
    return (images if ok.all() else images[ok]), ok, reasons
