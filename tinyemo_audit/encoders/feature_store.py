"""``embed``'s writing loop: a dataset's images through an encoder into a feature store, resumable.

The store's format, reader and resumable writer are data (:mod:`tinyemo_audit.data.feature_store`,
:mod:`tinyemo_audit.data.feature_store_writer`); this module decides which encoder and dataset a
store belongs to and runs the batches, on this process (``engine="local"``) or on Ray Data
(:mod:`tinyemo_audit.encoders.ray_engine`). Each finished batch is written at its row index and
recorded before the next is taken, so a rerun after a SIGKILL computes only what is missing.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.feature_store import FORMAT, MANIFEST_FILE, STATUS_COMPLETE, VERSION, read_record
from ..data.feature_store_writer import StoreWriter, open_store, writer_lock
from ..data.image_listing import ImageListing
from ..errors import InputError, UsageError

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from .base import Encoder

# Seconds to sleep after each batch: lets tests interrupt an embed run at a known point.
DELAY_ENV = "TINYEMO_AUDIT_EMBED_BATCH_DELAY"
MSG_MISMATCH = (
    "{where} holds features of {what} {old!r}, not {new!r}; pass overwrite=True (--overwrite) "
    "to replace them or choose another --out"
)
MAX_SKIP_RECORDS = 100  # skipped image files named in the manifest (all are counted)
MSG_NOT_FINITE = "encoder {spec} produced NaN or infinite features for {name} rows {start}-{stop}"

# (pending batches) -> (start row, features, per-row skip reasons or None) in any order; see local_batches
# and ray_engine.
BatchRunner = Callable[[list[tuple[int, int]]], Iterator[tuple[int, np.ndarray, "list[str | None] | None"]]]

logger = logging.getLogger(__name__)


def _identity(encoder: Encoder, dataset: Dataset | ImageListing, dataset_key: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "encoder": encoder.spec,
        "encoder_fingerprint": encoder.fingerprint(),
        "dataset": dataset.name,
        "split": dataset.split,
        "dataset_fingerprint": dataset_key,
        "n": int(len(dataset)),
        "dim": int(encoder.dim),
        "dtype": "float32",
    }


def _check_same(record: dict[str, Any], identity: dict[str, Any], where: Path) -> None:
    if record.get("encoder_fingerprint") != identity["encoder_fingerprint"]:
        old, new = record.get("encoder"), identity["encoder"]
        if old == new:
            old, new = f"{old} (other weights)", f"{new} (these weights)"
        raise InputError(MSG_MISMATCH.format(where=where, what="encoder", old=old, new=new))
    if record.get("dataset_fingerprint") != identity["dataset_fingerprint"]:
        old, new = record.get("dataset"), identity["dataset"]
        if old == new:
            old, new = f"{old} (other images)", f"{new} (these images)"
        raise InputError(MSG_MISMATCH.format(where=where, what="dataset", old=old, new=new))
    for key in ("n", "dim"):
        found = record.get("n_listed", record.get("n")) if key == "n" else record.get(key)
        if found != identity[key]:
            raise InputError(f"{where}: {key} is {found}, expected {identity[key]}; use --overwrite")


def rows_source(dataset: Dataset | ImageListing):
    """What a batch's rows are read from: a listing's files, or a dataset's decoded pixels."""
    return dataset if isinstance(dataset, ImageListing) else dataset.images


def local_batches(encoder: Encoder, dataset: Dataset | ImageListing) -> BatchRunner:
    """Run batches one after another in this process (through the same encode_rows as the Ray actors)."""
    from .engine import encode_rows

    source = rows_source(dataset)

    def run(batches: list[tuple[int, int]]):
        for start, stop in batches:
            yield (start, *encode_rows(encoder, source, start, stop))
    return run


