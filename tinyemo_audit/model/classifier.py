"""Nearest-label classification in the LLM's embedding space (TinyEmo's inference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.dataset import Dataset
from ..errors import InputError


@dataclass
class Predictions:
    """What a model says about N items, for K candidate labels.

    A bundle fills every field. A predictions file (:mod:`tinyemo_audit.data.predictions`) may leave
    out ``embeddings`` and ``probabilities`` (None); its ``similarities`` are then its per-class
    scores, or its probabilities, or None.
    """

    classes: tuple[str, ...]
    embeddings: np.ndarray | None  # float32 [N, D] projected, L2-normalised
    similarities: np.ndarray | None  # float32 [N, K] cosine to each label embedding (a bundle)
    probabilities: np.ndarray | None  # float32 [N, K] softmax(similarities / temperature)
    predicted: np.ndarray  # int64 [N] index into classes


def project(bundle, features: np.ndarray, *, attributes=None, batch_size: int = 4096) -> np.ndarray:
    """Projected, L2-normalised embeddings of encoder features.

    The bundle's preprocessing steps (:mod:`.steps`) run first; a step that reads protected
    attributes takes them from ``attributes`` (a DataFrame, one row per feature row).
    """
    import torch

    from .steps import preprocess

    d_in = bundle.spec["projector"]["d_in"]
    if features.ndim != 2 or features.shape[1] != d_in:
        raise InputError(
            f"the projector expects features of dimension {d_in}, got shape {tuple(features.shape)}"
        )
    features = preprocess(bundle, features, attributes)
    out = []
    with torch.inference_mode():
        for start in range(0, len(features), batch_size):
            x = torch.from_numpy(np.array(features[start : start + batch_size], dtype=np.float32))
            out.append(torch.nn.functional.normalize(bundle.projector(x), dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, bundle.spec["projector"]["d_out"]), np.float32)


def classify(bundle, embeddings: np.ndarray, classes: tuple[str, ...] | None = None, *, attributes=None) -> Predictions:
    """Nearest label (cosine) among ``classes`` (default: the bundle's taxonomy).

    Candidates come from :meth:`~tinyemo_audit.model.bundle.Bundle.embed_classes`, as in ``eval``.
    A bundle with a decision step (:func:`.steps.decide`: per-group offsets or thresholds) reads
    the items' protected groups from ``attributes``.
    """
    from .steps import decide

    classes = tuple(classes or bundle.classes)
    labels = bundle.embed_classes(classes).numpy().astype(np.float32)
    sims, probs, predicted = decide(bundle, embeddings @ labels.T, embeddings, attributes, classes)
    return Predictions(classes=classes, embeddings=embeddings, similarities=sims, probabilities=probs,
                       predicted=predicted)


def dataset_features(bundle, dataset: Dataset, *, progress: bool = True) -> np.ndarray:
    """Encoder features for a dataset: given features as they are, images through the encoder."""
    if dataset.features is not None:
        return dataset.features
    from ..encoders import encode_dataset

    return encode_dataset(bundle.encoder, dataset, progress=progress)


def predict(bundle, dataset: Dataset, *, progress: bool = True) -> Predictions:
    """Project a dataset and classify it over the dataset's own taxonomy."""
    features = np.asarray(dataset_features(bundle, dataset, progress=progress))
    embeddings = project(bundle, features, attributes=dataset.attributes)
    return classify(bundle, embeddings, dataset.classes, attributes=dataset.attributes)


def subset_predictions(preds: Predictions, index: np.ndarray) -> Predictions:
    """Rows ``index`` of ``preds`` (fields that are None stay None)."""
    def rows(array):
        return None if array is None else array[index]

    return Predictions(classes=preds.classes, embeddings=rows(preds.embeddings), similarities=rows(preds.similarities),
                       probabilities=rows(preds.probabilities), predicted=preds.predicted[index])
