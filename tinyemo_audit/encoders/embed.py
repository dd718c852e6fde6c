"""``embed``: a dataset spec's splits through an encoder spec into a resumable feature cache."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError

DEFAULT_SPLITS = ("train", "val", "test")


def embed(
    encoder: str,
    dataset: str,
    out: str | os.PathLike,
    *,
    splits: Sequence[str] = DEFAULT_SPLITS,
    batch_size: int = 256,
    weights: str | os.PathLike | None = None,
    trust_remote_code: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    dataset_options: dict | None = None,
) -> list[Path]:
    """Encode the images of ``dataset`` with ``encoder`` into ``out/<split>/`` (see feature_store).

    Interrupted runs resume where they stopped when called again with the same arguments;
    finished splits are skipped. ``features:<out>`` reads the result back.

    Parameters
    ----------
    encoder : str
        Encoder spec (``open_clip:<arch>/<tag-or-path>``, ``hf:<id-or-folder>``, ``faces-mini``).
    dataset : str
        Dataset spec whose splits hold images (e.g. ``faces``).
    out : path
        The feature-cache folder.
    splits : sequence of str
        Splits to encode, in order.
    batch_size : int
        Images per forward pass (and per progress record).
    weights : path, optional
        Encoder weights file or folder, for specs that take one.
    trust_remote_code : bool
        For ``hf:`` encoders only; never on by default.
    overwrite : bool
        Replace a cache of another encoder or dataset.
    progress : bool
        Show a progress bar on stderr.
    dataset_options : dict, optional
        Keyword arguments for the dataset loader (e.g. ``faces_config``).

    Returns
    -------
    list of Path
        The split folders written (or found complete).
    """
    from ..data.registry import check_dataset_spec, load_dataset, normalize_split
    from .feature_store import embed_split
    from .registry import ENCODERS, resolve_encoder
    from ..schema.run_request import check_count
    from ..schema.train_config import BATCH_MAX

    if not splits:
        raise UsageError("embed needs at least one split")
    check_count(batch_size, "--batch-size", low=1, high=BATCH_MAX)
    wanted = [normalize_split(s) for s in splits]
    check_dataset_spec(dataset)
    ENCODERS.validate(encoder)
    model = resolve_encoder(encoder, weights=weights, trust_remote_code=trust_remote_code)
    written = []
    for split in dict.fromkeys(wanted):
        data = load_dataset(dataset, split, **(dataset_options or {}))
        written.append(embed_split(model, data, out, batch_size=batch_size, overwrite=overwrite,
                                   progress=progress))
    return written
