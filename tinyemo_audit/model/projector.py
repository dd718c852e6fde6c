"""TinyEmo's Metric Projector (vision features → LLM embedding space) and its checkpoint I/O.

The layer layout matches the released TinyEmo projectors, so their state dicts load as they are:
``model.0`` Linear(d_in→d_out), ``model.1`` BatchNorm1d, ``model.2`` GELU, ``model.3`` Dropout,
``model.4`` Linear(d_out→d_out). Our own checkpoints are safetensors with the dimensions in the
metadata; foreign ``.bin``/``.pt``/``.pth`` files are read with ``weights_only=True`` only.
"""

from __future__ import annotations

import operator
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .._io import atomic_path
from ..errors import InputError, UsageError

__all__ = [
    "FOREIGN_CHECKPOINT_SUFFIXES",
    "MetricProjector",
    "load_foreign_checkpoint",
    "load_projector",
    "projector_from_state_dict",
    "safetensors_sibling",
    "save_projector",
]

#: File suffixes :func:`load_foreign_checkpoint` accepts.
FOREIGN_CHECKPOINT_SUFFIXES = (".bin", ".pt", ".pth", ".safetensors")

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth")
_WRAPPER_KEYS = ("state_dict", "model")
_OPTIONAL_KEYS = ("model.1.num_batches_tracked",)


