"""The feature store: the on-disk format of precomputed encoder features, and its validating reader.

One split folder (``<root>/<split>/``) holds::

    features.npy      float32 or float16 [N, D], memory-mappable; row i belongs to metadata row i
    metadata.parquet  one row per item: ``id`` (text), ``label`` (int, index into the manifest's
                      classes, -1 when unknown) and one text column per attribute (null = unknown);
                      ``metadata.csv`` with the same columns is read too (docs/feature-store.md)
    manifest.json     format, version, n, dim, dtype, classes, encoder, the features' and the
                      metadata's digests; written last, so its presence means "complete"
    progress.json     while a writer runs: which row ranges are final (see feature_store_writer)

Version 1 stores (``embed`` before the Parquet metadata) kept ids, labels and attributes as JSON
lists inside manifest.json; they are still read. The writer is
:mod:`tinyemo_audit.data.feature_store_writer`; the format is documented for other pipelines in
docs/feature-store.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..input_files import MiB, is_inside, read_bytes, read_text, shown_path

FORMAT = "tinyemo-audit-features"
VERSION = 2
FEATURES_FILE = "features.npy"
METADATA_FILE = "metadata.parquet"
METADATA_CSV = "metadata.csv"
PROGRESS_FILE = "progress.json"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
STATUS_COMPLETE = "complete"
ID_COLUMN, LABEL_COLUMN = "id", "label"
DTYPES = ("float32", "float16")
# A version-1 manifest lists every item inline: large for a large split, never gigabytes.
MAX_RECORD_BYTES = 1024 * MiB
# The metadata table of ten million items is a few hundred MB as CSV.
MAX_METADATA_BYTES = 8 * 1024 * MiB

MSG_UNFINISHED = ("feature cache {where} is unfinished ({done} of {n} rows); rerun embed with the same --out "
                  "to resume")
MSG_DISAGREE = "{where}: {what} (metadata and features.npy disagree)"
MSG_DIGEST = "{path} does not match the digest in its manifest (damaged on disk); rerun embed with --overwrite"


def read_record(path: Path, *, max_bytes: int = MAX_RECORD_BYTES) -> dict[str, Any] | None:
    """The JSON record at ``path`` (a manifest or progress file), None when there is none.

    Raises
    ------
    InputError
        Anything but a regular JSON file of this format.
    """
    if not os.path.lexists(path):
        return None
    text = read_text(path, what="feature-cache record", max_bytes=max_bytes)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise InputError(f"{shown_path(path)} is unreadable: {' '.join(str(err).split())[:200]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{shown_path(path)} is not a {FORMAT} file")
    return data


def is_feature_store(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds a feature store (any split folder with a manifest or progress record)."""
    root = Path(root)
    if not root.is_dir():
        return False
    return any(
        (sub / name).is_file()
        for sub in root.iterdir() if sub.is_dir()
        for name in (MANIFEST_FILE, PROGRESS_FILE)
    )


