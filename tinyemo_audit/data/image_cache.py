"""Decoded images cached on disk as one memory-mapped uint8 file per (file list, size, fit), so big splits stay out of RAM."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import atomic_directory, atomic_write_json
from ..errors import InputError
from ..input_files import MiB, read_text
from ..paths import cache_folder
from .arrays import memmap_regular
from .images import read_images

CACHE_VERSION = 1
CHUNK = 256  # images decoded per step: bounds the RAM a build needs
IMAGES_FILE = "images.u8"
INDEX_FILE = "index.json"
MAX_INDEX_BYTES = 256 * MiB  # one reason (or null) per image


def image_cache_key(paths: Sequence[str], size: int, fit: str, max_pixels: int) -> str:
    """Hash of the file list (path, byte size, mtime) and decoding settings: any change is a new entry."""
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, size, fit, max_pixels]).encode())
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()[:32]


def _digest():
    return hashlib.blake2b(digest_size=16)


def _open(folder: Path, n: int, size: int):
    """The cached entry, or InputError/ValueError/OSError/KeyError/TypeError when it is absent or damaged.

    Both files are read through the regular-file rule: anything but a regular file there is damage
    (rebuilt), never a hang.
    """
    index = json.loads(read_text(folder / INDEX_FILE, what="image-cache index", max_bytes=MAX_INDEX_BYTES))
    reasons = index["reasons"]
    if index.get("version") != CACHE_VERSION or not isinstance(reasons, list) or len(reasons) != n:
        raise ValueError("index does not match the file list")
    if not all(r is None or isinstance(r, str) for r in reasons):
        raise ValueError("index holds reasons that are not text")
    ok = np.asarray([r is None for r in reasons], dtype=bool)
    shape = (int(ok.sum()), size, size, 3)
    if (folder / IMAGES_FILE).stat().st_size != int(np.prod(shape)):
        raise ValueError("image file has the wrong size")
    # copy-on-write: a caller that edits pixels changes its own copy, never the cache
    images = memmap_regular(folder / IMAGES_FILE, what="image-cache pixels", dtype=np.uint8, shape=shape, mode="c")
    digest = _digest()
    digest.update(images.data)
    if index.get("images_blake2b") != digest.hexdigest():
        raise ValueError("image file does not match its digest")
    return images, ok, reasons


def cached_read_images(paths: Sequence[str], size: int, *, fit: str, max_pixels: int,
                       workers: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """:func:`~tinyemo_audit.data.images.read_images`, with the decoded pixels kept in the cache.

    The first call decodes ``CHUNK`` files at a time into ``<cache>/images/<key>/images.u8``; later
    calls with the same files (same sizes and modification times) and settings memory-map it.

    Returns
    -------
    images : ndarray (a read-only-on-disk ``np.memmap``) of uint8, shape (n_ok, size, size, 3)
    ok : ndarray of bool
    reasons : list of (str or None)
    """
    paths = [str(p) for p in paths]
    folder = cache_folder("images") / image_cache_key(paths, size, fit, max_pixels)
    try:
        return _open(folder, len(paths), size)
    except (InputError, OSError, ValueError, KeyError, TypeError):
        pass  # absent or damaged: (re)build
    reasons: list[str | None] = []
    digest = _digest()
    with atomic_directory(folder) as tmp:
        with open(tmp / IMAGES_FILE, "wb") as out:
            for start in range(0, len(paths), CHUNK):
                images, _, chunk_reasons = read_images(
                    paths[start:start + CHUNK], size, fit=fit, max_pixels=max_pixels, workers=workers
                )
                data = np.ascontiguousarray(images, dtype=np.uint8).tobytes()
                out.write(data)
                digest.update(data)
                reasons.extend(chunk_reasons)
        atomic_write_json(tmp / INDEX_FILE, {"version": CACHE_VERSION, "reasons": reasons,
                                             "images_blake2b": digest.hexdigest()}, indent=None)
    return _open(folder, len(paths), size)
