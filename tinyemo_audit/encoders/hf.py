"""Hugging Face vision models as Encoders: ``hf:<id-or-path>`` (SigLIP, DINOv2, CLIP, any AutoModel)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, UsageError, WeightsUnavailableError
from .._hub import hub_offline, is_local_ref, locate_file, one_line
from .base import Encoder

if TYPE_CHECKING:
    import torch

SCHEME = "hf"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
# PIL resampling codes as stored in preprocessor configs → torch interpolation modes.
RESAMPLE_MODES = {0: "nearest", 1: "bicubic", 2: "bilinear", 3: "bicubic", 4: "bilinear", 5: "bilinear"}
# How each family pools an image into one vector (DESIGN §1: SigLIP image features, DINOv2 CLS).
POOLING = {
    "siglip": "image_features",
    "siglip_vision_model": "pooler",
    "clip": "image_features",
    "clip_vision_model": "pooler",
    "dinov2": "cls",
}
MSG_MISSING = (
    "hf:{ref}: no model config.json in the {where}; downloads are off (HF_HUB_OFFLINE=1), so "
    "put the model folder on disk and pass hf:<folder>"
)

logger = logging.getLogger(__name__)


def hf_weights_available(ref: str) -> bool:
    """Whether ``ref``'s config and weights are on this machine (folder or HF cache)."""
    return locate_file(ref, "config.json") is not None and any(
        locate_file(ref, name) is not None for name in WEIGHT_FILES
    )


@dataclass(frozen=True)
class ImagePreprocessing:
    """What a Hugging Face image processor does, as numbers: resize, centre crop, normalise.

    ``resize`` is ``("exact", (h, w))`` or ``("shortest", edge)``; ``crop`` is ``(h, w)`` or None.
    """

    resize: tuple[str, Any] | None
    crop: tuple[int, int] | None
    mode: str
    scale: float
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None

    @property
    def output_size(self) -> tuple[int, int] | None:
        """The (h, w) every image ends up with, when the config fixes it."""
        if self.crop is not None:
            return self.crop
        if self.resize is not None and self.resize[0] == "exact":
            return self.resize[1]
        return None


def _hw(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, dict) and "height" in value and "width" in value:
        return (int(value["height"]), int(value["width"]))
    return None


def preprocessing_from_config(config: dict[str, Any], *, source: str = "preprocessor config") -> ImagePreprocessing:
    """Read the resize/crop/normalise steps out of a ``preprocessor_config.json`` mapping.

    Raises
    ------
    InputError
        For a size the pipeline cannot reproduce (e.g. ``longest_edge`` only).
    """
    resize = None
    if config.get("do_resize", True) and config.get("size") is not None:
        size = config["size"]
        exact = _hw(size)
        if exact is not None:
            resize = ("exact", exact)
        elif isinstance(size, dict) and "shortest_edge" in size:
            resize = ("shortest", int(size["shortest_edge"]))
        else:
            raise InputError(f"{source}: unsupported image size setting {size!r}")
    crop = _hw(config.get("crop_size")) if config.get("do_center_crop", False) else None
    if config.get("do_center_crop", False) and crop is None:
        raise InputError(f"{source}: do_center_crop without a crop_size")
    normalise = config.get("do_normalize", True)
    mean, std = config.get("image_mean"), config.get("image_std")
    if normalise and (mean is None or std is None):
        raise InputError(f"{source}: do_normalize without image_mean/image_std")
    return ImagePreprocessing(
        resize=resize,
        crop=crop,
        mode=RESAMPLE_MODES.get(int(config.get("resample", 3)), "bicubic"),
        scale=float(config.get("rescale_factor", 1 / 255)) if config.get("do_rescale", True) else 1.0,
        mean=tuple(float(x) for x in mean) if normalise else None,
        std=tuple(float(x) for x in std) if normalise else None,
    )


