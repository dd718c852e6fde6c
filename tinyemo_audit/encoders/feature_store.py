"""The ``embed`` feature cache: a resumable writer and a validating reader of ``<out>/<split>/features.npy``.

Layout of one split folder::

    features.npy    float32 [N, D], pre-allocated and filled batch by batch (memory-mappable)
    progress.json   rows finished so far, rewritten atomically after every batch (while running)
    manifest.json   ids, labels, classes, attributes, encoder, dims, features digest; written last

A SIGKILL at any moment leaves either a finished split (manifest.json) or a features.npy whose
first ``rows_done`` rows are final; a rerun continues from there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_write_json
from ..errors import InputError, UsageError
from ..input_files import MiB, is_inside, not_regular_reason, read_text, shown_path

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from .base import Encoder

FORMAT = "tinyemo-audit-features"
VERSION = 1
FEATURES_FILE = "features.npy"
PROGRESS_FILE = "progress.json"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
STATUS_COMPLETE = "complete"
# manifest.json lists every item's id, label and attributes: large for a large split, never gigabytes.
MAX_RECORD_BYTES = 1024 * MiB
# Seconds to sleep after each batch: lets tests interrupt an embed run at a known point.
DELAY_ENV = "TINYEMO_AUDIT_EMBED_BATCH_DELAY"
MSG_MISMATCH = (
    "{where} holds features of {what} {old!r}, not {new!r}; pass overwrite=True (--overwrite) "
    "to replace them or choose another --out"
)

logger = logging.getLogger(__name__)


def _read_json(path: Path) -> dict[str, Any] | None:
    """The record at ``path``, None when there is none; an InputError for anything but a regular JSON file."""
    if not os.path.lexists(path):
        return None
    text = read_text(path, what="feature-cache record", max_bytes=MAX_RECORD_BYTES)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise InputError(f"{shown_path(path)} is unreadable: {' '.join(str(err).split())[:200]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{shown_path(path)} is not a {FORMAT} file")
    return data


def _attributes_record(dataset: Dataset) -> dict[str, list[Any]]:
    frame = dataset.attributes
    return {
        str(col): [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                   for v in frame[col].tolist()]
        for col in frame.columns
    }


def _identity(encoder: Encoder, dataset: Dataset, dataset_key: str) -> dict[str, Any]:
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
        if record.get(key) != identity[key]:
            raise InputError(f"{where}: {key} is {record.get(key)}, expected {identity[key]}; use --overwrite")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _writer_lock(split_dir: Path):
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


def _fresh_start(split_dir: Path, identity: dict[str, Any], batch_size: int):
    from numpy.lib.format import open_memmap

    for name in (MANIFEST_FILE, PROGRESS_FILE, FEATURES_FILE):
        (split_dir / name).unlink(missing_ok=True)
    split_dir.mkdir(parents=True, exist_ok=True)
    store = open_memmap(split_dir / FEATURES_FILE, mode="w+", dtype=np.float32,
                        shape=(identity["n"], identity["dim"]))
    store.flush()
    progress = {**identity, "status": "running", "rows_done": 0, "batch_size": batch_size, "runs": []}
    atomic_write_json(split_dir / PROGRESS_FILE, progress)
    return store, progress


def _resume(split_dir: Path, progress: dict[str, Any], identity: dict[str, Any]):
    from numpy.lib.format import open_memmap

    reason = not_regular_reason(split_dir / FEATURES_FILE)
    if reason is not None:  # a FIFO there would block the open below
        logger.warning("%s %s; starting over", split_dir / FEATURES_FILE, reason)
        return None
    try:
        store = open_memmap(split_dir / FEATURES_FILE, mode="r+")
    except (OSError, ValueError) as err:
        logger.warning("%s unreadable (%s); starting over", split_dir / FEATURES_FILE, err)
        return None
    if store.dtype != np.float32 or store.shape != (identity["n"], identity["dim"]):
        logger.warning("%s has %s %s; starting over", split_dir / FEATURES_FILE, store.dtype, store.shape)
        return None
    return store


def _write_split(encoder: Encoder, dataset: Dataset, split_dir: Path, identity: dict[str, Any], *,
                 batch_size: int, overwrite: bool, progress: bool) -> None:
    from tqdm.auto import tqdm

    record = None if overwrite else _read_json(split_dir / PROGRESS_FILE)
    store = None
    if record is not None:
        _check_same(record, identity, split_dir)
        store = _resume(split_dir, record, identity)
    if store is None:
        store, record = _fresh_start(split_dir, identity, batch_size)

    n, done = identity["n"], int(record["rows_done"])
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)
    record["runs"].append({"pid": os.getpid(), "started_at_row": done, "batch_size": batch_size})
    atomic_write_json(split_dir / PROGRESS_FILE, record)
    bar = tqdm(total=n, initial=done, desc=f"embed {dataset.split}", unit="img", file=sys.stderr,
               disable=not progress or n == done)
    for start in range(done, n, batch_size):
        stop = min(start + batch_size, n)
        batch = encoder.encode_images(dataset.images[start:stop], batch_size=stop - start, progress=False)
        if not np.isfinite(batch).all():
            raise InputError(f"encoder {encoder.spec} produced NaN or infinite features for "
                             f"{dataset.name} rows {start}-{stop - 1}")
        store[start:stop] = batch
        # The rows must be on disk before the record says they are done.
        store.flush()
        record["rows_done"] = stop
        atomic_write_json(split_dir / PROGRESS_FILE, record)
        bar.update(stop - start)
        if delay:
            time.sleep(delay)
    bar.close()
    from .cache import array_digest

    digest = array_digest(store)
    del store
    manifest = {
        **identity,
        "status": STATUS_COMPLETE,
        "features": FEATURES_FILE,
        "features_blake2b": digest,
        "classes": list(dataset.classes),
        "ids": [str(i) for i in dataset.ids],
        "labels": [int(v) for v in dataset.labels],
        "attributes": _attributes_record(dataset),
        "runs": record["runs"],
    }
    atomic_write_json(split_dir / MANIFEST_FILE, manifest, indent=None)
    (split_dir / PROGRESS_FILE).unlink(missing_ok=True)


def embed_split(
    encoder: Encoder,
    dataset: Dataset,
    out: str | os.PathLike,
    *,
    batch_size: int = 256,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write ``dataset``'s features under ``encoder`` to ``out/<split>/``, resuming if interrupted.

    Parameters
    ----------
    encoder : Encoder
    dataset : Dataset
        A split with images.
    out : path
        The feature-cache folder (one subfolder per split).
    batch_size : int
        Images per forward pass; each finished batch is recorded before the next starts.
    overwrite : bool
        Replace features of another encoder or dataset instead of refusing.
    progress : bool
        Show a tqdm bar on stderr.

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
    if dataset.images is None:
        raise InputError(f"{dataset.name} {dataset.split}: embed needs images, this split holds features")
    split_dir = Path(out) / dataset.split
    identity = _identity(encoder, dataset, dataset_fingerprint(dataset))
    manifest = _read_json(split_dir / MANIFEST_FILE)
    if manifest is not None and not overwrite:
        _check_same(manifest, identity, split_dir)
        if manifest.get("status") == STATUS_COMPLETE:
            logger.info("%s is complete; nothing to do", split_dir)
            return split_dir
    with _writer_lock(split_dir):
        _write_split(encoder, dataset, split_dir, identity, batch_size=batch_size, overwrite=overwrite,
                     progress=progress)
    return split_dir


def is_feature_store(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds an ``embed`` feature cache (any split folder with a manifest or progress)."""
    root = Path(root)
    if not root.is_dir():
        return False
    return any(
        (sub / name).is_file()
        for sub in root.iterdir() if sub.is_dir()
        for name in (MANIFEST_FILE, PROGRESS_FILE)
    )


