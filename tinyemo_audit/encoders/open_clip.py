"""open_clip image towers as Encoders: ``open_clip:<arch>/<pretrained-tag | checkpoint path | random>``."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, UnknownNameError, UsageError, WeightsUnavailableError
from .base import Encoder

if TYPE_CHECKING:
    import torch

SCHEME = "open_clip"
RANDOM_WEIGHTS = ("random", "none")
RANDOM_WEIGHTS_SEED = 0
MAX_LISTED_CHOICES = 40
MSG_BAD_SPEC = "open_clip spec must be 'open_clip:<arch>/<pretrained-tag-or-path>'; got {spec!r}"
MSG_NOT_OFFLINE = (
    "open_clip weights {arch}/{tag} are not on this machine (not in the local Hugging Face cache "
    "and downloads are off); pass a checkpoint path instead: open_clip:{arch}/<path>"
)
MSG_NO_CHECKPOINT = "open_clip checkpoint not found: {path}"
MAX_LISTED_KEYS = 5


def _listed(keys: list[str]) -> str:
    more = f" (+{len(keys) - MAX_LISTED_KEYS} more)" if len(keys) > MAX_LISTED_KEYS else ""
    return ", ".join(keys[:MAX_LISTED_KEYS]) + more


def checked_state_dict(state: dict, reference: dict, source: str) -> dict:
    """``state`` if its names, shapes, dtype kinds and values fit ``reference``, else InputError.

    Parameters
    ----------
    state : dict of str to Tensor
        A foreign checkpoint's tensors (a leading ``module.`` on every key is dropped).
    reference : dict of str to Tensor
        The state dict of the freshly built model the tensors are meant for.
    source : str
        Named in the one-line error message.
    """
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    missing, unexpected = sorted(set(reference) - set(state)), sorted(set(state) - set(reference))
    if missing:
        raise InputError(f"{source} lacks {len(missing)} tensor(s) of this architecture: {_listed(missing)}")
    if unexpected:
        raise InputError(f"{source} has {len(unexpected)} tensor(s) this architecture lacks: {_listed(unexpected)}")
    for key, want in reference.items():
        got = state[key]
        if tuple(got.shape) != tuple(want.shape):
            raise InputError(f"{source}: {key} has shape {tuple(got.shape)}, this architecture needs {tuple(want.shape)}")
        if got.is_floating_point() != want.is_floating_point():
            raise InputError(f"{source}: {key} is {got.dtype}, this architecture needs {want.dtype}")
        if got.is_floating_point() and not bool(got.isfinite().all()):
            raise InputError(f"{source}: {key} contains NaN or infinite values")
    return state


def _truncated(choices: list[str]) -> list[str]:
    if len(choices) <= MAX_LISTED_CHOICES:
        return choices
    return choices[:MAX_LISTED_CHOICES] + [f"... ({len(choices) - MAX_LISTED_CHOICES} more)"]


def parse_open_clip_spec(rest: str, weights: str | Path | None = None) -> tuple[str, str | None]:
    """Split ``<arch>/<tag-or-path>`` into the architecture and the ``pretrained`` argument.

    ``weights`` (a checkpoint path) may stand in for a missing ``/<tag-or-path>``; ``random`` or
    ``none`` mean randomly initialised weights (``None``).
    """
    arch, sep, source = rest.partition("/")
    if weights is not None:
        if sep:
            raise UsageError(f"give open_clip weights either in the spec or as weights=, not both: {rest!r}")
        source = str(weights)
    if not arch or not source:
        raise UsageError(MSG_BAD_SPEC.format(spec=f"{SCHEME}:{rest}"))
    return arch, (None if source.lower() in RANDOM_WEIGHTS else source)


class OpenClipEncoder(Encoder):
    """The image tower of an open_clip model; features are ``encode_image(normalize=True)``.

    Parameters
    ----------
    arch : str
        An ``open_clip.list_models()`` name.
    pretrained : str or None
        A pretrained tag (``open_clip.list_pretrained()``), a checkpoint path, or ``None`` for
        random weights (drawn with a fixed seed, so they are the same on every call).
    device : str
    """

    def __init__(self, arch: str, pretrained: str | None, *, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import open_clip
        import torch

        if arch not in open_clip.list_models():
            raise UnknownNameError("open_clip architecture", arch, _truncated(open_clip.list_models()))
        tag_or_path = "random" if pretrained is None else pretrained
        if pretrained is not None and not Path(pretrained).is_file():
            tags = open_clip.list_pretrained_tags_by_model(arch)
            looks_like_path = os.sep in pretrained or Path(pretrained).suffix != ""
            if looks_like_path:
                raise WeightsUnavailableError(MSG_NO_CHECKPOINT.format(path=pretrained))
            if pretrained not in tags:
                raise UnknownNameError(
                    f"open_clip pretrained tag for {arch}", pretrained, [*tags, *RANDOM_WEIGHTS, "<path>"]
                )
        # open_clip logs a warning for random weights and an error before raising on failed
        # downloads; the exception below carries the message, so keep stderr to one line.
        logger = logging.getLogger()
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            # Random weights are seeded so one spec always means one model (and one cache key).
            # A checkpoint file is never handed to open_clip: it is read without pickle code
            # (safetensors sibling first) and checked tensor by tensor before use.
            checkpoint = Path(pretrained) if pretrained is not None and Path(pretrained).is_file() else None
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(RANDOM_WEIGHTS_SEED)
                model, _, _ = open_clip.create_model_and_transforms(
                    arch, pretrained=None if checkpoint else pretrained, device=device
                )
        except RuntimeError as err:
            if "download" in str(err).lower() or "hub" in str(err).lower():
                raise WeightsUnavailableError(MSG_NOT_OFFLINE.format(arch=arch, tag=pretrained)) from err
            raise WeightsUnavailableError(f"cannot load open_clip {arch}/{pretrained}: {err}") from err
        finally:
            logger.setLevel(level)
        if checkpoint is not None:
            from ..model.projector import load_foreign_checkpoint

            state = checked_state_dict(load_foreign_checkpoint(checkpoint), model.state_dict(),
                                       f"open_clip checkpoint {checkpoint}")
            model.load_state_dict(state, strict=True)
        self.model = model.eval()
        self.device = torch.device(device)
        self.spec = f"{SCHEME}:{arch}/{tag_or_path}"
        preprocess = getattr(model.visual, "preprocess_cfg", {}) or {}
        self.image_size = tuple(preprocess.get("size", model.visual.image_size))
        if len(self.image_size) == 1:
            self.image_size = (self.image_size[0], self.image_size[0])
        self.mean = torch.tensor(preprocess.get("mean", open_clip.OPENAI_DATASET_MEAN)).view(1, 3, 1, 1)
        self.std = torch.tensor(preprocess.get("std", open_clip.OPENAI_DATASET_STD)).view(1, 3, 1, 1)
        self.interpolation = preprocess.get("interpolation", "bicubic")
        with torch.inference_mode():
            probe = torch.zeros(1, 3, *self.image_size, device=self.device)
            self.dim = int(self.model.encode_image(probe).shape[-1])

    def _modules(self) -> list:
        return [self.model]

    def _weights(self) -> dict:
        return dict(self.model.visual.state_dict())

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        pixels = batch.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        # Resize the shorter side, then centre-crop: open_clip's default "shortest" mode.
        height, width = pixels.shape[-2:]
        target_h, target_w = self.image_size
        ratio = max(target_h / height, target_w / width)
        size = (max(target_h, round(height * ratio)), max(target_w, round(width * ratio)))
        if size != (height, width):
            mode = "bicubic" if self.interpolation == "bicubic" else "bilinear"
            pixels = F.interpolate(pixels, size=size, mode=mode, antialias=True,
                                   align_corners=False).clamp_(0.0, 1.0)
        top, left = (size[0] - target_h) // 2, (size[1] - target_w) // 2
        pixels = pixels[:, :, top : top + target_h, left : left + target_w]
        pixels = (pixels - self.mean.to(pixels.device)) / self.std.to(pixels.device)
        return self.model.encode_image(pixels, normalize=True).cpu()


def open_clip_encoder(rest: str, *, weights: str | Path | None = None) -> OpenClipEncoder:
    """Registry factory for the ``open_clip:`` scheme (see :func:`parse_open_clip_spec`)."""
    arch, pretrained = parse_open_clip_spec(rest, weights)
    return OpenClipEncoder(arch, pretrained)
