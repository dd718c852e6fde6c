"""Writes a feature store split (format: :mod:`tinyemo_audit.data.feature_store`) resumably, rows by index.

``features.npy`` is pre-allocated; a batch of rows is written at its index, flushed, and only then
recorded as final in ``progress.json`` (rewritten atomically). Batches may finish in any order
(a distributed engine returns them as they come), so the record keeps the finished row ranges.
A SIGKILL at any moment leaves either a finished split (manifest.json, written last) or a
features.npy whose recorded ranges are final; :func:`open_store` resumes from there.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_path, atomic_write_json
from ..errors import InputError
from ..input_files import not_regular_reason, read_text
from .arrays import new_npy, reserve_blocks
from .feature_store import (
    DTYPES,
    FEATURES_FILE,
    FORMAT,
    ID_COLUMN,
    LABEL_COLUMN,
    LOCK_FILE,
    MANIFEST_FILE,
    METADATA_FILE,
    PROGRESS_FILE,
    STATUS_COMPLETE,
    VERSION,
    file_digest,
    read_record,
)

MSG_RESERVED = "attribute {name!r} has the name of a metadata column ({reserved}); rename it"

logger = logging.getLogger(__name__)


def done_ranges(record: dict[str, Any]) -> list[tuple[int, int]]:
    """The finished ``[start, stop)`` row ranges of a progress record (older records: a prefix ``rows_done``)."""
    if "done" in record:
        ranges = record["done"]
        if not isinstance(ranges, list) or not all(
                isinstance(r, list) and len(r) == 2 and all(isinstance(v, int) for v in r) for r in ranges):
            raise InputError("progress.json: 'done' must be a list of [start, stop] row ranges")
        return [(int(a), int(b)) for a, b in ranges]
    done = record.get("rows_done", 0)
    return [(0, int(done))] if isinstance(done, int) and done > 0 else []


def rows_done(record: dict[str, Any]) -> int:
    """How many rows a progress record says are final."""
    return sum(b - a for a, b in done_ranges(record))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def writer_lock(split_dir: Path):
    """One writer per split folder; a lock left by a killed process (dead pid) is taken over."""
    split_dir.mkdir(parents=True, exist_ok=True)
    lock = split_dir / LOCK_FILE
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(read_text(lock, what="lock file", max_bytes=64).strip() or 0)
            except (InputError, ValueError):  # not a regular file, or not a pid: nobody's lock
                owner = 0
            if owner and owner != os.getpid() and _pid_alive(owner):
                raise InputError(f"another embed (pid {owner}) is writing {split_dir}; wait for it to finish") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        break
    else:
        raise InputError(f"cannot lock {split_dir} for writing")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


class StoreWriter:
    """An open split being written: ``features`` (a writable memory map) and its progress ``record``."""

    def __init__(self, split_dir: Path, features: np.ndarray, record: dict[str, Any]):
        self.split_dir, self.features, self.record = split_dir, features, record
        self._done = _merge(done_ranges(record))

    @property
    def n(self) -> int:
        return int(self.features.shape[0])

    @property
    def rows_done(self) -> int:
        return sum(b - a for a, b in self._done)

    def pending(self, batch_size: int) -> list[tuple[int, int]]:
        """The ``(start, stop)`` batches not yet final, at most ``batch_size`` rows each, in row order."""
        batches, cursor = [], 0
        for start, stop in [*self._done, (self.n, self.n)]:
            for a in range(cursor, start, batch_size):
                batches.append((a, min(a + batch_size, start)))
            cursor = max(cursor, stop)
        return batches

    def write(self, start: int, rows: np.ndarray, skipped: list[str | None] | None = None) -> None:
        """Write ``rows`` at row ``start``, then record them as final.

        ``skipped`` (one entry per row, None where the row is good) records rows whose source item
        could not be used (an image file that did not decode); :meth:`finish` leaves them out.
        """
        stop = start + len(rows)
        if not 0 <= start <= stop <= self.n:
            raise ValueError(f"rows {start}-{stop} outside the store's {self.n}")
        self.features[start:stop] = rows
        # The rows must be on disk before the record says they are final.
        self.features.flush()
        self._done = _merge([*self._done, (start, stop)])
        self.record["done"] = [list(r) for r in self._done]
        if skipped is not None and any(r is not None for r in skipped):
            self.record.setdefault("skipped_rows", []).extend(
                [start + i, str(r)] for i, r in enumerate(skipped) if r is not None)
        self.record.pop("rows_done", None)
        atomic_write_json(self.split_dir / PROGRESS_FILE, self.record)

    def skipped_rows(self) -> dict[int, str]:
        """The rows :meth:`write` recorded as skipped, with why (row → reason)."""
        pairs = self.record.get("skipped_rows") or []
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], int)
                                                  and 0 <= p[0] < self.n for p in pairs):
            raise InputError("progress.json: 'skipped_rows' must be a list of [row, reason] pairs")
        return {int(row): str(reason) for row, reason in pairs}

    def _compact(self, keep: np.ndarray) -> None:
        """Rewrite features.npy with only the rows ``keep`` (a block at a time: memory bounded), atomically."""
        from numpy.lib.format import open_memmap

        path = self.split_dir / FEATURES_FILE
        index = np.flatnonzero(keep)
        with atomic_path(path) as tmp:
            kept = new_npy(tmp, dtype=self.features.dtype, shape=(len(index), self.features.shape[1]))
            for a in range(0, len(index), 1 << 16):
                kept[a:a + (1 << 16)] = self.features[index[a:a + (1 << 16)]]
            kept.flush()
            del kept
        self.features = open_memmap(path, mode="r")

    def finish(self, *, classes, ids, labels, attributes: pd.DataFrame, extra: dict[str, Any] | None = None,
               keep: np.ndarray | None = None) -> None:
        """Write the metadata table and, last, manifest.json; the split is then complete.

        ``keep`` (bool, one per row written) leaves rows out of the finished features (rows whose
        image did not decode); ``ids``, ``labels`` and ``attributes`` describe the kept rows. The
        manifest then says ``n`` (kept) and ``n_listed`` (written).

        Raises
        ------
        InputError
            Rows are missing, or an attribute is named like a metadata column.
        """
        if self.rows_done != self.n:
            raise InputError(f"{self.split_dir}: {self.n - self.rows_done} rows are not written yet")
        from .arrays import array_digest

        counts = {}
        if keep is not None:
            counts = {"n": int(keep.sum()), "n_listed": self.n}
            if not keep.all():
                self._compact(keep)
        digest = array_digest(self.features)
        self.features = None
        write_metadata(self.split_dir / METADATA_FILE, ids=ids, labels=labels, attributes=attributes)
        manifest = {
            **{k: v for k, v in self.record.items()
               if k not in ("status", "done", "rows_done", "batch_size", "skipped_rows")}, **counts,
            "version": VERSION, "status": STATUS_COMPLETE, "features": FEATURES_FILE, "features_blake2b": digest,
            "metadata": METADATA_FILE, "metadata_blake2b": file_digest(self.split_dir / METADATA_FILE),
            "classes": list(classes), "attributes": [str(c) for c in attributes.columns], **(extra or {}),
        }
        atomic_write_json(self.split_dir / MANIFEST_FILE, manifest, indent=None)
        (self.split_dir / PROGRESS_FILE).unlink(missing_ok=True)


def write_metadata(path: Path, *, ids, labels, attributes: pd.DataFrame) -> None:
    """The metadata table (Parquet) of a split: id, label, then one text column per attribute; atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    reserved = (ID_COLUMN, LABEL_COLUMN)
    columns = {ID_COLUMN: pa.array(np.asarray(ids, dtype=str)),
               LABEL_COLUMN: pa.array(np.asarray(labels, dtype=np.int64))}
    for name in attributes.columns:
        if str(name) in reserved:
            raise InputError(MSG_RESERVED.format(name=str(name), reserved=", ".join(reserved)))
        values = attributes[name]
        text = values.astype("string") if not isinstance(values.dtype, pd.CategoricalDtype) else values
        columns[str(name)] = pa.array(text, type=pa.string() if not isinstance(values.dtype, pd.CategoricalDtype)
                                      else None, from_pandas=True)
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(columns), tmp)


