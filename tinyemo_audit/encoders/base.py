"""The Encoder interface: uint8 images in, one pooled float32 feature vector per image out."""

from __future__ import annotations

import hashlib
import sys
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import torch

MSG_BAD_IMAGES = "images must be a uint8 array of shape (N, H, W, 3); got {dtype} {shape}"


def check_images(images: np.ndarray) -> np.ndarray:
    """Return ``images`` as an ndarray after checking it is uint8 ``(N, H, W, 3)``.

    Raises
    ------
    InputError
        If the dtype or shape is wrong.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise InputError(MSG_BAD_IMAGES.format(dtype=images.dtype, shape=tuple(images.shape)))
    return images


class Encoder:
    """A frozen vision encoder.

    Subclasses set ``spec`` and ``dim``, implement :meth:`_forward` (a batch of uint8 images as a
    torch tensor ``[B, H, W, 3]`` → float features ``[B, dim]``) and :meth:`_weights`
    (the tensors that define the model, for :meth:`fingerprint`).
    """

    spec: str
    dim: int

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _weights(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _modules(self) -> list[torch.nn.Module]:
        """Modules to put in eval mode before encoding."""
        return []

    def encode_images(
        self, images: np.ndarray, *, batch_size: int = 256, progress: bool = True
    ) -> np.ndarray:
        """Encode images into features.

        Parameters
        ----------
        images : ndarray of uint8, shape (N, H, W, 3)
        batch_size : int
            Images per forward pass.
        progress : bool
            Show a tqdm bar on stderr.

        Returns
        -------
        ndarray of float32, shape (N, dim)
        """
        import torch
        from tqdm.auto import tqdm

        from ..devices import current_device

        images = check_images(images)
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1; got {batch_size}")
        device = current_device()
        for module in self._modules():
            module.eval()
            module.to(device)
        if hasattr(self, "device"):  # encoders that move their own inputs follow the command's device
            self.device = torch.device(device)
        out = np.empty((len(images), self.dim), dtype=np.float32)
        starts = range(0, len(images), batch_size)
        bar = tqdm(
            starts, desc=f"encode {self.spec}", unit="batch", file=sys.stderr,
            disable=not progress or len(images) == 0,
        )
        with torch.inference_mode():
            for start in bar:
                batch = torch.from_numpy(np.array(images[start : start + batch_size])).to(device)
                out[start : start + len(batch)] = self._forward(batch).float().cpu().numpy()
        return out

    def fingerprint(self) -> str:
        """A stable hash of the spec and every weight tensor (the feature-cache key)."""
        import torch

        # Computed once: an encoder's weights are frozen after construction.
        cached = getattr(self, "_fingerprint", None)
        if cached is None:
            digest = hashlib.blake2b(self.spec.encode(), digest_size=16)
            for name, tensor in sorted(self._weights().items()):
                digest.update(name.encode())
                data = tensor.detach().cpu().contiguous()
                digest.update(str(data.dtype).encode() + str(tuple(data.shape)).encode())
                # Raw bytes via a uint8 view so every dtype (bfloat16 included) hashes the same way.
                digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
            cached = self._fingerprint = digest.hexdigest()
        return cached

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, dim={self.dim})"