def file_digest(path: Path) -> str:
    """blake2b (32 hex) of a file's bytes, read in blocks (the metadata table's digest)."""
    from ..input_files import open_regular

    digest = _digest()
    with os.fdopen(open_regular(path, what="metadata table"), "rb") as handle:
        for block in iter(lambda: handle.read(16 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(data: bytes = b""):
    """The metadata digest (blake2b, 16 bytes): of ``data`` read whole, or fed blocks by :func:`file_digest`."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16)


def _manifest(root: Path, split: str) -> tuple[Path, dict[str, Any]]:
    split_dir = root / split
    manifest = read_record(split_dir / MANIFEST_FILE)
    if manifest is None:
        record = read_record(split_dir / PROGRESS_FILE)
        if record is not None:
            from .feature_store_writer import rows_done

            raise InputError(MSG_UNFINISHED.format(where=split_dir, done=rows_done(record), n=record.get("n")))
        present = sorted(p.name for p in root.iterdir() if (p / MANIFEST_FILE).is_file())
        raise InputError(f"feature cache {root} has no {split!r} split (found: {', '.join(present) or 'nothing'})")
    if manifest.get("status") != STATUS_COMPLETE:
        raise InputError(f"feature cache {split_dir} is not complete (status {manifest.get('status')!r})")
    return split_dir, manifest


def _named_file(split_dir: Path, manifest: dict[str, Any], key: str, default: str) -> Path:
    name = manifest.get(key, default)
    path = split_dir / str(name)
    if not isinstance(name, str) or not is_inside(path, split_dir):
        raise InputError(f"{shown_path(split_dir / MANIFEST_FILE)} names a {key} file outside its folder")
    return path


def _features(split_dir: Path, manifest: dict[str, Any]) -> np.ndarray:
    from .arrays import array_digest, load_npy

    n, dim, dtype = manifest.get("n"), manifest.get("dim"), manifest.get("dtype", "float32")
    if dtype not in DTYPES:
        raise InputError(f"{shown_path(split_dir / MANIFEST_FILE)}: dtype must be one of {', '.join(DTYPES)}")
    path = _named_file(split_dir, manifest, "features", FEATURES_FILE)
    features = load_npy(path, what="features file", mmap_mode="r")
    if features.dtype != np.dtype(dtype) or features.shape != (n, dim):
        raise InputError(
            f"{shown_path(path)} holds {features.dtype} {tuple(features.shape)} but the manifest says {dtype} {(n, dim)}"
        )
    # Manifests from before the digest existed have none; every one written now has it.
    if "features_blake2b" in manifest and manifest["features_blake2b"] != array_digest(features):
        raise InputError(MSG_DIGEST.format(path=shown_path(path)))
    return features


def _inline_metadata(split_dir: Path, manifest: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Version 1: ids, labels and attributes as JSON lists in manifest.json."""
    where = shown_path(split_dir / MANIFEST_FILE)
    ids, labels = manifest.get("ids") or [], manifest.get("labels") or []
    attributes = manifest.get("attributes") or {}
    if not (isinstance(ids, list) and isinstance(labels, list) and isinstance(attributes, dict)
            and all(isinstance(v, list) for v in attributes.values())):
        raise InputError(f"{where}: ids and labels must be lists, attributes a mapping of lists")
    if len(ids) != n or len(labels) != n or any(len(v) != n for v in attributes.values()):
        raise InputError(MSG_DISAGREE.format(where=where, what=f"it lists a different number of items than its n = {n}"))
    if not all(isinstance(a, str) for a in attributes):
        raise InputError(f"{where} has attribute names that are not text")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise InputError(f"{where} has labels that are not integers") from None
    return np.asarray(ids, dtype=str), labels, pd.DataFrame(attributes, index=pd.RangeIndex(n))


def _read_table(path: Path, manifest: dict[str, Any]):
    """The metadata table as a pyarrow Table (Parquet or CSV), from bytes read once and checked against the manifest's digest."""
    import io

    import pyarrow as pa

    data = read_bytes(path, what="metadata table", max_bytes=MAX_METADATA_BYTES)
    # Manifests from before the digest existed have none; every one written now has it.
    if "metadata_blake2b" in manifest and manifest["metadata_blake2b"] != _digest(data).hexdigest():
        raise InputError(MSG_DIGEST.format(path=shown_path(path)))
    try:
        if path.suffix == ".csv":
            import pyarrow.csv as pacsv

            # Every column as text first: ids like "007" stay as written; label is converted below.
            # The header comes from the first block alone: the table is parsed once, below.
            names = pacsv.open_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(block_size=1 << 20)).schema.names
            return pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names if name != LABEL_COLUMN},
                strings_can_be_null=True))  # an empty field is a missing value, as in pandas
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, ValueError, OSError) as err:
        raise InputError(f"metadata table {shown_path(path)} is unreadable: "
                         f"{' '.join(str(err).split())[:160]}") from None


def _text_column(column, where: str, name: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            or pa.types.is_dictionary(column.type) or pa.types.is_integer(column.type)):
        raise InputError(f"{where}: column {name!r} holds {column.type}, not text")
    return pc.cast(column, pa.string()) if not pa.types.is_dictionary(column.type) else column


def ids_array(column) -> np.ndarray:
    """A fixed-width unicode array of a pyarrow text column, converted a block at a time (no Python objects for all rows)."""
    import pyarrow.compute as pc

    n = len(column)
    width = max(1, int(pc.max(pc.utf8_length(column)).as_py() or 1)) if n else 1
    out = np.empty(n, dtype=f"<U{width}")
    block = 1 << 18
    for start in range(0, n, block):
        out[start:start + block] = column.slice(start, block).to_numpy(zero_copy_only=False)
    return out


