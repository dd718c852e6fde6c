"""A split of image files listed but not decoded: every cheap check done, the pixels read later, a range at a time.

A dataset reader's listing (paths, ids, labels matched to the taxonomy, attributes parsed, paths
outside the dataset folder, duplicates and control characters left out) is all a driver needs to
hand out work; reading and decoding a file is the expensive, parallel part. :meth:`ImageListing.decode`
reads the files of a row range with the same per-file rules every loader uses
(:func:`tinyemo_audit.data.images.read_images`: regular files only, a size bound, the
decompression-bomb guard), so a file skipped by ``embed --engine ray`` on a worker is skipped, with the
same reason, by a local load. :meth:`ImageListing.dataset` turns decoded rows back into the
:class:`~tinyemo_audit.data.dataset.Dataset` a local load returns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .dataset import Dataset
from .user_fields import skip_rows

MSG_NO_USABLE = "no usable images in {name} ({split} split, {source}): {n} skipped{first}"
MSG_UNREADABLE = "{n} image file(s) skipped as unreadable, truncated or too large"


def no_usable_images(name: str, split: str, source: str, skipped: list[dict]) -> InputError:
    """The one error for a split none of whose images could be used (local load and batch-wise decoding alike)."""
    first = f"; first: {skipped[0]['reason']}" if skipped else ""
    return InputError(MSG_NO_USABLE.format(name=name, split=split, source=source, n=len(skipped), first=first))


@dataclass
class ImageListing:
    """The listed items of one split of image files (row ``i`` is ``paths[i]``).

    Parameters
    ----------
    name, split : str
        As in :class:`~tinyemo_audit.data.dataset.Dataset`.
    classes : tuple of str
    labels : ndarray of int64, shape (N,)
    ids : ndarray of str, shape (N,)
    attributes : DataFrame
        N rows.
    paths : list of str
        The image file of each row (already checked to stay inside the dataset folder).
    size, fit, max_pixels
        Decoding settings (:func:`tinyemo_audit.data.images.decode_image`).
    meta : dict
        ``source``, ``layout``, ``taxonomy``, ``skipped`` (items left out while listing),
        ``skipped_attributes`` and ``problems``, as a loaded Dataset's meta.
    """

    name: str
    split: str
    classes: tuple[str, ...]
    labels: np.ndarray
    ids: np.ndarray
    attributes: pd.DataFrame
    paths: list[str]
    size: int
    fit: str
    max_pixels: int
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    def fingerprint(self) -> str:
        """A stable hash of the listing: name, split, decoding settings and every file's path, size and mtime.

        Computed without reading a pixel (the files are decoded later, elsewhere); any changed,
        added or removed file changes it.
        """
        from .image_cache import image_cache_key

        digest = hashlib.blake2b(f"{self.name}\0{self.split}\0{len(self)}\0".encode(), digest_size=16)
        digest.update(image_cache_key(self.paths, self.size, self.fit, self.max_pixels).encode())
        return digest.hexdigest()

    def decode(self, start: int, stop: int, *, workers: int | None = None,
               ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """Read and decode rows ``start:stop``: (images of the rows that decoded, ok mask, reason per row)."""
        from .images import read_images

        return read_images(self.paths[start:stop], self.size, fit=self.fit, max_pixels=self.max_pixels,
                           workers=workers)

    def kept(self, reasons: list[str | None]) -> tuple[np.ndarray, list[dict], list[str]]:
        """Which rows to keep given each row's decoding outcome, with the skip records and problems of a local load.

        Raises
        ------
        InputError
            No row decoded (:func:`no_usable_images`).
        """
        ok = np.asarray([r is None for r in reasons], dtype=bool)
        skipped = list(self.meta.get("skipped") or ())
        problems = list(self.meta.get("problems") or ())
        table = pd.DataFrame({"id": self.ids, "path": self.paths})
        skip_rows(skipped, table, ~ok, [r for r in reasons if r is not None])
        if not ok.all():
            problems.append(MSG_UNREADABLE.format(n=int((~ok).sum())))
        if not ok.any():
            raise no_usable_images(self.name, self.split, self.meta.get("source", ""), skipped)
        return ok, skipped, problems

    def dataset(self, images: np.ndarray | None, reasons: list[str | None], *,
                features: np.ndarray | None = None) -> Dataset:
        """The Dataset of the rows that decoded, as a local load builds it.

        ``images`` are the decoded rows' pixels in row order; or, with ``images=None``, ``features``
        are their encoder features (the rows were decoded and encoded elsewhere: ``run --engine ray``).
        Either way ``meta`` keeps each row's file (``paths``) and the decoding settings
        (``decoding``), so a few rows can be decoded again to show them (:meth:`Dataset.pixels`).
        """
        ok, skipped, problems = self.kept(reasons)
        index = np.flatnonzero(ok)
        return Dataset(
            name=self.name, split=self.split, classes=tuple(self.classes), labels=self.labels[index],
            ids=self.ids[index], attributes=self.attributes.iloc[index].reset_index(drop=True), images=images,
            features=features,
            meta={**self.meta, "skipped": tuple(skipped), "problems": tuple(problems),
                  "paths": [self.paths[i] for i in index], "decoding": self.decoding},
        )

    @property
    def decoding(self) -> dict[str, Any]:
        """How a row's file becomes pixels: ``size``, ``fit`` and ``max_pixels``."""
        return {"size": self.size, "fit": self.fit, "max_pixels": self.max_pixels}
