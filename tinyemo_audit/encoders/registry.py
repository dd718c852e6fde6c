"""Encoder specs → Encoder objects: ``faces-mini`` and the ``open_clip:`` and ``hf:`` schemes."""

from __future__ import annotations

from pathlib import Path

from ..errors import WeightsUnavailableError
from ..registry import Registry
from .base import Encoder

MSG_FACES_MINI_NEEDS_WEIGHTS = (
    "encoder 'faces-mini' needs a weights file (a .safetensors written by FacesMiniEncoder.save)"
)


def _faces_mini(*, weights: str | Path | None = None, trust_remote_code: bool = False) -> Encoder:
    from .faces_mini import FacesMiniEncoder

    if weights is None:
        raise WeightsUnavailableError(MSG_FACES_MINI_NEEDS_WEIGHTS)
    return FacesMiniEncoder.load(weights)


def _open_clip(rest: str, *, weights: str | Path | None = None, trust_remote_code: bool = False) -> Encoder:
    from .open_clip import open_clip_encoder

    return open_clip_encoder(rest, weights=weights)


def _hf(rest: str, *, weights: str | Path | None = None, trust_remote_code: bool = False) -> Encoder:
    from .hf import hf_encoder

    return hf_encoder(rest, weights=weights, trust_remote_code=trust_remote_code)


ENCODERS: Registry[Encoder] = Registry("encoder")
ENCODERS.add("faces-mini", _faces_mini)
ENCODERS.add_scheme("open_clip", _open_clip)
ENCODERS.add_scheme("hf", _hf)


def resolve_encoder(
    spec: str, *, weights: str | Path | None = None, trust_remote_code: bool = False
) -> Encoder:
    """Build the encoder a spec names.

    Parameters
    ----------
    spec : str
        ``"faces-mini"``, ``"open_clip:<arch>/<pretrained-tag | checkpoint path | random>"`` or
        ``"hf:<hf-id-or-folder>"`` (SigLIP, DINOv2, CLIP or any vision AutoModel).
    weights : str or Path, optional
        Weights file: required for ``faces-mini``; for ``open_clip:<arch>`` a checkpoint path.
    trust_remote_code : bool
        For ``hf:`` only: let the model's own code run (never by default).

    Returns
    -------
    Encoder

    Raises
    ------
    UnknownNameError
        Unknown spec, architecture or pretrained tag (the message lists the valid choices).
    WeightsUnavailableError
        The weights are not on this machine.
    """
    encoder = ENCODERS.resolve(spec, weights=weights, trust_remote_code=bool(trust_remote_code))
    # How a Ray actor builds the same encoder (tinyemo_audit.encoders.engine.encoder_recipe).
    encoder.recipe = {"spec": spec, "weights": None if weights is None else str(weights),
                      "trust_remote_code": bool(trust_remote_code)}
    return encoder