def read_feature_store(root: str | os.PathLike, split: str, *, classes: tuple[str, ...] | None = None) -> Dataset:
    """Load one split of an ``embed`` feature cache as a :class:`Dataset` (features memory-mapped).

    Parameters
    ----------
    root : path
        The folder ``embed`` wrote.
    split : {"train", "val", "test"}
    classes : tuple of str, optional
        Must equal the stored taxonomy when given.

    Raises
    ------
    InputError
        For a missing or unfinished split, or a manifest that disagrees with features.npy.
    """
    import pandas as pd

    from ..data.dataset import Dataset

    root = Path(root)
    split_dir = root / split
    manifest = _read_json(split_dir / MANIFEST_FILE)
    if manifest is None:
        record = _read_json(split_dir / PROGRESS_FILE)
        if record is not None:
            raise InputError(
                f"feature cache {split_dir} is unfinished ({record.get('rows_done')} of {record.get('n')} "
                f"rows); rerun embed with the same --out to resume"
            )
        present = sorted(p.name for p in root.iterdir() if (p / MANIFEST_FILE).is_file())
        raise InputError(f"feature cache {root} has no {split!r} split (found: {', '.join(present) or 'nothing'})")
    if manifest.get("status") != STATUS_COMPLETE:
        raise InputError(f"feature cache {split_dir} is not complete (status {manifest.get('status')!r})")
    from ..data.arrays import load_npy

    n, dim = manifest.get("n"), manifest.get("dim")
    name = manifest.get("features", FEATURES_FILE)
    features_path = split_dir / str(name)
    if not isinstance(name, str) or not is_inside(features_path, split_dir):
        raise InputError(f"{shown_path(split_dir / MANIFEST_FILE)} names a features file outside its folder")
    features = load_npy(features_path, what="features file", mmap_mode="r")
    if features.dtype != np.float32 or features.shape != (n, dim):
        raise InputError(
            f"{shown_path(features_path)} holds {features.dtype} {tuple(features.shape)} but the manifest "
            f"says float32 {(n, dim)}"
        )
    # Manifests from before the digest existed have none; every one written now has it.
    if "features_blake2b" in manifest:
        from .cache import array_digest

        if manifest["features_blake2b"] != array_digest(features):
            raise InputError(f"{split_dir / FEATURES_FILE} does not match the digest in its manifest "
                             f"(damaged on disk); rerun embed with --overwrite")
    stored = tuple(manifest.get("classes") or ())
    if classes is not None and tuple(classes) != stored:
        raise InputError(f"feature cache {split_dir} has classes {', '.join(stored)}, not {', '.join(classes)}")
    ids, labels = manifest.get("ids") or [], manifest.get("labels") or []
    attributes = manifest.get("attributes") or {}
    if not (isinstance(ids, list) and isinstance(labels, list) and isinstance(attributes, dict)
            and all(isinstance(v, list) for v in attributes.values())):
        raise InputError(f"{shown_path(split_dir / MANIFEST_FILE)}: ids and labels must be lists, attributes a "
                         "mapping of lists")
    if len(ids) != n or len(labels) != n or any(len(v) != n for v in attributes.values()):
        raise InputError(f"{split_dir / MANIFEST_FILE} lists a different number of items than its n = {n}")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise InputError(f"{split_dir / MANIFEST_FILE} has labels that are not integers") from None
    if len(labels) and (labels.min() < -1 or labels.max() >= len(stored)):
        raise InputError(f"{shown_path(split_dir / MANIFEST_FILE)} has labels outside its {len(stored)} classes")
    if not all(isinstance(c, str) for c in stored) or not all(isinstance(a, str) for a in attributes):
        raise InputError(f"{shown_path(split_dir / MANIFEST_FILE)} has class or attribute names that are not text")
    from ..data.user_fields import clean_dataset

    # The store is data other pipelines may write: the same control-character rule as every dataset.
    return clean_dataset(Dataset(
        name=f"features:{root}",
        split=split,
        classes=stored,
        labels=labels,
        ids=np.asarray(ids, dtype=str),
        attributes=pd.DataFrame(attributes, index=pd.RangeIndex(n)),
        features=features,
        meta={"root": str(root), "encoder": manifest.get("encoder"), "source": manifest.get("dataset")},
    ))
