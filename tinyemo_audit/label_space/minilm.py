"""``minilm``: labels embedded by the full MiniLM sentence encoder (a text-encoder baseline space)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .._io import atomic_directory, atomic_write_json
from ..errors import UsageError
from ..paths import cache_folder
from ..text_encoder import MINILM_DIM, minilm_dir, minilm_text_encoder
from .base import VOCABULARY_MIN_LENGTH, LabelSpace, check_texts

if TYPE_CHECKING:
    import torch

NAME = "minilm"
WEIGHTS_FILE = "model.safetensors"
VOCABULARY_META = "meta.json"


def _table_sha256(table: torch.Tensor) -> str:
    return hashlib.sha256(table.contiguous().numpy().tobytes()).hexdigest()


def _read_vocabulary(folder: Path) -> tuple[list[str], torch.Tensor] | None:
    """Words and embeddings of an intact vocabulary cache, or None when absent or damaged."""
    import torch
    from safetensors.torch import load_file

    try:
        meta = json.loads((folder / VOCABULARY_META).read_text(encoding="utf-8"))
        words = json.loads((folder / "words.json").read_text(encoding="utf-8"))
        table = load_file(str(folder / "embeddings.safetensors"))["embeddings"]
    except Exception:  # noqa: BLE001 - absent, truncated or garbled files all mean "rebuild"
        return None
    if not isinstance(meta, dict) or not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        return None
    if table.dtype != torch.float32 or tuple(table.shape) != (len(words), MINILM_DIM) or meta.get("n") != len(words):
        return None
    if not bool(torch.isfinite(table).all()) or meta.get("sha256") != _table_sha256(table):
        return None
    return words, table


def is_wordpiece_word(token: str) -> bool:
    """A whole-word WordPiece token (no ``##`` continuation) of at least 3 ASCII letters."""
    return len(token) >= VOCABULARY_MIN_LENGTH and token.isascii() and token.isalpha()


class MiniLMLabelSpace(LabelSpace):
    """Label prompts embedded by all-MiniLM-L6-v2 (mean pooling over its last layer, L2 norm).

    Unlike the token-embedding spaces, the transformer runs. The vocabulary is every whole-word
    WordPiece token of ≥ 3 letters (about 21 000), embedded once and cached as safetensors.

    Parameters
    ----------
    vocabulary_limit : int, optional
        Keep only the first ``vocabulary_limit`` words (by WordPiece id) — for tests and quick looks.
    """

    spec = NAME
    dim = MINILM_DIM

    def __init__(self, *, vocabulary_limit: int | None = None):
        if vocabulary_limit is not None and vocabulary_limit < 1:
            raise UsageError("vocabulary_limit must be a positive integer")
        self.vocabulary_limit = vocabulary_limit
        self._vocabulary = None
        self._fingerprint = None

    @property
    def encoder(self):
        """The shared frozen MiniLM encoder (loaded on first use)."""
        return minilm_text_encoder()

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """Sentence embeddings of ``texts``: float32 ``[len(texts), 384]``, L2-normalised."""
        import torch

        return torch.from_numpy(self.encoder.encode(check_texts(texts)))

    def _vocabulary_folder(self) -> Path:
        suffix = "" if self.vocabulary_limit is None else f"-{self.vocabulary_limit}"
        return cache_folder("label_space") / NAME / f"vocabulary{suffix}-{self.fingerprint()}"

    def vocabulary(self) -> tuple[list[str], torch.Tensor]:
        """Whole-word WordPiece tokens and their MiniLM sentence embeddings (cached on disk).

        The cache is checked on read (words, shape, dtype, finiteness, sha256 of the table); a
        damaged one is rebuilt.
        """
        if self._vocabulary is None:
            folder = self._vocabulary_folder()
            cached = _read_vocabulary(folder)
            if cached is None:
                from safetensors.torch import save_file

                vocab = self.encoder.tokenizer.get_vocab()
                words = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if is_wordpiece_word(t)]
                words = words[: self.vocabulary_limit]
                embeddings = self.embed_texts(words).contiguous()
                with atomic_directory(folder) as tmp:
                    atomic_write_json(tmp / "words.json", words, indent=None)
                    save_file({"embeddings": embeddings}, str(tmp / "embeddings.safetensors"))
                    atomic_write_json(tmp / VOCABULARY_META, {
                        "n": len(words), "dim": MINILM_DIM, "sha256": _table_sha256(embeddings),
                    })
                cached = words, embeddings
            self._vocabulary = cached
        words, embeddings = self._vocabulary
        return list(words), embeddings

    def fingerprint(self) -> str:
        """sha256 (16 hex) of the MiniLM weights file."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            with open(minilm_dir() / WEIGHTS_FILE, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(chunk)
            self._fingerprint = hashlib.sha256(f"minilm:{digest.hexdigest()}".encode()).hexdigest()[:16]
        return self._fingerprint


def load_minilm() -> MiniLMLabelSpace:
    """The ``minilm`` label space (checks that the offline weights are installed)."""
    minilm_dir()
    return MiniLMLabelSpace()
