"""``embed --engine ray``: the encoder forward on Ray Data actors, rows written by index into the same resumable store.

What runs where: the driver (the ``embed`` process) lists the split's image files (the dataset
readers' listing and path checks, :class:`tinyemo_audit.data.image_listing.ImageListing`), puts the
listing in Ray's object store, and writes every finished batch into the feature store
(:mod:`tinyemo_audit.data.feature_store_writer`) at its row index. Ray Data maps the pending
batches (row ranges) over a pool of actors it manages; each actor builds the encoder once, reads
and decodes its rows' files (the loaders' per-file rules) and returns their features and, per
row, why a file was skipped. ``run``/``eval`` on a split of image files go the same way, into a
store in the cache (:func:`tinyemo_audit.encoders.engine.engine_dataset`). Pixels made in memory
(the faces corpus, counterfactual twins) go to the object store instead. Ray retries a task whose worker died
(``max_restarts``/``max_task_retries``); a batch Ray gives up on ends the command with exit 2
naming it, and everything written so far stays (a rerun computes only what is missing). A killed
driver leaves the store resumable in the same way. No scheduler, queue or pool of our own: Ray
Data decides which actor runs which batch.

Ray is an optional dependency (``pip install 'tinyemo-audit[ray]'``; ``make setup`` installs it);
it is imported only here, only when asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, UsageError
from ..user_text import shown

ENGINES = ("local", "ray")
MSG_ENGINE = "--engine must be local or ray; got {value}"
MSG_NO_RAY = ("--engine ray needs Ray, which is not installed here: pip install 'tinyemo-audit[ray]' "
              "(make setup installs it)")
MSG_ADDRESS = "--ray-address {address}: {why}"
MSG_ADDRESS_ONLY_RAY = "--ray-address is for --engine ray"
MSG_BATCH = ("Ray could not compute the batch of rows {start}-{stop} ({why}); the rows written so far are kept: "
             "rerun the same command to resume")
MSG_ACTORS = "--actors must be at least 1; got {value}"
MSG_NO_START = ("--engine ray could not start a local Ray ({why}); rerun the same command (what is written is kept), "
                "or join a running cluster with --ray-address")
# Seconds to wait for a TCP answer from a cluster's address before refusing it.
CONNECT_TIMEOUT = 5.0


def check_engine(engine: str, ray_address: str | None, actors: int | None) -> None:
    """Refuse a bad engine, an address without Ray, a missing Ray or an unreachable address (exit 2, before work)."""
    if engine not in ENGINES:
        raise UsageError(MSG_ENGINE.format(value=shown(engine)))
    if engine != "ray":
        if ray_address is not None:
            raise UsageError(MSG_ADDRESS_ONLY_RAY)
        return
    if actors is not None and (isinstance(actors, bool) or actors < 1):
        raise UsageError(MSG_ACTORS.format(value=shown(actors)))
    if importlib.util.find_spec("ray") is None:
        raise UsageError(MSG_NO_RAY)
    if ray_address is not None:
        _check_reachable(ray_address)


def _check_reachable(address: str) -> None:
    """A TCP connection to ``host:port`` (``ray://host:port`` too) answers, else a UsageError."""
    if address == "auto":
        return
    text = address.split("://", 1)[-1]
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(MSG_ADDRESS.format(address=shown(address), why="expected host:port or ray://host:port"))
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as err:
        raise UsageError(MSG_ADDRESS.format(address=shown(address),
                                            why=f"nothing answers there ({type(err).__name__})")) from None


class _EncodeActor:
    """A Ray Data actor: builds the encoder once, then reads, decodes and encodes the row ranges it is given."""

    def __init__(self, recipe: dict, source_ref: Any, threads: int, device: str) -> None:
        import ray
        import torch

        from ..devices import use_device
        from .registry import resolve_encoder

        torch.set_num_threads(max(1, threads))
        self.threads = threads
        self.encoder = resolve_encoder(recipe["spec"], weights=recipe["weights"],
                                       trust_remote_code=recipe["trust_remote_code"])
        self.source = ray.get(source_ref[0])  # decoded pixels, or an ImageListing (paths: files read here)
        self.device = use_device(device)
        self.device.__enter__()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .engine import encode_rows

        rows, features, reasons = [], [], []
        for start, stop in zip(batch["start"].tolist(), batch["stop"].tolist()):
            computed, why = encode_rows(self.encoder, self.source, start, stop, workers=self.threads)
            features.append(computed)
            rows.append(np.arange(start, stop, dtype=np.int64))
            reasons.extend(why or [None] * (stop - start))
        # "" marks a row that decoded: Ray Data columns hold one type
        return {"row": np.concatenate(rows), "features": np.concatenate(features).astype(np.float32),
                "reason": np.asarray([r or "" for r in reasons], dtype=object)}


def _runtime_env() -> dict[str, Any]:
    """Workers import this package from where the driver does, with the driver's cache folder."""
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    for name in ("TINYEMO_AUDIT_CACHE", "HF_HUB_OFFLINE", "NUMBA_CACHE_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return {"env_vars": env}


def start_ray(address: str | None) -> None:
    """``ray.init`` for a command: the cluster at ``address``, else a local Ray on this machine's CPUs.

    Raises
    ------
    InputError
        The cluster refuses the connection (or its authentication), or a local Ray does not start
        (its node timed out starting: an overloaded machine).
    """
    from ..diagnostics import active_log, c_stderr_captured

    log = active_log()
    quiet = log is not None and not log.echo  # the command line without --debug: one line on stderr
    if quiet:
        # Ray's C++ core worker of this process logs notices straight to descriptor 2; read at ray.init.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    import ray

    kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": os.cpu_count() or 1}
    try:
        with c_stderr_captured() if quiet else contextlib.nullcontext():  # its notice of that level, among others
            ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                     runtime_env=_runtime_env(), **kwargs)
    except Exception as err:  # noqa: BLE001 - refused, its token authentication, or a node that did not start
        # (Ray raises a bare Exception when its local node times out starting, e.g. on an overloaded machine)
        why = " ".join(str(err).split())[:160] or type(err).__name__
        if address:
            raise InputError(MSG_ADDRESS.format(address=shown(address), why=f"cannot join: {why}")) from None
        raise InputError(MSG_NO_START.format(why=why)) from None
    if quiet:  # Ray Data's progress and execution-plan lines: the command shows its own progress bar
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = False
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)