def open_store(split_dir: Path, identity: dict[str, Any], *, overwrite: bool = False, check=None) -> StoreWriter:
    """Resume the split at ``split_dir`` (same ``identity``) or start it afresh.

    ``identity`` holds at least ``n``, ``dim`` and ``dtype`` and whatever the caller wants to compare
    on resume: ``check(record, identity, split_dir)`` raises when an unfinished split belongs to
    another producer. Unreadable or mis-shaped features start over.
    """
    if identity.get("dtype", "float32") not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}")
    record = None if overwrite else read_record(split_dir / PROGRESS_FILE)
    if record is not None:
        if check is not None:
            check(record, identity, split_dir)
        features = _resume(split_dir, identity)
        if features is not None:
            return StoreWriter(split_dir, features, record)
    return _fresh_start(split_dir, identity)


def _fresh_start(split_dir: Path, identity: dict[str, Any]) -> StoreWriter:
    for name in (MANIFEST_FILE, PROGRESS_FILE, FEATURES_FILE, METADATA_FILE):
        (split_dir / name).unlink(missing_ok=True)
    split_dir.mkdir(parents=True, exist_ok=True)
    features = new_npy(split_dir / FEATURES_FILE, dtype=np.dtype(identity.get("dtype", "float32")),
                       shape=(identity["n"], identity["dim"]))
    features.flush()
    record = {"format": FORMAT, **identity, "status": "running", "done": [], "runs": []}
    atomic_write_json(split_dir / PROGRESS_FILE, record)
    return StoreWriter(split_dir, features, record)


