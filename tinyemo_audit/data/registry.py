"""Dataset specs (``faces``, ``features:<root>``) resolved to loaders."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UsageError
from ..registry import Registry
from .dataset import Dataset

SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {"validation": "val", "valid": "val"}

DATASETS: Registry[Dataset] = Registry("dataset")


def normalize_split(split: str) -> str:
    """``validation`` → ``val``; anything not a split → UsageError."""
    split = SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; valid choices: {', '.join(SPLITS)}")
    return split


def _faces(split: str, *, faces_config=None) -> Dataset:
    from .faces import FacesConfig, load_faces

    return load_faces(split, faces_config or FacesConfig())


def _features(root: str, split: str, **_: object) -> Dataset:
    from .feature_folder import read_feature_folder

    if not root:
        raise UsageError("features: needs a folder, e.g. features:/data/emoset-clip-l14")
    return read_feature_folder(root, split)


DATASETS.add("faces", _faces)
DATASETS.add_scheme("features", _features)


def load_dataset(spec: str, split: str = "test", **options) -> Dataset:
    """Load ``split`` of the dataset named by ``spec``.

    Examples: ``load_dataset("faces", "test")``, ``load_dataset("features:/data/x", "val")``.
    Unknown specs raise :class:`~tinyemo_audit.errors.UnknownNameError` listing the choices.
    """
    return DATASETS.resolve(spec, split=normalize_split(split), **options)


def check_dataset_spec(spec: str, split: str | None = None) -> None:
    """Fail fast (before any loading) on an unknown dataset name or split."""
    DATASETS.validate(spec)
    if split is not None:
        normalize_split(split)


def register_dataset(name: str, loader: Callable[..., Dataset]) -> None:
    """Add a named dataset loader ``loader(split=...) -> Dataset``."""
    DATASETS.add(name, loader)
