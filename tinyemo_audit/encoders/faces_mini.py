"""The faces-mini image tower: a small CNN mapping 64×64 faces into MiniLM's 384-d text space."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, WeightsUnavailableError
from .base import Encoder

if TYPE_CHECKING:
    import torch

SPEC = "faces-mini"
WEIGHTS_FORMAT = "tinyemo-audit/faces-mini/v1"
MSG_NO_WEIGHTS = (
    "faces-mini weights not found: {path} (train them with train_faces_mini / `make models`)"
)
MSG_NOT_FACES_MINI = "{path} is not a faces-mini weights file (metadata format {found!r})"


@dataclass(frozen=True)
class FacesMiniConfig:
    """Architecture hyper-parameters, stored in the weights file's metadata.

    Parameters
    ----------
    widths : tuple of int
        Output channels of each conv block; every block but the last halves the resolution.
    embed_dim : int
        Size of the joint image–text space (MiniLM: 384).
    image_size : int
        Side of the square input; other sizes are resized to it.
    """

    widths: tuple[int, ...] = (24, 48, 96, 160, 192)
    embed_dim: int = 384
    image_size: int = 64

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> FacesMiniConfig:
        raw = json.loads(text)
        return cls(widths=tuple(raw["widths"]), embed_dim=int(raw["embed_dim"]),
                   image_size=int(raw["image_size"]))


def build_faces_mini_net(config: FacesMiniConfig) -> torch.nn.Module:
    """The image tower: conv blocks (Conv3×3–BN–ReLU, max-pool) → global average pool → linear."""
    import torch
    from torch import nn

    class FacesMiniNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            channels = 3
            for index, width in enumerate(config.widths):
                layers += [
                    nn.Conv2d(channels, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
                if index < len(config.widths) - 1:
                    layers.append(nn.MaxPool2d(2))
                channels = width
            self.features = nn.Sequential(*layers)
            self.head = nn.Linear(channels, config.embed_dim)

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            """``pixels``: float [B, 3, S, S] already normalised; returns unnormalised [B, D]."""
            pooled = self.features(pixels).mean(dim=(2, 3))
            return self.head(pooled)

    return FacesMiniNet().to(memory_format=torch.channels_last)


def unit_pixels(batch: torch.Tensor, image_size: int) -> torch.Tensor:
    """uint8 [B, H, W, 3] → float [B, 3, S, S] in [0, 1], resized to ``image_size`` if needed."""
    import torch.nn.functional as F

    pixels = batch.permute(0, 3, 1, 2).float().div_(255.0)
    if pixels.shape[-2:] != (image_size, image_size):
        pixels = F.interpolate(pixels, size=(image_size, image_size), mode="bilinear",
                               antialias=True, align_corners=False)
    return pixels


def normalise_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels → the network's input (channels-last memory: faster convolutions on CPU)."""
    import torch

    # Fixed mid-grey centring: the renders span the full [0, 1] range.
    return ((pixels - 0.5) / 0.25).contiguous(memory_format=torch.channels_last)


class FacesMiniEncoder(Encoder):
    """faces-mini as an :class:`Encoder`: features are L2-normalised 384-d joint-space embeddings.

    Parameters
    ----------
    net : torch.nn.Module
        A network built by :func:`build_faces_mini_net` (trained or not).
    config : FacesMiniConfig
    """

    spec = SPEC

    def __init__(self, net: torch.nn.Module, config: FacesMiniConfig) -> None:
        self.net = net.eval()
        self.config = config
        self.dim = config.embed_dim

    def _modules(self) -> list:
        return [self.net]

    def _weights(self) -> dict:
        return dict(self.net.state_dict())

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        pixels = normalise_pixels(unit_pixels(batch, self.config.image_size))
        return F.normalize(self.net(pixels), dim=-1)

    def save(self, path: str | Path) -> None:
        """Write the weights and architecture to a safetensors file, atomically.

        Parameters
        ----------
        path : str or Path
        """
        from safetensors.torch import save_file

        from .._io import atomic_path

        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        metadata = {"format": WEIGHTS_FORMAT, "spec": SPEC, "config": self.config.to_json()}
        with atomic_path(path) as tmp:
            save_file(state, str(tmp), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> FacesMiniEncoder:
        """Read an encoder written by :meth:`save`.

        Raises
        ------
        WeightsUnavailableError
            If ``path`` does not exist.
        InputError
            If ``path`` is not a faces-mini safetensors file.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file, safe_open

        path = Path(path)
        if not path.is_file():
            raise WeightsUnavailableError(MSG_NO_WEIGHTS.format(path=path))
        try:
            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata() or {}
            state = load_file(str(path))
        except (SafetensorError, OSError) as err:
            raise InputError(f"cannot read faces-mini weights {path}: {err}") from err
        if metadata.get("format") != WEIGHTS_FORMAT:
            raise InputError(MSG_NOT_FACES_MINI.format(path=path, found=metadata.get("format")))
        config = FacesMiniConfig.from_json(metadata["config"])
        net = build_faces_mini_net(config)
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise InputError(f"faces-mini weights {path} do not match their config") from err
        return cls(net, config)
