"""The one place a command's encoding engine is chosen (``--engine local|ray``) and the one function that encodes rows on it.

``embed``, ``run`` and ``eval`` install their engine with :func:`use_engine` (checked before any
work, like ``--device``); :func:`encode_rows` is what a row range goes through on either engine —
this process's loop and the Ray Data actors call the same function, so the two cannot drift.
:func:`engine_dataset` is how ``run``/``eval`` load the split they classify: on ``ray``, a split of
image files is read, decoded and encoded by the Ray actors into a resumable feature store in the
cache (the ``embed --engine ray`` path), so the driver never decodes the split; it comes back as a
dataset of those features. :func:`engine_features` is the forward of pixels already in memory
(the faces corpus, counterfactual twins; through :func:`tinyemo_audit.encoders.cache.encode_dataset`):
on ``ray`` the pixels go to the object store and through the same actors. A local Ray started for
the command is started once and stopped when the command ends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, UsageError

if TYPE_CHECKING:
    from .base import Encoder

MSG_NOTHING_TO_ENCODE = ("--engine ray runs the image encoder, and {what} has no images to encode "
                         "(use --engine local)")
MSG_STORE_ROWS = ("{store}: its rows are not the listed files that decoded (the cache was changed while in use); "
                  "delete it and rerun")
# The reason recorded for a file Ray's actors could not decode, past the first ones the store's manifest names.
REASON_NOT_KEPT = "did not decode on a Ray worker"
MSG_NO_RECIPE = ("--engine ray rebuilds the encoder on each actor from its spec; {encoder} was not built "
                 "from a spec (use --engine local)")


@dataclass
class Engine:
    """A command's engine: ``name`` (local or ray), and for ray the cluster ``address`` and ``actors``."""

    name: str = "local"
    address: str | None = None
    actors: int | None = None
    started_ray: bool = False

    def ray(self):
        """The ``ray`` module, initialised for this command (a local Ray, or the cluster at ``address``) once."""
        from .ray_engine import start_ray

        import ray

        if not ray.is_initialized():
            start_ray(self.address)
            self.started_ray = True
        return ray


_current = Engine()


def current_engine() -> Engine:
    """The engine encoders run on now (local unless a command installed another)."""
    return _current


def check_engine_inputs(engine: str, *, datasets=(), predictions=None) -> None:
    """Refuse ``--engine ray`` where nothing is encoded: a features dataset or a predictions file (exit 2, before work)."""
    if engine != "ray":
        return
    if predictions is not None:
        raise UsageError(MSG_NOTHING_TO_ENCODE.format(what="--predictions"))
    for spec in datasets:
        if isinstance(spec, str) and spec.partition(":")[0] == "features":
            raise UsageError(MSG_NOTHING_TO_ENCODE.format(what=f"--dataset {spec.split(':', 1)[0]}:<store>"))


@contextlib.contextmanager
def use_engine(engine: str = "local", address: str | None = None, actors: int | None = None):
    """Check the engine options, run the block with them as :func:`current_engine`, stop a Ray it started.

    Raises
    ------
    UsageError
        An unknown engine, Ray not installed, ``--actors`` below 1, an address nothing answers
        (:func:`tinyemo_audit.encoders.ray_engine.check_engine`).
    """
    global _current
    from .ray_engine import check_engine

    check_engine(engine, address, actors)
    previous, _current = _current, Engine(engine, address, actors)
    try:
        yield _current
    finally:
        started, _current = _current.started_ray, previous
        if started:
            import ray

            ray.shutdown()


def encode_rows(encoder: Encoder, source, start: int, stop: int, *, workers: int | None = None,
                ) -> tuple[np.ndarray, list[str | None] | None]:
    """Features of rows ``start:stop`` of ``source``: decoded pixels, or an ImageListing whose files are read here.

    Parameters
    ----------
    encoder : Encoder
    source : ndarray of uint8 (N, H, W, 3) or ImageListing
        Pixels already in memory, or listed files decoded now with the loaders' per-file rules.
    start, stop : int
        The row range (its rows form one forward batch).
    workers : int, optional
        Decoding threads for a listing.

    Returns
    -------
    features : ndarray of float32, shape (stop - start, dim)
        Zeros in rows whose file was skipped.
    reasons : list of (str or None), or None
        For a listing, why each row was skipped (None where it decoded); None for pixels.
    """
    from ..data.image_listing import ImageListing

    if not isinstance(source, ImageListing):
        return encoder.encode_images(source[start:stop], batch_size=stop - start, progress=False), None
    images, ok, reasons = source.decode(start, stop, workers=workers)
    features = np.zeros((stop - start, encoder.dim), dtype=np.float32)
    if ok.any():
        features[ok] = encoder.encode_images(images, batch_size=len(images), progress=False)
    return features, reasons