class MetricProjector(nn.Module):
    """Linear → BatchNorm1d → GELU → Dropout → Linear, as in TinyEmo.

    Parameters
    ----------
    d_in : int
        Dimension of the vision encoder's pooled features.
    d_out : int
        Dimension of the label space (the LLM's token-embedding width).
    dropout : float, default 0.2
        Dropout probability between the two linear layers (TinyEmo uses 0.2).

    Examples
    --------
    >>> projector = MetricProjector(768, 576).eval()
    >>> projector(torch.zeros(2, 768)).shape
    torch.Size([2, 576])
    """

    def __init__(self, d_in: int, d_out: int, *, dropout: float = 0.2):
        super().__init__()
        d_in, d_out = _positive_int("d_in", d_in), _positive_int("d_out", d_out)
        if not 0.0 <= float(dropout) < 1.0:
            raise UsageError(f"projector dropout must be in [0, 1); got {dropout!r}")
        self.d_in = d_in
        self.d_out = d_out
        self.dropout = float(dropout)
        self.model = nn.Sequential(
            nn.Linear(d_in, d_out),
            nn.BatchNorm1d(d_out),
            nn.GELU(),
            nn.Dropout(self.dropout),
            nn.Linear(d_out, d_out),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Project ``features [B, d_in]`` to ``[B, d_out]``."""
        if features.ndim != 2 or features.shape[1] != self.d_in:
            raise InputError(
                f"projector expects image features of shape [batch, {self.d_in}] "
                f"but got {list(features.shape)}"
            )
        # Cached features are often float16; the projector computes in its own dtype.
        return self.model(features.to(self.model[0].weight.dtype))

    def extra_repr(self) -> str:
        return f"d_in={self.d_in}, d_out={self.d_out}, dropout={self.dropout}"


def _positive_int(name: str, value: object) -> int:
    try:
        number = operator.index(value)  # accepts numpy integers, refuses floats and strings
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or number < 1:
        raise UsageError(f"projector {name} must be a positive integer; got {value!r}")
    return int(number)


def _expected_shapes(d_in: int, d_out: int) -> dict[str, tuple[int, ...]]:
    return {
        "model.0.weight": (d_out, d_in),
        "model.0.bias": (d_out,),
        "model.1.weight": (d_out,),
        "model.1.bias": (d_out,),
        "model.1.running_mean": (d_out,),
        "model.1.running_var": (d_out,),
        "model.1.num_batches_tracked": (),
        "model.4.weight": (d_out, d_out),
        "model.4.bias": (d_out,),
    }


def _strip_data_parallel_prefix(state_dict: Mapping[str, object]) -> dict[str, object]:
    # Checkpoints saved from nn.DataParallel carry "module." on every key.
    if state_dict and all(str(k).startswith("module.") for k in state_dict):
        return {str(k)[len("module."):]: v for k, v in state_dict.items()}
    return dict(state_dict)


def projector_from_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    *,
    expected_in: int | None = None,
    expected_out: int | None = None,
    dropout: float = 0.2,
) -> MetricProjector:
    """Build a :class:`MetricProjector` whose dimensions are read off a state dict.

    Parameters
    ----------
    state_dict : Mapping[str, torch.Tensor]
        TinyEmo-layout projector weights (``model.0.weight`` … ``model.4.bias``); a leading
        ``module.`` on every key is accepted. ``model.1.num_batches_tracked`` may be absent.
    expected_in : int, optional
        Feature dimension of the encoder the projector will be used with.
    expected_out : int, optional
        Dimension of the label space the projector must map into.
    dropout : float, default 0.2
        Dropout probability (not stored in state dicts).

    Returns
    -------
    MetricProjector
        In eval mode, with the weights loaded.

    Raises
    ------
    InputError
        When a key is missing or unexpected, a value is not a tensor, a shape disagrees with the
        layout, or the dimensions disagree with ``expected_in``/``expected_out``.
    """
    if not isinstance(state_dict, Mapping):
        raise InputError(f"projector weights must be a mapping of tensors; got {type(state_dict).__name__}")
    weights = _strip_data_parallel_prefix(state_dict)
    first = weights.get("model.0.weight")
    if not isinstance(first, torch.Tensor) or first.ndim != 2:
        found = "missing" if first is None else f"of shape {_shape(first)}"
        raise InputError(
            "projector checkpoint needs a 2-D 'model.0.weight' (TinyEmo layout); it is " + found
        )
    d_out, d_in = (int(n) for n in first.shape)
    if expected_in is not None and d_in != expected_in:
        raise InputError(
            f"projector expects image features of dimension {d_in} but the encoder gives {expected_in}"
        )
    if expected_out is not None and d_out != expected_out:
        raise InputError(
            f"projector outputs embeddings of dimension {d_out} but the label space has "
            f"dimension {expected_out}"
        )

    shapes = _expected_shapes(d_in, d_out)
    unexpected = sorted(set(weights) - set(shapes))
    if unexpected:
        raise InputError(f"projector checkpoint has unexpected keys: {', '.join(unexpected)}")
    missing = sorted(set(shapes) - set(weights) - set(_OPTIONAL_KEYS))
    if missing:
        raise InputError(f"projector checkpoint lacks keys: {', '.join(missing)}")
    for key, value in weights.items():
        if not isinstance(value, torch.Tensor):
            raise InputError(f"projector checkpoint entry {key!r} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != shapes[key]:
            raise InputError(
                f"projector checkpoint entry {key!r} has shape {_shape(value)} but "
                f"{shapes[key]} was expected for d_in={d_in}, d_out={d_out}"
            )
        integral = key.endswith("num_batches_tracked")
        if value.is_floating_point() == integral or value.is_complex():
            kind = "an integer" if integral else "a floating-point"
            raise InputError(f"projector checkpoint entry {key!r} is {value.dtype}, expected {kind} tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise InputError(f"projector checkpoint entry {key!r} contains NaN or infinite values")

    projector = MetricProjector(d_in, d_out, dropout=dropout)
    if "model.1.num_batches_tracked" not in weights:
        weights["model.1.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    projector.load_state_dict(weights, strict=True)
    return projector.eval()


def _shape(value: object) -> tuple[int, ...] | str:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def save_projector(projector: MetricProjector, path: str | os.PathLike) -> None:
    """Write ``projector`` to a safetensors file atomically, dimensions in the metadata.

    Parameters
    ----------
    projector : MetricProjector
        The projector to save.
    path : str or os.PathLike
        Destination ``.safetensors`` file; its folder is created if needed.
    """
    from safetensors.torch import save_file

    if not isinstance(projector, MetricProjector):
        raise UsageError(f"save_projector needs a MetricProjector; got {type(projector).__name__}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in projector.state_dict().items()}
    metadata = {
        "format": "pt",
        "kind": "tinyemo-metric-projector",
        "d_in": str(projector.d_in),
        "d_out": str(projector.d_out),
        "dropout": repr(projector.dropout),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_projector(path: str | os.PathLike) -> MetricProjector:
    """Read a projector written by :func:`save_projector`.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file.

    Returns
    -------
    MetricProjector
        In eval mode.

    Raises
    ------
    InputError
        When the file is missing, unreadable, or its metadata disagrees with its tensors.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"projector file not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as err:  # safetensors raises several types for a damaged file
        raise InputError(f"cannot read projector {path}: {_first_line(err)}") from None
    try:
        d_in, d_out = int(metadata["d_in"]), int(metadata["d_out"])
        dropout = float(metadata.get("dropout", 0.2))
    except (KeyError, ValueError):
        raise InputError(
            f"projector {path} lacks d_in/d_out metadata; was it written by save_projector?"
        ) from None
    try:
        return projector_from_state_dict(tensors, expected_in=d_in, expected_out=d_out, dropout=dropout)
    except InputError as err:
        raise InputError(f"projector {path}: {err}") from None


def load_foreign_checkpoint(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a state dict from someone else's checkpoint without executing any code.

    ``.bin``/``.pt``/``.pth`` go through ``torch.load(..., weights_only=True)`` (a pickle that
    tries to build anything but tensors and containers is refused, not run); ``.safetensors``
    through safetensors. When a pickle file has a safetensors sibling (same stem, or
    ``model.safetensors`` beside ``pytorch_model.bin``) the sibling is read instead. A top-level ``"state_dict"`` or ``"model"`` entry holding a mapping is
    unwrapped.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file, e.g. a released TinyEmo ``pytorch_model.bin``.

    Returns
    -------
    dict[str, torch.Tensor]

    Raises
    ------
    InputError
        On a missing file, an unsupported suffix, a file that cannot be read safely, or content
        that is not a mapping of names to tensors. The message is one line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _PICKLE_SUFFIXES:
        # A safetensors copy beside a pickle is the same weights without any pickle at all.
        sibling = safetensors_sibling(path)
        if sibling is not None:
            path, suffix = sibling, ".safetensors"
    if suffix not in FOREIGN_CHECKPOINT_SUFFIXES:
        raise InputError(
            f"unsupported checkpoint type {path.name!r}; valid suffixes: "
            + ", ".join(FOREIGN_CHECKPOINT_SUFFIXES)
        )
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        if suffix in _PICKLE_SUFFIXES:
            with warnings.catch_warnings():
                # Old pickle protocols trigger a UserWarning that would only add noise here.
                warnings.simplefilter("ignore", UserWarning)
                content = torch.load(path, map_location="cpu", weights_only=True)
        else:
            from safetensors.torch import load_file

            content = load_file(str(path), device="cpu")
    except pickle.UnpicklingError as err:
        raise InputError(
            f"refusing checkpoint {path}: it is not a plain tensor checkpoint (it holds Python objects "
            f"that could run code when loaded{_blocked_global(err)}); convert it to safetensors"
        ) from None
    except Exception as err:  # truncated zips, bad headers, plain garbage …
        raise InputError(f"cannot load checkpoint {path}: {_first_line(err)}") from None

    for key in _WRAPPER_KEYS:
        if isinstance(content, Mapping) and isinstance(content.get(key), Mapping):
            content = content[key]
            break
    if not isinstance(content, Mapping):
        raise InputError(f"checkpoint {path} holds a {type(content).__name__}, not a state dict")
    bad = [str(k) for k, v in content.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise InputError(f"checkpoint {path} has entries that are not named tensors: {', '.join(bad[:5])}")
    return dict(content)


def safetensors_sibling(path: str | os.PathLike) -> Path | None:
    """The ``.safetensors`` file holding the same weights as pickle checkpoint ``path``, if any."""
    path = Path(path)
    names = [path.with_suffix(".safetensors").name]
    if path.name.startswith("pytorch_model"):
        names.append("model" + path.with_suffix(".safetensors").name[len("pytorch_model"):])
    for name in names:
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def _blocked_global(err: BaseException) -> str:
    # torch's own text advises re-running with weights_only=False, which is wrong for a hostile file,
    # so only the name of the refused global is kept (restricted to identifier characters: the name
    # comes from the file).
    found = re.search(r"GLOBAL ([A-Za-z_][\w.]{0,80})", str(err))
    return f", e.g. {found.group(1)}" if found else ""
