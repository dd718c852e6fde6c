"""Reads TinyEmo's precomputed feature caches: ``<root>/<split>/<label>/<id>.pt``, one 1-D tensor each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .dataset import Dataset

# TinyEmo's caches name the validation split either way.
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}
FEATURE_SUFFIXES = (".pt", ".pth")


def _split_dir(root: Path, split: str) -> Path:
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    present = sorted(p.name for p in root.iterdir() if p.is_dir())
    raise InputError(
        f"feature folder {root} has no {split!r} split (looked for {', '.join(SPLIT_FOLDERS[split])}; "
        f"found: {', '.join(present) or 'nothing'})"
    )


def feature_folder_classes(root: Path) -> tuple[str, ...]:
    """The taxonomy of a feature folder: every label folder name in any split, sorted."""
    names = {
        label.name
        for folders in SPLIT_FOLDERS.values()
        for split in folders
        if (root / split).is_dir()
        for label in (root / split).iterdir()
        if label.is_dir()
    }
    return tuple(sorted(names))


def _load_vector(path: Path) -> np.ndarray:
    import torch

    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only refuses pickled code; corrupt files raise too
        raise InputError(f"cannot read feature file {path}: {type(err).__name__}") from None
    if not isinstance(value, torch.Tensor):
        raise InputError(f"feature file {path} holds a {type(value).__name__}, not a tensor")
    value = value.detach().to(torch.float32).squeeze()
    if value.ndim != 1:
        raise InputError(f"feature file {path} holds a tensor of shape {tuple(value.shape)}, expected 1-D")
    return value.numpy()


def read_feature_folder(root: str | Path, split: str, *, classes: tuple[str, ...] | None = None) -> Dataset:
    """Load one split of a TinyEmo-layout feature folder (or an ``embed`` cache) as a :class:`Dataset`.

    Parameters
    ----------
    root : path
        Folder holding ``train/``, ``val/`` (or ``validation/``) and ``test/``.
    split : {"train", "val", "test"}
    classes : tuple of str, optional
        The taxonomy; by default every label folder found in any split (sorted), so that
        all splits share one label index.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"feature folder not found: {root}")
    from ..encoders.feature_store import is_feature_store, read_feature_store

    # A cache written by `tinyemo-audit embed` (features.npy + manifest.json per split).
    if is_feature_store(root):
        return read_feature_store(root, split, classes=classes)
    split_dir = _split_dir(root, split)
    classes = classes or feature_folder_classes(root)
    files: list[Path] = []
    labels: list[int] = []
    for label_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
        if label_dir.name not in classes:
            raise InputError(f"label folder {label_dir.name!r} is not in the taxonomy ({', '.join(classes)})")
        found = sorted(p for p in label_dir.iterdir() if p.suffix in FEATURE_SUFFIXES)
        files.extend(found)
        labels.extend([classes.index(label_dir.name)] * len(found))
    if not files:
        raise InputError(f"no feature files (*.pt) under {split_dir}")
    vectors = [_load_vector(p) for p in files]
    dims = {v.shape[0] for v in vectors}
    if len(dims) > 1:
        first = vectors[0].shape[0]
        odd = next(p for p, v in zip(files, vectors) if v.shape[0] != first)
        raise InputError(f"feature files disagree on dimension: {files[0]} has {first}, {odd} has another")
    features = np.stack(vectors).astype(np.float32)
    if not np.isfinite(features).all():
        raise InputError(f"feature folder {split_dir} contains NaN or infinite values")
    ids = np.asarray([f"{p.parent.name}/{p.stem}" for p in files])
    return Dataset(
        name=f"features:{root}",
        split=split,
        classes=tuple(classes),
        labels=np.asarray(labels, dtype=np.int64),
        ids=ids,
        attributes=pd.DataFrame(index=pd.RangeIndex(len(files))),
        features=features,
        meta={"root": str(root)},
    )