def batch_ranges(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of ``batch_size`` rows covering ``n`` rows."""
    return [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]


def encoder_recipe(encoder: Encoder) -> dict:
    """How an actor rebuilds ``encoder``: its spec, weights and trust_remote_code (set by resolve_encoder)."""
    recipe = getattr(encoder, "recipe", None)
    if recipe is None:
        raise UsageError(MSG_NO_RECIPE.format(encoder=getattr(encoder, "spec", type(encoder).__name__)))
    return recipe


def engine_features(encoder: Encoder, images: np.ndarray, *, batch_size: int = 256, progress: bool = True,
                    ) -> np.ndarray:
    """``encoder`` over ``images`` on the current engine: this process, or the Ray Data path of ``embed``.

    Returns
    -------
    ndarray of float32, shape (N, dim)
        Equal on both engines (the same batches through the same :func:`encode_rows`).
    """
    engine = current_engine()
    if engine.name != "ray":
        return encoder.encode_images(images, batch_size=batch_size, progress=progress)
    from ..devices import current_device
    from .ray_engine import ray_batches

    out = np.empty((len(images), encoder.dim), dtype=np.float32)
    runner = ray_batches(encoder_recipe(encoder), np.asarray(images), engine=engine, device=current_device())
    for start, rows, _ in runner(batch_ranges(len(images), batch_size)):
        out[start:start + len(rows)] = rows
    return out


def engine_dataset(encoder: Callable[[], Encoder], spec: str, split: str = "test", *, progress: bool = True):
    """``split`` of dataset ``spec`` as ``run``/``eval`` classify it with ``encoder()`` on the current engine.

    ``encoder`` is called only when the split is encoded here (a bundle builds its encoder on
    first use; a features dataset never needs it).

    ``local`` (and any dataset whose pixels are made or held in memory, such as ``faces``): the
    dataset as :func:`~tinyemo_audit.data.registry.load_dataset` gives it. ``ray`` with a split of
    image files: the files are listed here, then read, decoded and encoded on the Ray actors into
    a feature store under ``cache_dir()/ray-features/<encoder>/<listing>`` (written by
    :func:`~tinyemo_audit.encoders.feature_store.embed_split`: a killed command resumes from it, a
    rerun on unchanged files reads it), and the split comes back holding those features,
    memory-mapped, with the files that did not decode left out as a local load leaves them out.
    Its rows keep their files (``meta["paths"]``), so the few a report shows are decoded again here.

    Raises
    ------
    InputError
        As the dataset's loader; a batch Ray gives up on; a cached store whose rows are not the listing's.
    """
    from ..data.image_listing import ImageListing
    from ..data.registry import list_dataset, load_dataset

    engine = current_engine()
    if engine.name != "ray":
        return load_dataset(spec, split)
    listing = list_dataset(spec, split)
    if not isinstance(listing, ImageListing):
        return listing  # pixels in memory: encode_dataset sends them to the actors (engine_features)
    return _encoded_listing(encoder(), listing, engine, progress=progress)


def _encoded_listing(encoder: Encoder, listing, engine: Engine, *, progress: bool):
    """``listing`` encoded on Ray into its cached store, read back as the Dataset a local load would give."""
    from ..data.feature_store import MANIFEST_FILE, read_feature_store, read_record
    from ..devices import current_device
    from ..paths import cache_folder
    from .feature_store import embed_split
    from .ray_engine import ray_batches

    store = cache_folder("ray-features") / encoder.fingerprint() / listing.fingerprint()
    runner = ray_batches(encoder_recipe(encoder), listing, engine=engine, device=current_device())
    split_dir = embed_split(encoder, listing, store, runner=runner, engine="ray", progress=progress)
    stored = read_feature_store(store, listing.split, classes=tuple(listing.classes))
    ok = np.isin(listing.ids, stored.ids)
    if not np.array_equal(listing.ids[ok], stored.ids):
        raise InputError(MSG_STORE_ROWS.format(store=split_dir))
    named = {r.get("id"): r.get("reason") for r in (read_record(split_dir / MANIFEST_FILE) or {}).get(
        "skipped_images") or () if isinstance(r, dict)}
    reasons = np.full(len(listing), None, dtype=object)
    reasons[~ok] = [str(named.get(i) or REASON_NOT_KEPT) for i in listing.ids[~ok]]  # the skipped rows only
    return listing.dataset(None, reasons.tolist(), features=stored.features)
