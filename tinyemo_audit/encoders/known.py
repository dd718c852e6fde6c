"""The catalogue of known encoder specs (resources/encoders.yaml) and whether their weights are here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError, UnknownNameError
from ..paths import RESOURCES_DIR

ENCODERS_FILE = RESOURCES_DIR / "encoders.yaml"
OPEN_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
REQUIRED_KEYS = ("spec", "dim", "image_size")


@dataclass(frozen=True)
class KnownEncoder:
    """One catalogue entry: a short name for a spec, with its feature dimension and input size."""

    name: str
    spec: str
    dim: int
    image_size: int
    preprocessing: str = ""
    notes: str = ""


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, KnownEncoder]:
    import yaml

    raw = yaml.safe_load(ENCODERS_FILE.read_text(encoding="utf-8")) or {}
    entries = {}
    for name, fields in (raw.get("encoders") or {}).items():
        missing = [k for k in REQUIRED_KEYS if k not in (fields or {})]
        if missing:
            raise InputError(f"{ENCODERS_FILE}: encoder {name!r} lacks {', '.join(missing)}")
        entries[name] = KnownEncoder(name=name, **fields)
    return entries


def known_encoders() -> list[KnownEncoder]:
    """Every catalogue entry, in file order."""
    return list(_catalogue().values())


def get_known_encoder(name_or_spec: str) -> KnownEncoder:
    """The entry with this name or spec (UnknownNameError listing the names otherwise)."""
    for entry in _catalogue().values():
        if name_or_spec in (entry.name, entry.spec):
            return entry
    raise UnknownNameError("known encoder", name_or_spec, _catalogue())


def _open_clip_available(rest: str) -> bool:
    arch, _, source = rest.partition("/")
    if not source:
        return False
    if Path(source).expanduser().is_file():
        return True
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(arch, source) or {}
    repo = (cfg.get("hf_hub") or "").strip("/")
    if repo and any(isinstance(try_to_load_from_cache(repo, f), str) for f in OPEN_CLIP_FILES):
        return True
    url = cfg.get("url") or ""
    # open_clip's own download folder for URL weights (the OpenAI .pt files).
    return bool(url) and (Path.home() / ".cache" / "clip" / Path(url).name).is_file()


def weights_available(spec: str) -> bool:
    """Whether the weights ``spec`` needs are on this machine (never downloads, never loads them).

    ``open_clip:`` looks for a checkpoint path or the pretrained tag's files in the Hugging Face
    cache; ``hf:`` for the model's config and weights in a folder or the HF cache. Random-weight
    specs count as available; other specs (e.g. ``faces-mini``, which needs a bundle's file) not.
    """
    scheme, _, rest = spec.partition(":")
    if scheme == "open_clip":
        source = rest.partition("/")[2].lower()
        return source in ("random", "none") or _open_clip_available(rest)
    if scheme == "hf":
        from .hf import hf_weights_available

        return hf_weights_available(rest)
    return False


def list_known_encoders(*, check_weights: bool = True) -> list[dict[str, Any]]:
    """The catalogue as rows for a table or JSON, each with an ``available`` flag.

    Parameters
    ----------
    check_weights : bool
        Look for the weights on this machine (folders and caches only); otherwise ``available``
        is None.

    Returns
    -------
    list of dict
        ``name, spec, dim, image_size, preprocessing, notes, available``.
    """
    return [
        {**asdict(entry), "available": weights_available(entry.spec) if check_weights else None}
        for entry in known_encoders()
    ]