def ray_batches(recipe: dict, source, *, engine, device: str = "cpu"):
    """A batch runner (see :mod:`tinyemo_audit.encoders.feature_store`) that computes batches on Ray Data.

    Parameters
    ----------
    recipe : dict
        ``spec``, ``weights`` and ``trust_remote_code``: each actor builds the encoder from them
        (:func:`tinyemo_audit.encoders.engine.encoder_recipe`).
    source : ndarray or ImageListing
        Decoded pixels (they go to the object store once), or a listing of image files, which the
        actors read and decode themselves (only the listing goes to the object store).
    engine : Engine
        The command's engine (:func:`tinyemo_audit.encoders.engine.current_engine`): its cluster
        address (Ray is started once per command) and ``actors`` (default: one per GPU when the
        cluster has GPUs, else one per CPU).
    device : str
        The command's resolved device; actors use a GPU when the cluster has one and it is not ``cpu``.

    Returns
    -------
    callable
        ``run(batches)`` yielding ``(start, features, reasons)`` per run of consecutive finished rows;
        ``reasons`` is None for pixels, else why each row's file was skipped (None where it decoded).
    """
    def run(batches: list[tuple[int, int]]):
        if not batches:
            return
        ray = engine.ray()
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if device != "cpu" else 0
        cpus = max(1, int(resources.get("CPU", 1)))
        n_actors = engine.actors or (gpus or cpus)
        per_actor = max(1, cpus // n_actors)
        if isinstance(source, np.ndarray):
            source_ref = [ray.put(np.ascontiguousarray(source))]  # a list: Ray passes the reference itself
        else:
            source_ref = [ray.put(source)]
        items = ray.data.from_items([{"start": a, "stop": b} for a, b in batches])
        with warnings.catch_warnings():
            # Bounded retries: Ray Data's default is to restart an actor and retry its task forever, which
            # would hang on a batch that kills its worker every time. They can only be set through the
            # remote args Ray deprecates (no named parameter yet; pyproject keeps Ray below 2.64).
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            mapped = items.map_batches(
                _EncodeActor, batch_size=1, compute=ray.data.ActorPoolStrategy(size=n_actors), num_cpus=per_actor,
                num_gpus=1 if gpus else 0,
                fn_constructor_kwargs={"recipe": recipe, "source_ref": source_ref, "threads": per_actor,
                                       "device": "cuda" if gpus else "cpu"},
                max_restarts=2, max_task_retries=2,
            )
        written = np.zeros(len(source), dtype=bool)
        try:
            for out in mapped.iter_batches(batch_size=None, batch_format="numpy"):
                rows, features, reasons = out["row"], out["features"], out["reason"]
                # Rows of one output block come in runs of consecutive indices: one write per run.
                breaks = np.flatnonzero(np.diff(rows) != 1) + 1
                for run_rows, run_features, run_reasons in zip(np.split(rows, breaks), np.split(features, breaks),
                                                               np.split(reasons, breaks)):
                    why = None if isinstance(source, np.ndarray) else [str(r) or None for r in run_reasons]
                    yield int(run_rows[0]), run_features, why
                    written[run_rows] = True
        except (InputError, UsageError):
            raise
        except Exception as err:  # noqa: BLE001 - Ray wraps a worker's failure in many types
            first = next((b for b in batches if not written[b[0]:b[1]].all()), batches[0])
            why = " ".join(str(err).split())[:200] or type(err).__name__
            raise InputError(MSG_BATCH.format(start=first[0], stop=first[1] - 1, why=why)) from None

    return run
