"""On-disk cache of rendered faces: one folder per fingerprint, written atomically, checked on read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..._io import atomic_directory, atomic_write_json
from ...errors import InputError
from ...input_files import MiB, read_text
from ..arrays import load_npy
from ...paths import cache_folder
from .params import SAMPLER_VERSION, attribute_table
from .render import RENDERER_VERSION, render_rows

# What, besides the spec, decides the rows and pixels of an entry.
VERSIONS = {"renderer": RENDERER_VERSION, "sampler": SAMPLER_VERSION}

IMAGES, LABELS, ATTRIBUTES, MANIFEST = "images.npy", "true_labels.npy", "attributes.csv", "manifest.json"


def fingerprint(spec: dict[str, Any]) -> str:
    """Short stable hash of what determines the pixels (spec plus renderer and sampler versions)."""
    payload = json.dumps({**spec, **VERSIONS}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def folder(spec: dict[str, Any]) -> Path:
    """Cache folder of a spec: ``cache_dir()/faces/<fingerprint>``."""
    return cache_folder("faces") / fingerprint(spec)


def pixels_digest(images: np.ndarray) -> str:
    """blake2b (32 hex) of the images' bytes: flipped or truncated pixels no longer match it."""
    return hashlib.blake2b(np.ascontiguousarray(images).data, digest_size=16).hexdigest()


def _valid(path: Path, spec: dict[str, Any], labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The memory-mapped images if ``path`` holds exactly this entry, intact, else None."""
    if not (path / MANIFEST).exists():
        return None
    try:  # through the regular-file rule: anything but a regular file in the cache is damage, never a hang
        manifest = json.loads(read_text(path / MANIFEST, what="faces cache manifest", max_bytes=MiB))
        if not isinstance(manifest, dict) or manifest.get("spec") != spec \
                or any(manifest.get(key) != value for key, value in VERSIONS.items()):
            return None
        images = load_npy(path / IMAGES, what="faces cache images", mmap_mode="r")
        stored = load_npy(path / LABELS, what="faces cache labels")
    except (InputError, OSError, ValueError):
        return None
    if images.dtype != np.uint8 or images.shape != shape or stored.shape != labels.shape \
            or not np.array_equal(stored, labels):
        return None
    if manifest.get("images_blake2b") != pixels_digest(images):
        return None
    return images


def _load_or_render(spec: dict[str, Any], params: pd.DataFrame, size: int, desc: str) -> np.ndarray:
    path = folder(spec)
    labels = params["expression"].to_numpy(dtype=np.int64)
    shape = (len(params), size, size, 3)
    images = _valid(path, spec, labels, shape)
    if images is not None:
        return images
    rendered = render_rows(params, size, desc=desc)
    with atomic_directory(path) as tmp:
        np.save(tmp / IMAGES, rendered, allow_pickle=False)
        np.save(tmp / LABELS, labels, allow_pickle=False)
        attribute_table(params).to_csv(tmp / ATTRIBUTES, index=False)
        # The manifest goes last: a folder without it is never taken as valid.
        manifest = {"spec": spec, **VERSIONS, "n": len(params), "shape": list(shape),
                    "images_blake2b": pixels_digest(rendered)}
        atomic_write_json(tmp / MANIFEST, manifest)
    images = _valid(path, spec, labels, shape)
    return rendered if images is None else images


def split_spec(*, split: str, n: int, seed: int, size: int) -> dict[str, Any]:
    """Cache spec of a split's images (annotation biases only touch labels, so they are not in it)."""
    return {"kind": "split", "split": split, "n": n, "seed": seed, "image_size": size}


def twins_spec(*, attribute: str, n: int, split: str, seed: int, size: int) -> dict[str, Any]:
    """Cache spec of a twin set's images (``n`` = number of rendered rows)."""
    return {"kind": "twins", "attribute": attribute, "split": split, "n": n, "seed": seed, "image_size": size}


def cached_split(params: pd.DataFrame, *, split: str, seed: int, size: int) -> np.ndarray:
    """Images of a split's parameter rows, from the cache or rendered and stored."""
    spec = split_spec(split=split, n=len(params), seed=seed, size=size)
    return _load_or_render(spec, params, size, f"rendering faces ({split})")


def cached_twins(params: pd.DataFrame, *, attribute: str, split: str, seed: int, size: int) -> np.ndarray:
    """Images of a twin set's parameter rows, from the cache or rendered and stored."""
    spec = twins_spec(attribute=attribute, n=len(params), split=split, seed=seed, size=size)
    return _load_or_render(spec, params, size, f"rendering {attribute} twins")
