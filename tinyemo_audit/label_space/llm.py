"""``llm:<hf-id-or-path>``: any causal LM's input-embedding table as a TinyEmo label space."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError, UsageError, WeightsUnavailableError
from .._hub import hub_offline, is_local_ref, locate_file, one_line
from ._tokenizer import HFTokenizer
from .base import TokenEmbeddingSpace, torch_dtype

SCHEME = "llm"
# Input-embedding tensor names of common causal LMs (Llama/Mistral/Qwen/Phi-3, GPT-2, OpenELM,
# GPT-NeoX, OPT, old Phi), tried in order before falling back on suffixes.
EMBEDDING_KEYS = (
    "model.embed_tokens.weight",
    "transformer.wte.weight",
    "transformer.token_embeddings.weight",
    "gpt_neox.embed_in.weight",
    "model.decoder.embed_tokens.weight",
    "transformer.embd.wte.weight",
    "embed_tokens.weight",
)
EMBEDDING_SUFFIXES = ("embed_tokens.weight", "wte.weight", "token_embeddings.weight", "embed_in.weight")


def _pick_key(shapes: dict[str, tuple[int, ...]], vocab_size: int | None) -> str | None:
    matrices = {k: s for k, s in shapes.items() if len(s) == 2}
    for key in EMBEDDING_KEYS:
        if key in matrices:
            return key
    hits = [k for k in sorted(matrices) if k.endswith(EMBEDDING_SUFFIXES)]
    if vocab_size:
        hits = [k for k in hits if matrices[k][0] == vocab_size] or hits
    return hits[0] if hits else None


def _safetensors_shapes(files: list[Path]) -> dict[str, tuple[Path, tuple[int, ...]]]:
    from safetensors import safe_open

    found = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                found[key] = (file, tuple(handle.get_slice(key).get_shape()))
    return found


def read_embedding_table(ref: str, vocab_size: int | None):
    """Read only the input-embedding tensor from ``ref``'s safetensors, or None if not possible.

    Raises
    ------
    InputError
        When a safetensors file or its index is damaged (one line naming the file).
    """
    try:
        return _read_embedding_table(ref, vocab_size)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - safetensors and json raise several types for damaged files
        raise InputError(f"llm:{ref}: cannot read its safetensors weights ({one_line(err)})") from None


def check_embedding_table(table, ref: str):
    """``table`` if it is a finite floating-point 2-D tensor, else a one-line InputError."""
    import torch

    if not isinstance(table, torch.Tensor) or table.ndim != 2 or not table.is_floating_point():
        found = f"{table.dtype} {tuple(table.shape)}" if isinstance(table, torch.Tensor) else type(table).__name__
        raise InputError(f"llm:{ref}: the input-embedding table is {found}, expected a 2-D floating-point tensor")
    if not bool(torch.isfinite(table).all()):
        raise InputError(f"llm:{ref}: the input-embedding table contains NaN or infinite values")
    return table


def _read_embedding_table(ref: str, vocab_size: int | None):
    from safetensors import safe_open

    index = locate_file(ref, "model.safetensors.index.json")
    if index is not None:
        weight_map = json.loads(index.read_text())["weight_map"]
        # The index has no shapes; open only the shard(s) holding candidate keys.
        candidates = [k for k in weight_map if k in EMBEDDING_KEYS or k.endswith(EMBEDDING_SUFFIXES)]
        shards = sorted({weight_map[k] for k in candidates})
        files = [locate_file(ref, shard) for shard in shards]
        if any(f is None for f in files):
            return None
        found = _safetensors_shapes(files)
    else:
        single = locate_file(ref, "model.safetensors")
        if single is None:
            return None
        found = _safetensors_shapes([single])
    key = _pick_key({k: shape for k, (_, shape) in found.items()}, vocab_size)
    if key is None:
        return None
    with safe_open(str(found[key][0]), framework="pt") as handle:
        return handle.get_tensor(key)


def _load_whole_model(ref: str, dtype, remote: dict):
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            ref, dtype=dtype, local_files_only=hub_offline(), **remote
        )
    except (OSError, ValueError, ImportError) as err:
        raise WeightsUnavailableError(f"llm:{ref}: cannot load the model ({one_line(err)})") from None
    return model.get_input_embeddings().weight.detach()


def load_llm(
    ref: str,
    *,
    trust_remote_code: bool = False,
    tokenizer: str | None = None,
    bos: bool = False,
    dtype: str = "float32",
) -> TokenEmbeddingSpace:
    """The label space of any causal LM: its input-embedding table plus its tokenizer.

    Parameters
    ----------
    ref : str
        A local model folder or a Hugging Face id (used from the local HF cache unless
        ``HF_HUB_OFFLINE=0``).
    trust_remote_code : bool
        Passed to transformers only when True (never by default).
    tokenizer : str, optional
        Tokenizer folder or id to use instead of the model's own (OpenELM uses Llama-2's).
    bos : bool
        Add the BOS embedding to every label's mean.
    dtype : {"float32", "float16", "bfloat16"}
        In-memory dtype of the table.

    Raises
    ------
    WeightsUnavailableError
        If the model or tokenizer is not on this machine.
    """
    if not ref:
        raise UsageError("llm: needs a model folder or Hugging Face id, e.g. llm:HuggingFaceTB/SmolLM2-135M")
    target = torch_dtype(dtype)
    remote = {"trust_remote_code": True} if trust_remote_code is True else {}
    config_file = locate_file(ref, "config.json")
    if config_file is None:
        where = "folder" if is_local_ref(ref) else "Hugging Face cache (HF_HUB_OFFLINE=1)"
        raise WeightsUnavailableError(f"llm:{ref}: no model config.json in the {where}")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"llm:{ref}: {config_file.name} is not valid JSON ({one_line(err)})") from None
    if not isinstance(config, dict):
        raise InputError(f"llm:{ref}: {config_file.name} is not a JSON object")
    vocab_size = config.get("vocab_size") or (config.get("text_config") or {}).get("vocab_size")
    table = read_embedding_table(ref, vocab_size)
    if table is None:
        table = _load_whole_model(ref, target, remote)
    table = check_embedding_table(table, ref).to(target)

    from transformers import AutoTokenizer

    source = tokenizer or ref
    try:
        hf_tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=hub_offline(), **remote)
    except (OSError, ValueError, ImportError) as err:
        raise WeightsUnavailableError(f"llm:{ref}: cannot load tokenizer {source!r} ({one_line(err)})") from None
    if len(hf_tokenizer) > table.shape[0]:
        raise InputError(
            f"llm:{ref}: tokenizer {source!r} has {len(hf_tokenizer)} tokens but the embedding "
            f"table only {table.shape[0]} rows"
        )
    return TokenEmbeddingSpace(f"{SCHEME}:{ref}", table, HFTokenizer(hf_tokenizer), bos=bos)