def preprocess_images(batch: torch.Tensor, steps: ImagePreprocessing) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` → float pixel values ``[B, 3, h, w]``, vectorised over the batch."""
    import torch
    import torch.nn.functional as F

    pixels = batch.permute(0, 3, 1, 2).float()
    height, width = pixels.shape[-2:]
    size = (height, width)
    if steps.resize is not None:
        kind, value = steps.resize
        if kind == "exact":
            size = value
        else:
            # As transformers' get_resize_output_image_size: short side to `value`, keep aspect.
            short, long = (height, width) if height <= width else (width, height)
            new_long = int(value * long / short)
            size = (value, new_long) if height <= width else (new_long, value)
    if tuple(size) != (height, width):
        antialias = steps.mode in ("bilinear", "bicubic")
        pixels = F.interpolate(pixels, size=tuple(size), mode=steps.mode, antialias=antialias,
                               **({} if steps.mode == "nearest" else {"align_corners": False}))
        pixels = pixels.round_().clamp_(0.0, 255.0)  # PIL resizes in uint8
    if steps.crop is not None:
        crop_h, crop_w = steps.crop
        # Like the processors: an image smaller than the crop is zero-padded around its centre.
        pad_h, pad_w = max(0, crop_h - pixels.shape[-2]), max(0, crop_w - pixels.shape[-1])
        if pad_h or pad_w:
            pixels = F.pad(pixels, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        top, left = (pixels.shape[-2] - crop_h) // 2, (pixels.shape[-1] - crop_w) // 2
        pixels = pixels[:, :, top : top + crop_h, left : left + crop_w]
    pixels = pixels * steps.scale
    if steps.mean is not None:
        mean = torch.tensor(steps.mean, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
        std = torch.tensor(steps.std, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
        pixels = (pixels - mean) / std
    return pixels


def _model_class(model_type: str):
    import transformers

    # Full SigLIP/CLIP checkpoints load as the whole model: the vision-only classes would drop
    # CLIP's projection_dim (a top-level config field) and re-initialise the projection.
    if model_type == "siglip":
        return transformers.SiglipModel
    if model_type == "siglip_vision_model":
        return transformers.SiglipVisionModel
    if model_type == "clip":
        return transformers.CLIPModel
    if model_type == "clip_vision_model":
        return transformers.CLIPVisionModel
    if model_type == "dinov2":
        return transformers.Dinov2Model
    return transformers.AutoModel


class HFVisionEncoder(Encoder):
    """A Hugging Face vision model's pooled image features.

    Pooling by family: SigLIP → ``get_image_features`` (the attention-pool head), CLIP →
    ``get_image_features`` (projected pooled output), DINOv2 → CLS token of the last hidden
    state; anything else → ``get_image_features`` if the model has it, else ``pooler_output``,
    else the first token. Preprocessing follows the model's ``preprocessor_config.json``.

    Parameters
    ----------
    ref : str
        Model folder or Hugging Face id (read from the local HF cache; never downloaded unless
        ``HF_HUB_OFFLINE=0``).
    trust_remote_code : bool
        Passed to transformers only when True.
    dtype : {"float32", "float16", "bfloat16"}
    device : str
    """

    def __init__(self, ref: str, *, trust_remote_code: bool = False, dtype: str = "float32",
                 device: str = "cpu") -> None:
        import torch

        if not ref:
            raise UsageError("hf: needs a model folder or Hugging Face id, e.g. hf:facebook/dinov2-large")
        if dtype not in ("float32", "float16", "bfloat16"):
            raise UsageError(f"unknown dtype {dtype!r}; valid choices: float32, float16, bfloat16")
        offline = hub_offline()
        config_file = locate_file(ref, "config.json")
        if config_file is None:
            where = "folder" if is_local_ref(ref) else "Hugging Face cache"
            raise WeightsUnavailableError(MSG_MISSING.format(ref=ref, where=where))
        model_type = json.loads(config_file.read_text()).get("model_type", "")
        processor_file = locate_file(ref, PREPROCESSOR_FILE)
        if processor_file is None:
            raise InputError(f"hf:{ref}: no {PREPROCESSOR_FILE}, so its image preprocessing is unknown")
        self.preprocessing = preprocessing_from_config(
            json.loads(processor_file.read_text()), source=f"hf:{ref} {PREPROCESSOR_FILE}"
        )
        remote = {"trust_remote_code": True} if trust_remote_code is True else {}
        cls = _model_class(model_type)
        try:
            model = cls.from_pretrained(ref, dtype=getattr(torch, dtype), local_files_only=offline, **remote)
        except (OSError, ImportError) as err:
            raise WeightsUnavailableError(f"hf:{ref}: cannot load the model ({one_line(err)})") from None
        except (ValueError, KeyError, RuntimeError) as err:
            raise InputError(f"hf:{ref}: cannot build the model ({one_line(err)})") from None
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.model_type = model_type
        self.pooling = POOLING.get(model_type, "auto")
        self.spec = f"{SCHEME}:{ref}"
        size = self.preprocessing.output_size or _hw(getattr(self._vision_config(), "image_size", 224))
        self.image_size = size
        with torch.inference_mode():
            probe = torch.zeros(1, *size, 3, dtype=torch.uint8)
            self.dim = int(self._forward(probe).shape[-1])

    def _vision_config(self):
        config = self.model.config
        return getattr(config, "vision_config", None) or config

    def _modules(self) -> list:
        return [self.model]

    def _weights(self) -> dict:
        # Only the image path determines features; a CLIP/SigLIP text tower would only slow hashing.
        state = self.model.state_dict()
        if self.model_type in ("siglip", "clip"):
            state = {k: v for k, v in state.items() if not k.startswith(("text_model.", "text_projection"))}
        return dict(state)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        pixels = preprocess_images(batch, self.preprocessing).to(self.device, self.model.dtype)
        if self.pooling == "pooler":
            return self.model(pixel_values=pixels).pooler_output.float().cpu()
        if self.pooling == "cls":
            return self.model(pixel_values=pixels).last_hidden_state[:, 0].float().cpu()
        if self.pooling == "image_features" or hasattr(self.model, "get_image_features"):
            out = self.model.get_image_features(pixel_values=pixels)
            out = out if hasattr(out, "shape") else out.pooler_output
            return out.float().cpu()
        out = self.model(pixel_values=pixels)
        pooled = getattr(out, "pooler_output", None)
        if pooled is None or pooled.ndim != 2:
            pooled = out.last_hidden_state[:, 0]
        return pooled.float().cpu()


def hf_encoder(rest: str, *, weights: str | Path | None = None, trust_remote_code: bool = False) -> HFVisionEncoder:
    """Registry factory for the ``hf:`` scheme; ``weights`` (a model folder) may replace the id."""
    ref = str(weights) if weights is not None and not rest else rest
    if weights is not None and rest:
        raise UsageError(f"give the hf model either in the spec or as weights=, not both: hf:{rest}")
    return HFVisionEncoder(ref, trust_remote_code=trust_remote_code)
