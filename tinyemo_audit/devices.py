"""The one place a ``--device`` is resolved: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` → a torch device.

Every command that runs a model (``embed``, ``eval``, ``run``, ``train``) resolves its ``--device``
here once, before any work, and installs it with :func:`use_device`; the encoders, the projector
and training read it with :func:`current_device`. ``auto`` takes a CUDA GPU when torch sees one,
else Apple's MPS when present, else the CPU. A device that is not there is a usage error
(exit 2, one line) before anything is written.

Examples
--------
>>> resolve_device("cpu")
'cpu'
>>> resolve_device("auto") in ("cpu", "cuda", "mps")
True
"""

from __future__ import annotations

import contextlib
import re

from .errors import UsageError
from .user_text import shown

CHOICES = "auto, cpu, cuda, cuda:N or mps"
MSG_UNKNOWN = "--device must be one of " + CHOICES + "; got {value}"
MSG_NO_CUDA = "--device {value}: torch sees no CUDA GPU on this machine (use --device cpu or auto)"
MSG_NO_INDEX = "--device {value}: torch sees {count} CUDA GPU(s), numbered 0 to {last}"
MSG_NO_MPS = "--device mps: torch sees no Apple MPS device on this machine (use --device cpu or auto)"
_FORM = re.compile(r"(auto|cpu|mps|cuda)(?::(\d{1,3}))?")

_current = "cpu"


def resolve_device(value: str | None) -> str:
    """The torch device string for ``value`` (None means ``auto``).

    Raises
    ------
    UsageError
        An unknown form, or a device torch does not see here.
    """
    value = "auto" if value is None else value
    match = _FORM.fullmatch(value.strip().lower()) if isinstance(value, str) else None
    if match is None or (match.group(2) is not None and match.group(1) != "cuda"):
        raise UsageError(MSG_UNKNOWN.format(value=shown(value)))
    import torch

    kind, index = match.group(1), match.group(2)
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if kind == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(MSG_NO_CUDA.format(value=shown(value)))
        count = torch.cuda.device_count()
        if index is not None and int(index) >= count:
            raise UsageError(MSG_NO_INDEX.format(value=shown(value), count=count, last=count - 1))
        return f"cuda:{int(index)}" if index is not None else "cuda"
    if kind == "mps" and not mps_ok:
        raise UsageError(MSG_NO_MPS)
    return kind


def current_device() -> str:
    """The device models run on now (``cpu`` unless a command installed another)."""
    return _current


@contextlib.contextmanager
def use_device(value: str | None):
    """Resolve ``value`` and run the block with it as :func:`current_device`; yields the device string."""
    global _current
    device = resolve_device(value)
    previous, _current = _current, device
    try:
        yield device
    finally:
        _current = previous
