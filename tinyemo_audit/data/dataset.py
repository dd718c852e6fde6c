"""The one in-memory dataset type every stage reads: images or features, labels, attributes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

UNLABELLED = -1


@dataclass
class Dataset:
    """A split of a dataset.

    Parameters
    ----------
    name : str
        The dataset spec it came from (``"faces"``, ``"features:/path"``, ...).
    split : str
        ``"train"``, ``"val"`` or ``"test"``.
    classes : tuple of str
        The full taxonomy: every candidate label, also those absent from this split.
    labels : ndarray of int64, shape (N,)
        Index into ``classes``; ``UNLABELLED`` (-1) where the label is unknown.
    ids : ndarray of str, shape (N,)
        Stable item identifiers.
    attributes : DataFrame
        One row per item; protected and nuisance attributes as strings (may have no columns).
    images : ndarray of uint8, shape (N, H, W, 3), optional
    features : ndarray of float32, shape (N, D), optional
        Exactly one of ``images`` / ``features`` is set.
    meta : dict
        Anything else a producer wants to pass along (captions, intensities, ...). ``meta["protected_attributes"]``
        (a tuple), where a producer sets it, names the attributes an audit compares (default: every column).
    counterfactuals : CounterfactualSource, optional
        The dataset's counterfactual sets (:mod:`tinyemo_audit.data.counterfactuals`): the faces corpus
        renders twins; any dataset can be given a user manifest. None: the dataset has none.
    """

    name: str
    split: str
    classes: tuple[str, ...]
    labels: np.ndarray
    ids: np.ndarray
    attributes: pd.DataFrame
    images: np.ndarray | None = None
    features: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    counterfactuals: Any = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if len(self.ids) != n or len(self.attributes) != n:
            raise ValueError("labels, ids and attributes must have the same length")
        if (self.images is None) == (self.features is None):
            raise ValueError("exactly one of images / features must be given")
        data = self.images if self.images is not None else self.features
        if len(data) != n:
            raise ValueError("images/features must have one row per label")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def has_labels(self) -> bool:
        return bool(len(self.labels)) and bool((self.labels != UNLABELLED).all())

    @property
    def label_names(self) -> np.ndarray:
        names = np.asarray(self.classes + ("",), dtype=object)
        return names[self.labels]

    def pixels(self, row: int) -> np.ndarray | None:
        """Row ``row``'s image: from ``images``, else decoded again from its file; None when there is none.

        A dataset whose rows were decoded and encoded elsewhere (``run --engine ray``) holds features,
        with each row's file and the decoding settings in ``meta`` (``paths``, ``decoding``): the few
        rows a report shows are read here with the loaders' rules (None if the file no longer decodes).
        """
        if self.images is not None:
            return self.images[row]
        paths, decoding = self.meta.get("paths"), self.meta.get("decoding")
        if paths is None or not isinstance(decoding, dict) or len(paths) != len(self) or paths[row] is None:
            return None
        from .images import read_images

        images, ok, _ = read_images([str(paths[row])], decoding["size"], fit=decoding["fit"],
                                    max_pixels=decoding["max_pixels"], workers=1)
        return images[0] if ok[0] else None

    @property
    def image_size(self) -> int | None:
        """Side of the dataset's square images (held, or as its files decode); None for features alone."""
        if self.images is not None:
            return int(self.images.shape[1])
        decoding = self.meta.get("decoding")
        return int(decoding["size"]) if isinstance(decoding, dict) else None

    def skipped_by_reason(self) -> dict[str, int]:
        """How many items loading left out, per reason, most frequent first (empty when none).

        Loaders list what they left out in ``meta["skipped"]`` as ``{"id", "path", "reason"}``
        records.
        """
        from collections import Counter

        records = (self.meta or {}).get("skipped") or ()
        counts = Counter(str(r.get("reason") or "no reason given") if isinstance(r, dict) else str(r)
                         for r in records)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def subset(self, index: np.ndarray) -> Dataset:
        """Rows ``index`` (an integer or boolean array) as a new Dataset."""
        index = np.asarray(index)
        meta = {
            k: (np.asarray(v)[index] if isinstance(v, (np.ndarray, list)) and len(v) == len(self) else v)
            for k, v in self.meta.items()
        }
        return replace(
            self,
            labels=self.labels[index],
            ids=self.ids[index],
            attributes=self.attributes.iloc[index].reset_index(drop=True),
            images=None if self.images is None else self.images[index],
            features=None if self.features is None else self.features[index],
            meta=meta,
        )


@dataclass
class TwinSet:
    """Counterfactual sets of one attribute: each identity (person, scene) once per value of ``attribute``.

    Cell ``[i, j]`` is identity ``i`` with ``attribute == values[j]``; everything else equal. A cell
    is an image (``images``) or an item of the audited data (``item_ids``, e.g. a row of a
    predictions table). Rendered twins have every cell; a user's sets may lack some values
    (``present``), and a comparison of two values uses the identities that have both.
    """

    attribute: str
    values: tuple[str, ...]
    classes: tuple[str, ...]
    images: np.ndarray | None  # uint8 (n_identities, n_values, H, W, 3); None when cells are items
    labels: np.ndarray  # int64 (n_identities,) true expression, UNLABELLED where unknown
    ids: np.ndarray  # str (n_identities,)
    attributes: pd.DataFrame  # per identity: the attributes that are held fixed
    meta: dict[str, Any] = field(default_factory=dict)
    present: np.ndarray | None = None  # bool (n_identities, n_values); None: every cell is there
    item_ids: np.ndarray | None = None  # str (n_identities, n_values): ids into the audited items

    def __len__(self) -> int:
        return len(self.labels)

    def has(self) -> np.ndarray:
        """Which cells are there: bool (n_identities, n_values)."""
        if self.present is not None:
            return self.present
        return np.ones((len(self), len(self.values)), dtype=bool)

    def cell_attributes(self) -> pd.DataFrame:
        """Each cell's protected groups, identity-major (row ``i * n_values + j``): the identity's held
        attributes plus the varied one at ``values[j]``; what a bundle step that reads the protected
        attribute at prediction time (model/steps.py) reads for a twin, as for any item."""
        n_id, n_val = len(self), len(self.values)
        held = self.attributes
        table = (held.loc[held.index.repeat(n_val)].reset_index(drop=True) if len(held) == n_id
                 else pd.DataFrame(index=pd.RangeIndex(n_id * n_val)))
        table[self.attribute] = np.tile(np.asarray(self.values, dtype=object), n_id)
        return table
