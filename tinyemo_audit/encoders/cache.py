"""The encoder feature cache: features of a dataset under one encoder, computed once, memory-mapped."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_json
from ..data.arrays import array_digest
from ..data.dataset import Dataset
from ..errors import InputError
from ..paths import cache_folder
from .base import Encoder, check_images

logger = logging.getLogger(__name__)


def dataset_fingerprint(dataset: Dataset) -> str:
    """A stable hash of a dataset's pixels, name and split.

    The pixels themselves are hashed (about 0.2 s per 10 000 64×64 images) rather than trusting a
    producer's id, so a subset or an edited copy can never be served another dataset's features.
    """
    images = check_images(dataset.images)
    digest = hashlib.blake2b(f"{dataset.name}\0{dataset.split}\0".encode(), digest_size=16)
    digest.update(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def feature_cache_path(encoder: Encoder, dataset: Dataset) -> Path:
    """``cache_dir()/features/<encoder fingerprint>/<dataset fingerprint>.npy``."""
    return cache_folder("features") / encoder.fingerprint() / f"{dataset_fingerprint(dataset)}.npy"


ARRAY_FORMAT = "tinyemo-audit-array"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def write_checked_array(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (.npy) and its digest to the ``.json`` beside it, both atomically.

    The array goes first and the digest last, so a crash between the two leaves a pair that
    :func:`read_checked_array` refuses (and the caller recomputes) rather than a wrong answer.
    """
    path = Path(path)
    array = np.ascontiguousarray(array)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
    atomic_write_json(_sidecar(path), {
        "format": ARRAY_FORMAT, "dtype": array.dtype.str, "shape": list(array.shape),
        "blake2b": array_digest(array),
    })


def read_checked_array(path: str | Path, *, dtype, shape: tuple[int | None, ...]) -> np.ndarray | None:
    """The memory-mapped array at ``path`` if it is intact and as expected, else None (reason logged).

    Parameters
    ----------
    path : path
        A ``.npy`` written by :func:`write_checked_array`.
    dtype : numpy dtype
    shape : tuple of (int or None)
        Expected shape; None matches any length on that axis.

    Returns
    -------
    ndarray or None
        None when the file or its digest is missing, unreadable, truncated, of another dtype or
        shape, or its bytes no longer match the digest.
    """
    from ..data.arrays import load_npy
    from ..input_files import read_text

    path = Path(path)
    if not (path.exists() and _sidecar(path).exists()):
        return None
    try:  # through the regular-file rule: a FIFO in the cache folder is damage, never a hang
        record = json.loads(read_text(_sidecar(path), what="cache digest", max_bytes=1024 * 1024))
        array = load_npy(path, what="cache file", mmap_mode="r")
    except (InputError, ValueError) as err:
        logger.warning("cache file %s unreadable (%s); recomputing", path, err)
        return None
    expected_ok = array.ndim == len(shape) and all(e is None or e == s for e, s in zip(shape, array.shape))
    if array.dtype != np.dtype(dtype) or not expected_ok:
        logger.warning("cache file %s has %s %s, expected %s %s; recomputing",
                       path, array.dtype, array.shape, np.dtype(dtype), shape)
        return None
    if not isinstance(record, dict) or record.get("format") != ARRAY_FORMAT or \
            record.get("blake2b") != array_digest(array):
        logger.warning("cache file %s does not match its digest; recomputing", path)
        return None
    return array


def encode_dataset(
    encoder: Encoder, dataset: Dataset, *, cache: bool = True, batch_size: int = 256,
    progress: bool = True,
) -> np.ndarray:
    """Features of ``dataset.images`` under ``encoder``, from the cache when possible.

    Parameters
    ----------
    encoder : Encoder
    dataset : Dataset
        If ``dataset.features`` is already set it is returned as is.
    cache : bool
        Read and write ``cache_dir()/features/<encoder>/<dataset>.npy`` (plus its ``.json``
        digest). A cached file that is unreadable, of the wrong shape or dtype, or whose bytes
        no longer match the digest is recomputed and replaced.
    batch_size : int
    progress : bool

    Returns
    -------
    ndarray of float32, shape (N, encoder.dim)
        Memory-mapped read-only when it comes from the cache.
    """
    if dataset.features is not None:
        return dataset.features
    if dataset.images is None:
        raise InputError(f"dataset {dataset.name!r} has neither images nor features")
    from .engine import engine_features  # this process, or Ray Data under run/eval --engine ray

    if not cache:
        return engine_features(encoder, dataset.images, batch_size=batch_size, progress=progress)
    path = feature_cache_path(encoder, dataset)
    features = read_checked_array(path, dtype=np.float32, shape=(len(dataset), encoder.dim))
    if features is not None:
        return features
    features = engine_features(encoder, dataset.images, batch_size=batch_size, progress=progress)
    write_checked_array(path, np.asarray(features, dtype=np.float32))
    from ..data.arrays import load_npy

    return load_npy(path, what="cache file", mmap_mode="r")
