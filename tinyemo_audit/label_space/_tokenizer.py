"""Thin adapters giving a `tokenizers.Tokenizer` and a transformers tokenizer one small interface."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

# Byte-level BPE (GPT-2, SmolLM2) and SentencePiece (Llama) mark a word start with these.
WORD_START_MARKERS = ("Ġ", "▁")


class TokenizerAdapter(Protocol):
    """What a token-embedding label space needs from a tokenizer."""

    bos_token_id: int | None

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens."""

    def vocab(self) -> dict[str, int]:
        """Token string -> id."""

    def digest(self) -> str:
        """A sha256 hex digest that changes whenever tokenization can change."""


class FastTokenizer:
    """Adapter over a bare ``tokenizers.Tokenizer`` (loads in well under a second)."""

    def __init__(self, tokenizer: Any, bos_token_id: int | None):
        self.tokenizer = tokenizer
        self.bos_token_id = bos_token_id

    @classmethod
    def from_file(cls, path, bos_token_id: int | None) -> FastTokenizer:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)), bos_token_id)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab(with_added_tokens=True)

    def digest(self) -> str:
        return hashlib.sha256(self.tokenizer.to_str().encode("utf-8")).hexdigest()


class HFTokenizer:
    """Adapter over any transformers tokenizer (fast or slow)."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.bos_token_id = tokenizer.bos_token_id

    def encode(self, texts: list[str]) -> list[list[int]]:
        return list(self.tokenizer(list(texts), add_special_tokens=False)["input_ids"])

    def vocab(self) -> dict[str, int]:
        return dict(self.tokenizer.get_vocab())

    def digest(self) -> str:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:
            text = backend.to_str()
        else:
            text = json.dumps(sorted(self.vocab().items()), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def adds_prefix_space(tokenizer: TokenizerAdapter) -> bool:
    """Whether the tokenizer already marks the first word as a word start (SentencePiece style).

    Byte-level BPE does not (``"angry"`` splits into ``ang`` + ``ry``), so the caller must prepend a
    space; Llama's SentencePiece does, and a second space would add a stray ``▁`` token.
    """
    ids = tokenizer.encode(["a"])[0]
    if not ids:
        return False
    by_id = {i: t for t, i in tokenizer.vocab().items()}
    return by_id.get(ids[0], "").startswith(WORD_START_MARKERS)