def _write_split(writer: StoreWriter, encoder: Encoder, dataset: Dataset, runner: BatchRunner, *,
                 batch_size: int, progress: bool, engine: str) -> None:
    from tqdm.auto import tqdm

    n = writer.n
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)
    writer.record.setdefault("runs", []).append({"pid": os.getpid(), "started_at_row": writer.rows_done,
                                                 "batch_size": batch_size, "engine": engine})
    bar = tqdm(total=n, initial=writer.rows_done, desc=f"embed {dataset.split}", unit="img", file=sys.stderr,
               disable=not progress or writer.rows_done == n)
    for start, rows, skipped in runner(writer.pending(batch_size)):
        rows = np.asarray(rows, dtype=np.float32)
        if not np.isfinite(rows).all():
            raise InputError(MSG_NOT_FINITE.format(spec=encoder.spec, name=dataset.name, start=start,
                                                   stop=start + len(rows) - 1))
        writer.write(start, rows, skipped)
        bar.update(len(rows))
        if delay:
            time.sleep(delay)
    bar.close()
    if not isinstance(dataset, ImageListing):
        writer.finish(classes=dataset.classes, ids=dataset.ids, labels=dataset.labels,
                      attributes=dataset.attributes, extra={"runs": writer.record["runs"]})
        return
    # Files that did not decode (on any worker, in any run) are left out, as a local load leaves them out.
    skipped = writer.skipped_rows()
    keep, records, _ = dataset.kept([skipped.get(i) for i in range(writer.n)])
    index = np.flatnonzero(keep)
    undecoded = records[len(dataset.meta.get("skipped") or ()):]
    writer.finish(classes=dataset.classes, ids=dataset.ids[index], labels=dataset.labels[index],
                  attributes=dataset.attributes.iloc[index].reset_index(drop=True), keep=keep,
                  extra={"runs": writer.record["runs"], "n_skipped_images": len(undecoded),
                         "skipped_images": undecoded[:MAX_SKIP_RECORDS]})


def embed_split(
    encoder: Encoder,
    dataset: Dataset,
    out: str | os.PathLike,
    *,
    batch_size: int = 256,
    overwrite: bool = False,
    progress: bool = True,
    runner: BatchRunner | None = None,
    engine: str = "local",
) -> Path:
    """Write ``dataset``'s features under ``encoder`` to ``out/<split>/``, resuming if interrupted.

    Parameters
    ----------
    encoder : Encoder
    dataset : Dataset or ImageListing
        A split with images, or a split's image files listed (decoded a batch at a time by the
        runner; files that do not decode are left out of the finished split, as a local load leaves them).
    out : path
        The feature-cache folder (one subfolder per split).
    batch_size : int
        Images per batch; each finished batch is written at its rows and recorded.
    overwrite : bool
        Replace features of another encoder or dataset instead of refusing.
    progress : bool
        Show a tqdm bar on stderr.
    runner : callable, optional
        Computes the pending batches (default: :func:`local_batches`, in this process).
    engine : str
        The engine's name, recorded in the store's ``runs``.

    Returns
    -------
    Path
        The split folder.

    Raises
    ------
    InputError
        If the dataset has no images, or ``out`` holds another encoder's or dataset's features
        and ``overwrite`` is False.
    """
    from .cache import dataset_fingerprint

    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1; got {batch_size}")
    listing = isinstance(dataset, ImageListing)
    if not listing and dataset.images is None:
        raise InputError(f"{dataset.name} {dataset.split}: embed needs images, this split holds features")
    split_dir = Path(out) / dataset.split
    identity = _identity(encoder, dataset, dataset.fingerprint() if listing else dataset_fingerprint(dataset))
    manifest = read_record(split_dir / MANIFEST_FILE)
    if manifest is not None and not overwrite:
        _check_same(manifest, identity, split_dir)
        if manifest.get("status") == STATUS_COMPLETE:
            logger.info("%s is complete; nothing to do", split_dir)
            return split_dir
    with writer_lock(split_dir):
        writer = open_store(split_dir, identity, overwrite=overwrite, check=_check_same)
        _write_split(writer, encoder, dataset, runner or local_batches(encoder, dataset), batch_size=batch_size,
                     progress=progress, engine=engine)
    return split_dir
