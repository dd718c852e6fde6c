"""The feature pool every validity trial reuses: one bias-free encoder's features of the faces splits and twins."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..audit._twins import twin_dataset


@dataclass
class FeaturePool:
    """Encoder features, true labels and attributes of the faces train/val/test splits and twin sets.

    The encoder is trained on captions that carry the true labels, so it is bias-free: a trial
    plants a bias in the projector's training labels only and retrains the projector alone.
    """

    classes: tuple[str, ...]
    features: dict[str, np.ndarray]  # split -> float32 [N, D]
    true_labels: dict[str, np.ndarray]  # split -> int64 [N]
    attributes: dict[str, pd.DataFrame]  # split -> every attribute column of the corpus
    audited: tuple[str, ...]  # protected attributes each trial audits (one twin set each)
    twins: dict[str, Any]  # attribute -> TwinSet (images kept for their shape only)
    twin_features: dict[str, np.ndarray]  # attribute -> float32 [n_id * n_val, D], identity-major
    label_embeddings: np.ndarray  # float32 [K, D_label], L2-normalised
    temperature: float
    encoder_record: dict[str, Any]


def load_pool(
    model: str = "tinyemo-faces-mini",
    *,
    attributes: tuple[str, ...] = ("skin_group", "gender", "age"),
    n_twins: int = 420,
    faces_config=None,
    progress: bool = False,
) -> FeaturePool:
    """Features of the faces splits and twins under ``model``'s encoder (from the feature cache).

    Parameters
    ----------
    model : str
        Bundle whose encoder (and label table, temperature) the trials reuse.
    attributes : tuple of str
        Protected attributes audited in every trial (one twin set each).
    n_twins : int
        Twin identities per attribute (the most any trial uses).
    faces_config : FacesConfig, optional
        Corpus sizes (default: the corpus the bundles were trained on; its biases are ignored).
    progress : bool

    Returns
    -------
    FeaturePool
    """
    from ..data.faces import FacesConfig, load_faces, load_twins
    from ..encoders import encode_dataset
    from ..model.bundle import load_bundle

    bundle = load_bundle(model)
    encoder = bundle.encoder
    config = replace(faces_config or FacesConfig(), biases=())  # trials plant their own biases
    splits = {s: load_faces(s, config) for s in ("train", "val", "test")}
    features = {s: np.array(encode_dataset(encoder, d, progress=progress), dtype=np.float32)
                for s, d in splits.items()}
    twins = {a: load_twins(a, config, n_identities=n_twins) for a in attributes}
    twin_features = {a: np.array(encode_dataset(encoder, twin_dataset(t), progress=progress), dtype=np.float32)
                     for a, t in twins.items()}
    return FeaturePool(
        classes=splits["train"].classes,
        features=features,
        true_labels={s: np.asarray(d.meta["true_labels"], dtype=np.int64) for s, d in splits.items()},
        attributes={s: d.attributes for s, d in splits.items()},
        audited=tuple(attributes),
        twins=twins,
        twin_features=twin_features,
        label_embeddings=bundle.label_embeddings.numpy().astype(np.float32),
        temperature=bundle.temperature,
        encoder_record=dict(bundle.spec["encoder"], bundle=bundle.name),
    )
