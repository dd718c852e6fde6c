"""The memory-bounded audit of a features dataset: one pass over the items in chunks, keeping only what the probes need.

A features store of millions of items does not fit in memory as projected embeddings (576 floats
an item) or per-class similarities. One pass reads ``chunk_size`` rows at a time, projects and
classifies them, and keeps:

- per item, only the prediction and its probability (12 bytes: the group metrics and the
  examples need them; labels and attribute codes come with the dataset);
- per class, the running top k rows by similarity (retrieval skew);
- the embeddings of the rows that discovery maps (its seeded subsample of ``umap_cap`` rows) and
  that the iEAT comparisons draw (at most 300 a group): chosen before the pass, with the same
  seeded draws as an in-memory audit.

Group metrics, their bootstrap CIs and tests are computed from cell counts (group × true × predicted)
afterwards. A row's projection does not depend on its chunk (small chunks are padded, see
:func:`tinyemo_audit.model.classifier.classify_chunks`), so results.json is the same whatever ``chunk_size``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..data.arrays import distinct_rows
from ..model.classifier import DEFAULT_CHUNK_SIZE, check_chunk_size


class TopK:
    """Per class, the k rows of highest score seen so far: best first, ties broken by lower row.

    Equal to ``np.argsort(-scores, kind="stable")[:k]`` over all rows, whatever the blocks.
    """

    def __init__(self, n_classes: int, k: int):
        self.k = int(k)
        self.scores = [np.empty(0, np.float32) for _ in range(n_classes)]
        self.index = [np.empty(0, np.int64) for _ in range(n_classes)]

    def add(self, start: int, scores: np.ndarray) -> None:
        """Offer the rows ``start ..`` with ``scores`` (rows × classes)."""
        rows = np.arange(start, start + len(scores), dtype=np.int64)
        for c in range(len(self.scores)):
            column = scores[:, c]
            if len(column) > self.k:  # only a block's own top k can enter the running top k
                keep = np.argpartition(-column, self.k - 1)[: self.k]
                # argpartition may split ties at the k-th value arbitrarily: keep every tied row.
                keep = np.flatnonzero(column >= column[keep].min())
            else:
                keep = np.arange(len(column))
            merged_scores = np.concatenate([self.scores[c], column[keep]])
            merged_index = np.concatenate([self.index[c], rows[keep]])
            order = np.lexsort((merged_index, -merged_scores))[: self.k]
            self.scores[c], self.index[c] = merged_scores[order], merged_index[order]

    def rows(self) -> np.ndarray:
        """(n_classes, k) row indices, best first."""
        return np.stack(self.index) if self.index else np.zeros((0, self.k), np.int64)


@dataclass
class GatheredRows:
    """The embeddings of some rows of a larger set (``index`` sorted): indexable by those rows' numbers."""

    index: np.ndarray
    rows: np.ndarray

    def __getitem__(self, wanted) -> np.ndarray:
        position = np.searchsorted(self.index, np.asarray(wanted))
        if np.any(self.index[np.minimum(position, len(self.index) - 1)] != wanted):
            raise KeyError("rows that were not gathered")
        return self.rows[position]


@dataclass
class StreamedPass:
    """What one pass over the items keeps (see module docstring)."""

    predicted: np.ndarray  # int64 (N,)
    confidence: np.ndarray  # float32 (N,): probability of the predicted label
    top: np.ndarray  # int64 (K, k): rows most similar to each label, best first
    gathered: GatheredRows  # embeddings of the rows discovery and iEAT use
    distinct_embeddings: int  # distinct projected embeddings among the gathered rows (2 if any two rows differ)


def stream_predictions(bundle, features: np.ndarray, label_emb: np.ndarray, *, k: int, wanted: np.ndarray,
                       chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = True) -> StreamedPass:
    """Project and classify ``features`` chunk by chunk (see module docstring).

    Parameters
    ----------
    bundle : Bundle
        Its projector and temperature are used.
    features : ndarray (N, D_in)
        Usually a read-only memory map; its pages are released after each chunk.
    label_emb : ndarray (K, D)
        The candidate labels' embeddings.
    k : int
        Rows kept per label for retrieval skew (at most N).
    wanted : ndarray of int
        Rows whose embeddings are kept (sorted, unique).
    chunk_size : int
    progress : bool
    """
    from tqdm.auto import tqdm

    from ..model.classifier import classify_chunks

    chunk_size = check_chunk_size(chunk_size)
    n = len(features)
    predicted = np.empty(n, dtype=np.int64)
    confidence = np.empty(n, dtype=np.float32)
    top = TopK(len(label_emb), min(k, n))
    gathered = np.empty((len(wanted), label_emb.shape[1]), dtype=np.float32)
    first, differs = None, False
    bar = tqdm(total=n, desc="projecting and classifying", unit="item", file=sys.stderr, disable=not progress,
               leave=False)
    for start, embeddings, sims, probs in classify_chunks(bundle, features, label_emb, chunk_size):
        stop = start + len(embeddings)
        best = sims.argmax(axis=1)
        predicted[start:stop] = best
        confidence[start:stop] = probs[np.arange(len(best)), best]
        top.add(start, sims)
        lo, hi = np.searchsorted(wanted, [start, stop])
        gathered[lo:hi] = embeddings[wanted[lo:hi] - start]
        if first is None:
            first = embeddings[0].copy()
        differs = differs or bool((embeddings != first).any())
        bar.update(stop - start)
    bar.close()
    distinct = distinct_rows(gathered)
    return StreamedPass(predicted=predicted, confidence=confidence, top=top.rows(),
                        gathered=GatheredRows(np.asarray(wanted), gathered),
                        distinct_embeddings=max(distinct, 2 if differs else min(n, 1)))