def _resume(split_dir: Path, identity: dict[str, Any]):
    from numpy.lib.format import open_memmap

    path = split_dir / FEATURES_FILE
    reason = not_regular_reason(path)
    if reason is not None:  # a FIFO there would block the open below
        logger.warning("%s %s; starting over", path, reason)
        return None
    try:
        features = open_memmap(path, mode="r+")
    except (OSError, ValueError) as err:
        logger.warning("%s unreadable (%s); starting over", path, err)
        return None
    if features.dtype != np.dtype(identity.get("dtype", "float32")) or features.shape != (identity["n"], identity["dim"]):
        logger.warning("%s has %s %s; starting over", path, features.dtype, features.shape)
        return None
    reserve_blocks(path)  # a store begun sparse (before reserve_blocks) must not die of SIGBUS when resumed
    return features


def write_store(root: str | os.PathLike, split: str, features, *, classes, ids, labels, attributes: pd.DataFrame,
                dtype: str = "float32", block_rows: int = 1 << 16, extra: dict[str, Any] | None = None) -> Path:
    """Write a complete split from arrays (or an iterable of feature blocks), e.g. from another pipeline.

    Parameters
    ----------
    root : path
        The store's folder; the split goes to ``root/<split>/``.
    split : str
    features : ndarray (N, D), or (N, D, iterable of blocks)
        Encoder features; a tuple ``(n, dim, blocks)`` writes blocks of rows in order without holding them all.
    classes : sequence of str
    ids, labels : array-like (N,)
        Labels index ``classes``; -1 where unknown.
    attributes : DataFrame
        N rows, one column per attribute.
    dtype : {"float32", "float16"}
    extra : dict, optional
        More manifest keys (e.g. ``encoder``).

    Returns
    -------
    Path
        The split folder.
    """
    split_dir = Path(root) / split
    if isinstance(features, tuple):
        n, dim, blocks = features
    else:
        n, dim = features.shape
        blocks = (features[i:i + block_rows] for i in range(0, n, block_rows))
    identity = {"format": FORMAT, "version": VERSION, "split": split, "n": int(n), "dim": int(dim), "dtype": dtype,
                **(extra or {})}
    with writer_lock(split_dir):
        writer = open_store(split_dir, identity, overwrite=True)
        start = 0
        for block in blocks:
            writer.write(start, np.asarray(block))
            start += len(block)
        writer.finish(classes=classes, ids=ids, labels=labels, attributes=attributes)
    return split_dir