def _table_metadata(split_dir: Path, manifest: dict[str, Any], n: int):
    """Version 2: the metadata table beside features.npy (ids, labels, attributes as categoricals)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .layout_loader import UNKNOWN_VALUE

    path = _named_file(split_dir, manifest, "metadata", METADATA_FILE)
    where = shown_path(path)
    if not os.path.lexists(path):
        raise InputError(f"feature cache {shown_path(split_dir)} has no metadata table {path.name}")
    table = _read_table(path, manifest)
    missing = [c for c in (ID_COLUMN, LABEL_COLUMN) if c not in table.column_names]
    if missing:
        raise InputError(f"{where} has no {' or '.join(repr(c) for c in missing)} column")
    if len(set(table.column_names)) != len(table.column_names):
        raise InputError(f"{where} names a column twice")
    if table.num_rows != n:
        raise InputError(MSG_DISAGREE.format(where=where, what=f"{table.num_rows} rows, but features.npy has {n}"))
    label = table.column(LABEL_COLUMN)
    if not pa.types.is_integer(label.type) or label.null_count:
        raise InputError(f"{where} has labels that are not integers (column 'label', -1 for unknown)")
    labels = label.to_numpy().astype(np.int64)
    id_column = _text_column(table.column(ID_COLUMN), where, ID_COLUMN)
    if id_column.null_count:
        raise InputError(f"{where} has an empty id")
    attributes = {}
    for name in table.column_names:
        if name in (ID_COLUMN, LABEL_COLUMN):
            continue
        column = _text_column(table.column(name), where, name)
        column = pc.fill_null(pc.cast(column, pa.string()), UNKNOWN_VALUE).dictionary_encode()
        # Categorical: one byte per item and attribute, not one Python string.
        attributes[name] = column.to_pandas()
    ids = ids_array(pc.cast(id_column, pa.string()))
    return ids, labels, pd.DataFrame(attributes, index=pd.RangeIndex(n))


def read_feature_store(root: str | os.PathLike, split: str, *, classes: tuple[str, ...] | None = None):
    """Load one split of a feature store as a :class:`~tinyemo_audit.data.dataset.Dataset` (features memory-mapped).

    Parameters
    ----------
    root : path
        The store's folder (what ``embed`` wrote, or another pipeline; docs/feature-store.md).
    split : {"train", "val", "test"}
    classes : tuple of str, optional
        Must equal the stored taxonomy when given.

    Returns
    -------
    Dataset
        Features as a read-only memory map (float32 or float16), attributes as categoricals.

    Raises
    ------
    InputError
        A missing or unfinished split, a damaged file, or metadata that disagrees with features.npy.
    """
    from .dataset import Dataset
    from .user_fields import clean_dataset

    root = Path(root)
    split_dir, manifest = _manifest(root, split)
    features = _features(split_dir, manifest)
    n = int(features.shape[0])
    stored = manifest.get("classes") or ()
    where = shown_path(split_dir / MANIFEST_FILE)
    if not isinstance(stored, list) or not all(isinstance(c, str) for c in stored):
        raise InputError(f"{where} has class names that are not text")
    stored = tuple(stored)
    if classes is not None and tuple(classes) != stored:
        raise InputError(f"feature cache {split_dir} has classes {', '.join(stored)}, not {', '.join(classes)}")
    if int(manifest.get("version", 1)) >= 2:
        ids, labels, attributes = _table_metadata(split_dir, manifest, n)
    else:
        ids, labels, attributes = _inline_metadata(split_dir, manifest, n)
    if len(labels) and (labels.min() < -1 or labels.max() >= len(stored)):
        raise InputError(f"{where} has labels outside its {len(stored)} classes")
    # The store is data other pipelines may write: the same control-character rule as every dataset.
    return clean_dataset(Dataset(
        name=f"features:{root}", split=split, classes=stored, labels=labels, ids=ids, attributes=attributes,
        features=features,
        meta={"root": str(root), "encoder": manifest.get("encoder"), "source": manifest.get("dataset")},
    ))
