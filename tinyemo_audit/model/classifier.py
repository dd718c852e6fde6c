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
    # float32 [N] probability of the predicted label; set where probabilities are not kept (a streamed audit)
    confidence: np.ndarray | None = None


def project(bundle, features: np.ndarray, *, attributes=None, batch_size: int = 4096) -> np.ndarray:
    """Projected, L2-normalised embeddings of encoder features.

    The bundle's preprocessing steps (:mod:`.steps`) run first; a step that reads protected
    attributes takes them from ``attributes`` (a DataFrame, one row per feature row).
    """
    import torch

    from ..devices import current_device
    from .steps import preprocess

    check_projector_input(bundle, features)
    features = preprocess(bundle, features, attributes)
    device = current_device()
    projector = bundle.projector.to(device)
    out = []
    with torch.inference_mode():
        for start in range(0, len(features), batch_size):
            x = torch.from_numpy(np.array(features[start : start + batch_size], dtype=np.float32)).to(device)
            out.append(torch.nn.functional.normalize(projector(x), dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, bundle.spec["projector"]["d_out"]), np.float32)


def check_projector_input(bundle, features: np.ndarray) -> None:
    """InputError unless ``features`` is 2-D with the projector's input dimension."""
    d_in = bundle.spec["projector"]["d_in"]
    if features.ndim != 2 or features.shape[1] != d_in:
        raise InputError(
            f"the projector expects features of dimension {d_in}, got shape {tuple(features.shape)}"
        )


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


DEFAULT_CHUNK_SIZE = 65_536
MSG_CHUNK = "--chunk-size must be at least 1; got {value}"


def check_chunk_size(value) -> int:
    """``value`` as a chunk size (an integer of at least 1; None: ``DEFAULT_CHUNK_SIZE``), else a UsageError (exit 2)."""
    from ..errors import UsageError
    from ..user_text import shown

    if value is None:
        return DEFAULT_CHUNK_SIZE
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(MSG_CHUNK.format(value=shown(value)))
    return int(value)


# BLAS takes another kernel for matrices of fewer rows, whose rounding differs in the last bit;
# padding a small chunk to this many rows keeps every row's projection independent of its chunk.
MIN_PROJECTION_ROWS = 64


def classify_chunks(bundle, features: np.ndarray, label_emb: np.ndarray, chunk_size: int):
    """Yield ``(start, embeddings, similarities, probabilities)`` for ``features`` a chunk of rows at a time.

    Each row's numbers do not depend on ``chunk_size`` (a chunk below ``MIN_PROJECTION_ROWS`` rows is
    padded); a memory-mapped ``features`` has its pages released after each chunk, so memory is
    bounded by the chunk.
    """
    import torch

    from ..data.arrays import row_blocks
    from ..devices import current_device

    check_projector_input(bundle, features)
    device = current_device()
    projector = bundle.projector.to(device)
    for start, block in row_blocks(features, chunk_size):
        n = len(block)
        if n < MIN_PROJECTION_ROWS:
            block = np.concatenate([block, np.zeros((MIN_PROJECTION_ROWS - n, block.shape[1]), np.float32)])
        with torch.inference_mode():
            x = torch.from_numpy(block).to(device)
            embeddings = torch.nn.functional.normalize(projector(x), dim=-1).cpu().numpy()
        # einsum's own loop computes every dot product alone; BLAS rounds the edge rows of a block
        # another way, which would make a row's similarity depend on its chunk.
        sims = np.einsum("id,kd->ik", embeddings, label_emb.astype(np.float32), optimize=False)
        yield start, embeddings[:n], sims[:n], _row_softmax(sims[:n], bundle.temperature)


def _row_softmax(sims: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(sims / temperature) per row, each row's value independent of the rows around it.

    numpy's vectorised exp rounds a value by its lane in the SIMD loop, i.e. by its position in
    the array: rows padded to 16 columns (with exp(-inf) = 0) put every row's values in the same
    lanes, whatever the chunk they came in.
    """
    n, k = sims.shape
    logits = np.full((n, -(-k // 16) * 16), -np.inf, dtype=np.float32)
    logits[:, :k] = sims / np.float32(temperature)
    logits[:, :k] -= logits[:, :k].max(axis=1, keepdims=True)
    probs = np.exp(logits)[:, :k]
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def predicted_labels(bundle, features: np.ndarray, classes: tuple[str, ...], chunk_size: int) -> np.ndarray:
    """The nearest label of every row of ``features`` (int64), read a chunk at a time (``eval`` on a store)."""
    labels = bundle.embed_classes(tuple(classes)).numpy().astype(np.float32)
    out = np.empty(len(features), dtype=np.int64)
    for start, _, sims, _ in classify_chunks(bundle, features, labels, chunk_size):
        out[start:start + len(sims)] = sims.argmax(axis=1)
    return out


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
                       probabilities=rows(preds.probabilities), predicted=preds.predicted[index],
                       confidence=rows(preds.confidence))
