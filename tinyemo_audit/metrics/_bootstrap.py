"""Resampling engines: stratified bootstrap and group-label permutations on cell counts, row-weight bootstrap.

Every group metric (accuracy, one-vs-rest TPR/FPR/selection rate for every class) is a function
of the table ``counts[group, true label, predicted label]``. Resampling rows *within* each group
with replacement therefore has exactly the same distribution as drawing that group's cell counts
from ``Multinomial(n_group, cell shares)``, and shuffling group labels has exactly the same
distribution as dealing the pooled cell counts into groups of the observed sizes (multivariate
hypergeometric). Both are drawn here once per call, vectorised over replicates, so one resample
serves every metric and the cost no longer grows with the number of rows. Replicates come in
chunks so memory stays bounded whatever ``n_boot`` is.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Upper bound on the number of integers one chunk of replicates may hold (~32 MB as int64).
MAX_CHUNK_ELEMENTS = 4_000_000


def _chunks(total: int, per_replicate: int) -> Iterator[int]:
    size = max(1, min(total, MAX_CHUNK_ELEMENTS // max(1, per_replicate)))
    start = 0
    while start < total:
        yield min(size, total - start)
        start += size


def bootstrap_rng(seed: int) -> np.random.Generator:
    """The generator every bootstrap of one seed uses, so group_table and disparity share resamples."""
    return np.random.default_rng([seed, 0])


def permutation_rng(seed: int) -> np.random.Generator:
    """The generator for permutation tests, independent of the bootstrap stream of the same seed."""
    return np.random.default_rng([seed, 1])


def stratified_cell_bootstrap(cell_counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield chunks of shape ``(b, G, C)``: cell counts of a within-group bootstrap resample.

    ``cell_counts`` has shape ``(G, C)`` (groups × cells). Group sizes stay fixed in every replicate.
    """
    cell_counts = np.asarray(cell_counts, dtype=np.int64)
    sizes = cell_counts.sum(axis=1)
    n_cells = cell_counts.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = cell_counts / sizes[:, None]
    # An empty group draws 0 rows; any valid probability vector will do.
    shares[sizes == 0] = 1.0 / n_cells
    for b in _chunks(n_boot, cell_counts.size):
        yield rng.multinomial(sizes, shares, size=(b, len(sizes)))


def permuted_cell_counts(cell_counts: np.ndarray, n_perm: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield chunks of shape ``(b, G, C)``: cell counts after randomly permuting the group labels.

    Each group of size ``n_g`` receives a uniformly random subset of the pooled rows, drawn
    group after group and cell after cell with univariate hypergeometric draws (vectorised over
    permutations). Only cells that occur at all are visited.
    """
    cell_counts = np.asarray(cell_counts, dtype=np.int64)
    n_groups, n_cells = cell_counts.shape
    sizes = cell_counts.sum(axis=1)
    pooled = cell_counts.sum(axis=0)
    occupied = np.flatnonzero(pooled)
    for b in _chunks(n_perm, cell_counts.size):
        out = np.zeros((b, n_groups, n_cells), dtype=np.int64)
        remaining = np.tile(pooled[occupied], (b, 1))
        for g in range(n_groups - 1):
            need = np.full(b, sizes[g], dtype=np.int64)
            after = remaining.sum(axis=1)
            for j, cell in enumerate(occupied):
                after = after - remaining[:, j]
                drawn = rng.hypergeometric(remaining[:, j], after, need)
                out[:, g, cell] = drawn
                need -= drawn
                remaining[:, j] -= drawn
        out[:, n_groups - 1, occupied] = remaining
        yield out


def row_bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield chunks of shape ``(b, n)``: how often each row appears in a with-replacement resample.

    Built from one index matrix per chunk with a single ``bincount`` on offset indices, so
    statistics that are means become matrix products ``weights @ x / n``.
    """
    for b in _chunks(n_boot, 2 * n):
        idx = rng.integers(0, n, size=(b, n))
        idx += n * np.arange(b)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)
