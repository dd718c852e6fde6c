"""Builders of folder trees whose entries are not what their names say, and a watch on what gets opened.

An entry kind is one of :data:`ENTRY_KINDS`; :func:`make_entry` creates it under any name. The
"outside" folder holds a real image and a real feature file that a reader must never open:
:class:`OpenWatch` records every ``open`` (Python's audit hook: builtin ``open``, ``os.open``,
``io.open``) of a path that resolves into it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

import hostile_fixtures as hf

# good: a real file; link_in: a symlink to a real file inside the dataset; link_out: a symlink to
# the outside file; link_out_dir: a symlink to the outside folder; dir: a folder under a file name;
# fifo / socket: special files; broken: a dangling symlink; loop: a symlink to itself.
ENTRY_KINDS = ("good", "link_in", "link_out", "link_out_dir", "dir", "fifo", "socket", "broken", "loop")
READABLE = ("good", "link_in")  # the kinds that may become items


def short_dir(prefix: str) -> Path:
    """A fresh folder with a short path: a socket's path must fit in 108 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix))  # the session's scratch folder is short (tests/conftest.py)


def write_payload(path: Path, suffix: str, seed: int) -> None:
    """A real image (``.png``) or feature file (``.pt``, an 8-d tensor) at ``path``."""
    if suffix == ".pt":
        import torch

        torch.save(torch.as_tensor(np.random.default_rng(seed).normal(size=8).astype(np.float32)), path)
    else:
        hf.random_png(path, seed)


def make_outside(base: Path) -> dict[str, Path]:
    """The folder no reader may open anything in, with one real image and one real feature file."""
    outside = base / "outside"
    outside.mkdir()
    write_payload(outside / "secret.png", ".png", 99)
    write_payload(outside / "secret.pt", ".pt", 99)
    return {"folder": outside, ".png": outside / "secret.png", ".pt": outside / "secret.pt"}


def make_entry(path: Path, kind: str, *, outside: dict[str, Path], inside_target: Path, seed: int,
               sockets: list) -> None:
    """Create ``path`` as an entry of ``kind`` (see :data:`ENTRY_KINDS`)."""
    suffix = path.suffix
    if kind == "good":
        write_payload(path, suffix, seed)
    elif kind == "link_in":
        os.symlink(os.path.relpath(inside_target, path.parent), path)
    elif kind == "link_out":
        os.symlink(outside[suffix], path)
    elif kind == "link_out_dir":
        os.symlink(outside["folder"], path)
    elif kind == "dir":
        path.mkdir()
        write_payload(path / f"inner{suffix}", suffix, seed)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sockets.append(sock)
    elif kind == "broken":
        os.symlink(path.parent / "does-not-exist", path)
    elif kind == "loop":
        os.symlink(path.name, path)
    else:
        raise ValueError(kind)


class OpenWatch:
    """Records opens of paths that resolve inside a folder, while active (one audit hook per process)."""

    _installed = False
    _active: OpenWatch | None = None

    def __init__(self, folder: Path):
        self.folder = os.path.realpath(folder)
        self.opened: list[str] = []
        if not OpenWatch._installed:
            sys.addaudithook(OpenWatch._hook)
            OpenWatch._installed = True

    @staticmethod
    def _hook(event: str, args) -> None:
        watch = OpenWatch._active
        if watch is None or event != "open" or not args:
            return
        path = args[0]
        if isinstance(path, int) or path is None:
            return
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError, OSError):
            return
        if real == watch.folder or real.startswith(watch.folder + os.sep):
            watch.opened.append(real)

    def __enter__(self) -> OpenWatch:
        OpenWatch._active = self
        return self

    def __exit__(self, *exc) -> None:
        OpenWatch._active = None


def unblock(root: Path) -> None:
    """Open every FIFO under ``root`` for writing, so that a reader blocked on one returns."""
    for top, _, files in os.walk(root):
        for name in files:
            path = os.path.join(top, name)
            with contextlib.suppress(OSError):
                if os.path.exists(path) and not os.path.isfile(path) and os.stat(path).st_mode & 0o010000:
                    os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))


def finishes(call, *, root: Path, seconds: float = 60.0):
    """``call()``'s result or exception, run in a thread; AssertionError if it is still running after ``seconds``.

    A reader blocked on a FIFO would run forever; the FIFOs are then unblocked so the thread ends.
    """
    box: dict = {}

    def work():
        try:
            box["result"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the test as it is
            box["error"] = err

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        unblock(root)
        thread.join(5)
        raise AssertionError(f"reading {root} did not finish within {seconds:.0f} s (blocked on a FIFO?)")
    if "error" in box:
        raise box["error"]
    return box["result"]
