"""Dataset specs (``faces``, ``features:<root>``, ``<layout>:<root>`` such as ``webemo:/data/webemo``) resolved to loaders."""

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


def _layout_loader(layout_name: str) -> Callable[..., Dataset]:
    def load(root: str, split: str, *, size: int | None = None, fit: str = "crop", max_pixels: int | None = None,
             workers: int | None = None, taxonomy: str | None = None, cache: bool = True, listing: bool = False,
             **overrides) -> Dataset:
        from .images import DEFAULT_MAX_PIXELS
        from .layout_loader import load_layout
        from .layout_spec import get_layout

        layout = get_layout(layout_name).with_overrides(**overrides)
        return load_layout(
            layout, root, split, name=f"{layout_name}:{root}", size=size, fit=fit,
            max_pixels=max_pixels or DEFAULT_MAX_PIXELS, workers=workers, taxonomy=taxonomy, cache=cache,
            listing=listing,
        )

    load.__doc__ = f"Load a split of the {layout_name!r} layout (resources/datasets.yaml) at ``root``."
    return load


def _register_layouts() -> None:
    from .layout_spec import list_layouts

    for layout_name in list_layouts():
        DATASETS.add_scheme(layout_name, _layout_loader(layout_name))


DATASETS.add("faces", _faces)
DATASETS.add_scheme("features", _features)
_register_layouts()


def load_dataset(spec: str, split: str = "test", **options) -> Dataset:
    """Load ``split`` of the dataset named by ``spec``.

    Examples: ``load_dataset("faces", "test")``, ``load_dataset("features:/data/x", "val")``,
    ``load_dataset("webemo:/data/webemo", "test", size=224)``, ``load_dataset("csv:/data/m.csv")``.
    Layout specs (see ``resources/datasets.yaml``) take ``size``, ``fit``, ``max_pixels``,
    ``workers``, ``taxonomy``, ``cache`` and any layout field as an override (``splits={...}``).
    Unknown specs raise :class:`~tinyemo_audit.errors.UnknownNameError` listing the choices.
    """
    return DATASETS.resolve(spec, split=normalize_split(split), **options)


def list_dataset(spec: str, split: str = "test", **options):
    """``split`` of ``spec`` with its image files listed but not decoded, where its items are files.

    Returns an :class:`~tinyemo_audit.data.image_listing.ImageListing` for a layout of image files
    (``imagefolder:``, ``csv:``, named layouts): every cheap check done, the pixels left for whoever
    decodes its rows (``embed`` on any engine). Datasets whose pixels are made or held in memory
    (``faces``, a pixels table) or that hold features come back loaded, as :func:`load_dataset` gives them.
    """
    from .layout_spec import list_layouts

    if spec.partition(":")[0] in list_layouts() and ":" in spec:
        return DATASETS.resolve(spec, split=normalize_split(split), listing=True, **options)
    return load_dataset(spec, split, **options)


def check_dataset_spec(spec: str, split: str | None = None) -> None:
    """Fail fast (before any loading) on an unknown dataset name or split."""
    DATASETS.validate(spec)
    if split is not None:
        normalize_split(split)


def register_dataset(name: str, loader: Callable[..., Dataset]) -> None:
    """Add a named dataset loader ``loader(split=...) -> Dataset``."""
    DATASETS.add(name, loader)
