"""Reads TinyEmo's precomputed feature caches: ``<root>/<split>/<label>/<id>.pt``, one 1-D tensor each."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..input_files import MiB, is_inside, not_regular_reason, read_bytes, shown_path
from ..user_text import has_control, visible
from .dataset import Dataset
from .layouts import MSG_OUTSIDE
from .user_fields import MSG_FIELD, clean_labels

# TinyEmo's caches name the validation split either way.
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}
FEATURE_SUFFIXES = (".pt", ".pth")
# One pooled feature vector is a few KiB; a file far larger is not one.
MAX_FEATURE_FILE_BYTES = 64 * MiB


def _split_dir(root: Path, split: str) -> Path:
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    present = sorted(visible(p.name, one_line=True) for p in root.iterdir() if p.is_dir())
    raise InputError(
        f"feature folder {shown_path(root)} has no {split!r} split (looked for {', '.join(SPLIT_FOLDERS[split])}; "
        f"found: {', '.join(present[:20]) or 'nothing'})"
    )


def _label_dirs(split_dir: Path) -> list[Path]:
    return sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def feature_folder_classes(root: Path) -> tuple[str, ...]:
    """The taxonomy of a feature folder: every label folder name in any split, sorted.

    A name holding a control character names no class (its items are skipped, see
    :mod:`tinyemo_audit.data.user_fields`).
    """
    names = {
        label.name
        for folders in SPLIT_FOLDERS.values()
        for split in folders
        if (root / split).is_dir()
        for label in _label_dirs(root / split)
    }
    return clean_labels(sorted(names))


def _load_vector(path: Path) -> np.ndarray:
    import torch

    # The bytes come from a checked regular file: torch.load never opens the path itself.
    data = read_bytes(path, what="feature file", max_bytes=MAX_FEATURE_FILE_BYTES)
    try:
        value = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # weights_only refuses pickled code; corrupt files raise too
        raise InputError(f"cannot read feature file {shown_path(path)}: {type(err).__name__}") from None
    if not isinstance(value, torch.Tensor):
        raise InputError(f"feature file {shown_path(path)} holds a {type(value).__name__}, not a tensor")
    value = value.detach().to(torch.float32).squeeze()
    if value.ndim != 1:
        raise InputError(f"feature file {shown_path(path)} holds a tensor of shape {tuple(value.shape)}, expected 1-D")
    return value.numpy()


def _entry_problem(path: Path, root: Path) -> str | None:
    """Why one feature entry is skipped without being opened; None when it is read."""
    if not is_inside(path, root):
        return MSG_OUTSIDE.format(root=shown_path(root))
    reason = not_regular_reason(path)
    if reason is not None:
        return reason.removeprefix("is ")  # "a FIFO (named pipe), not a regular file"
    if has_control(path.stem):
        return MSG_FIELD.format(field="file name or id")
    return None


def read_feature_folder(root: str | Path, split: str, *, classes: tuple[str, ...] | None = None) -> Dataset:
    """Load one split of a TinyEmo-layout feature folder (or an ``embed`` cache) as a :class:`Dataset`.

    Every ``*.pt`` / ``*.pth`` entry of a label folder is an item. One that is not a regular file
    (a FIFO, socket or folder), resolves outside ``root`` (a symlink), or whose file or label
    folder name holds a control character is skipped without being opened, and listed in
    ``meta["skipped"]``; a regular file that is not a plain 1-D tensor fails the whole load.

    Parameters
    ----------
    root : path
        Folder holding ``train/``, ``val/`` (or ``validation/``) and ``test/``.
    split : {"train", "val", "test"}
    classes : tuple of str, optional
        The taxonomy; by default every label folder found in any split (sorted), so that
        all splits share one label index.

    Raises
    ------
    InputError
        No such split, no usable feature file, a file that is not a plain tensor, files of
        different dimensions, or NaN/infinite values.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"feature folder not found: {shown_path(root)}")
    from .feature_store import is_feature_store, read_feature_store

    # A cache written by `tinyemo-audit embed` (features.npy + manifest.json per split).
    if is_feature_store(root):
        return read_feature_store(root, split, classes=classes)
    split_dir = _split_dir(root, split)
    classes = classes or feature_folder_classes(root)
    files: list[Path] = []
    labels: list[int] = []
    skipped: list[dict] = []
    for label_dir in _label_dirs(split_dir):
        found = sorted(p for p in label_dir.iterdir() if p.suffix in FEATURE_SUFFIXES and not p.name.startswith("."))
        if has_control(label_dir.name):
            skipped.extend({"id": f"{visible(label_dir.name)}/{visible(p.stem)}", "path": str(p),
                            "reason": MSG_FIELD.format(field="label")} for p in found)
            continue
        if label_dir.name not in classes:
            raise InputError(f"label folder {label_dir.name!r} is not in the taxonomy ({', '.join(classes)})")
        for path in found:
            reason = _entry_problem(path, root)
            if reason is not None:
                skipped.append({"id": f"{label_dir.name}/{visible(path.stem)}", "path": str(path), "reason": reason})
                continue
            files.append(path)
            labels.append(classes.index(label_dir.name))
    if not files:
        first = f": {len(skipped)} skipped; first: {skipped[0]['reason']}" if skipped else ""
        raise InputError(f"no feature files (*.pt) under {shown_path(split_dir)}{first}")
    vectors = [_load_vector(p) for p in files]
    dims = {v.shape[0] for v in vectors}
    if len(dims) > 1:
        first = vectors[0].shape[0]
        odd = next(p for p, v in zip(files, vectors) if v.shape[0] != first)
        raise InputError(f"feature files disagree on dimension: {shown_path(files[0])} has {first}, "
                         f"{shown_path(odd)} has another")
    features = np.stack(vectors).astype(np.float32)
    if not np.isfinite(features).all():
        raise InputError(f"feature folder {shown_path(split_dir)} contains NaN or infinite values")
    ids = np.asarray([f"{p.parent.name}/{p.stem}" for p in files])
    problems = [f"{len(skipped)} feature file(s) skipped"] if skipped else []
    return Dataset(
        name=f"features:{root}",
        split=split,
        classes=tuple(classes),
        labels=np.asarray(labels, dtype=np.int64),
        ids=ids,
        attributes=pd.DataFrame(index=pd.RangeIndex(len(files))),
        features=features,
        meta={"root": str(root), "skipped": tuple(skipped), "problems": tuple(problems)},
    )
