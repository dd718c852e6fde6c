"""``minilm``: labels embedded by the full MiniLM sentence encoder (a text-encoder baseline space)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .._io import atomic_directory
from ..errors import UsageError
from ..paths import cache_dir
from ..text_encoder import MINILM_DIM, minilm_dir, minilm_text_encoder
from .base import VOCABULARY_MIN_LENGTH, LabelSpace, check_texts

if TYPE_CHECKING:
    import torch

NAME = "minilm"
WEIGHTS_FILE = "model.safetensors"


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
        return cache_dir() / "label_space" / NAME / f"vocabulary{suffix}-{self.fingerprint()}"

    def vocabulary(self) -> tuple[list[str], torch.Tensor]:
        """Whole-word WordPiece tokens and their MiniLM sentence embeddings (cached on disk)."""
        if self._vocabulary is None:
            from safetensors.torch import load_file, save_file

            folder = self._vocabulary_folder()
            if not (folder / "embeddings.safetensors").is_file():
                vocab = self.encoder.tokenizer.get_vocab()
                words = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if is_wordpiece_word(t)]
                words = words[: self.vocabulary_limit]
                embeddings = self.embed_texts(words)
                with atomic_directory(folder) as tmp:
                    (tmp / "words.json").write_text(json.dumps(words))
                    save_file({"embeddings": embeddings.contiguous()}, str(tmp / "embeddings.safetensors"))
            words = json.loads((folder / "words.json").read_text())
            self._vocabulary = (words, load_file(str(folder / "embeddings.safetensors"))["embeddings"])
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
