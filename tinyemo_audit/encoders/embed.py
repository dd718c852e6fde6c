"""``embed``: a dataset spec's splits through an encoder spec into a resumable feature cache."""

from __future__ import annotations

import os
import json
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError

DEFAULT_SPLITS = ("train", "val", "test")
NOT_A_FEATURE_CACHE = "is not a feature cache embed wrote: it holds {entry}; give a new or empty folder"
FOREIGN_RECORD = "is not a feature cache embed wrote: {entry} is not its record"
CHANGED_FEATURES = "holds {entry}, whose features differ from its manifest's digest (changed after embed wrote it)"


def _record_ok(path: Path) -> bool:
    from ..input_files import MiB
    from ..data.feature_store import FORMAT

    try:
        if path.lstat().st_size > 256 * MiB or not path.is_file() or path.is_symlink():
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def feature_cache_problem(out: Path) -> str | None:
    """None when ``embed`` may fill ``out``: missing, empty, or a feature cache it wrote; else why not.

    Recognised by content: every entry is a split folder holding only the files embed writes
    (features.npy, progress.json, manifest.json, .lock and temps of its records), a split with
    features has embed's progress or manifest record, and a finished split's features match the
    digest its manifest holds.
    """
    import numpy as np

    from ..input_files import shown_path
    from ..data.arrays import array_digest
    from ..data.feature_store import FEATURES_FILE, LOCK_FILE, MANIFEST_FILE, METADATA_FILE, PROGRESS_FILE, file_digest

    if not out.is_dir() or out.is_symlink():
        return None  # missing (fine) or not a folder (the up-front place check says so)
    ours = {FEATURES_FILE, PROGRESS_FILE, MANIFEST_FILE, METADATA_FILE, LOCK_FILE}
    temp = re.compile(rf"\.({'|'.join(re.escape(n) for n in (PROGRESS_FILE, MANIFEST_FILE, METADATA_FILE, FEATURES_FILE))})\.[^./]+\.tmp")
    for split in sorted(out.iterdir()):
        if split.name not in DEFAULT_SPLITS or split.is_symlink() or not split.is_dir():
            return NOT_A_FEATURE_CACHE.format(entry=shown_path(split.name))
        names = {p.name for p in split.iterdir()}
        for name in sorted(names):
            entry = split / name
            if (name not in ours and not temp.fullmatch(name)) or entry.is_symlink() or not entry.is_file():
                return NOT_A_FEATURE_CACHE.format(entry=shown_path(f"{split.name}/{name}"))
        for record in (MANIFEST_FILE, PROGRESS_FILE):
            if record in names and not _record_ok(split / record):
                return FOREIGN_RECORD.format(entry=shown_path(f"{split.name}/{record}"))
        if FEATURES_FILE in names and not names & {MANIFEST_FILE, PROGRESS_FILE}:
            return NOT_A_FEATURE_CACHE.format(entry=shown_path(f"{split.name}/{FEATURES_FILE}") + " without embed's records")
        if MANIFEST_FILE in names and FEATURES_FILE in names and PROGRESS_FILE not in names:
            manifest = json.loads((split / MANIFEST_FILE).read_bytes())
            try:
                digest = array_digest(np.load(split / FEATURES_FILE, mmap_mode="r", allow_pickle=False))
            except (OSError, ValueError):
                digest = None
            if digest != manifest.get("features_blake2b"):
                return CHANGED_FEATURES.format(entry=shown_path(f"{split.name}/{FEATURES_FILE}"))
            if "metadata_blake2b" in manifest and (METADATA_FILE not in names or manifest["metadata_blake2b"]
                                                   != file_digest(split / METADATA_FILE)):
                return CHANGED_FEATURES.format(entry=shown_path(f"{split.name}/{METADATA_FILE}"))
    return None


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
    engine: str = "local",
    ray_address: str | None = None,
    actors: int | None = None,
    device: str | None = None,
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
    engine : {"local", "ray"}
        Where the encoder runs: this process, or actors on Ray Data (:mod:`.ray_engine`).
    ray_address : str, optional
        With ``engine="ray"``: a running cluster to join (else a local Ray for the command).
    actors : int, optional
        With ``engine="ray"``: encoder actors (default from the cluster's CPUs or GPUs).
    device : str, optional
        ``auto``, ``cpu``, ``cuda[:N]`` or ``mps`` (:mod:`tinyemo_audit.devices`).

    Returns
    -------
    list of Path
        The split folders written (or found complete).
    """
    from ..data.registry import check_dataset_spec, list_dataset, normalize_split
    from ..devices import use_device
    from .engine import encoder_recipe, use_engine
    from .feature_store import embed_split, rows_source
    from .ray_engine import check_engine, ray_batches
    from .registry import ENCODERS, resolve_encoder
    from ..schema.run_request import check_count
    from ..schema.train_config import BATCH_MAX

    if not splits:
        raise UsageError("embed needs at least one split")
    check_count(batch_size, "--batch-size", low=1, high=BATCH_MAX)
    wanted = [normalize_split(s) for s in splits]
    check_dataset_spec(dataset)
    ENCODERS.validate(encoder)
    check_engine(engine, ray_address, actors)
    from ..outputs import OutputPlan, dataset_inputs, model_spec_path

    plan = OutputPlan(cache=True)
    plan.in_place(out, "--out", feature_cache_problem)
    for path, what in dataset_inputs(dataset):
        plan.input(path, what)
    plan.input(weights, "encoder weights")
    plan.input(model_spec_path(encoder), f"encoder {encoder}")
    plan.check()
    with use_device(device) as resolved, use_engine(engine, ray_address, actors) as chosen:
        model = resolve_encoder(encoder, weights=weights, trust_remote_code=trust_remote_code)
        written = []
        for split in dict.fromkeys(wanted):
            # Image files are listed, not decoded: each batch's files are read where it is encoded.
            data = list_dataset(dataset, split, **(dataset_options or {}))
            runner = None
            if engine == "ray":
                runner = ray_batches(encoder_recipe(model), rows_source(data), engine=chosen, device=resolved)
            written.append(embed_split(model, data, out, batch_size=batch_size, overwrite=overwrite,
                                       progress=progress, runner=runner, engine=engine))
    return written
