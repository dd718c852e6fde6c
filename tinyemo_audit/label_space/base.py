"""The LabelSpace interface and TinyEmo's token-embedding label space (mean-pooled input embeddings)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import InputError, UsageError
from ._tokenizer import WORD_START_MARKERS, TokenizerAdapter, adds_prefix_space

if TYPE_CHECKING:
    import torch

DTYPES = ("float32", "float16", "bfloat16")
VOCABULARY_MIN_LENGTH = 3
EMPTY_TEXT_MESSAGE = "label texts must be non-empty strings"


class LabelSpace:
    """A space that label prompts (and a naming vocabulary) are embedded into.

    Subclasses set :attr:`spec` and :attr:`dim` and implement the three methods.
    """

    spec: str
    dim: int

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """Embed texts; returns float32 ``[len(texts), dim]``, rows L2-normalised."""
        raise NotImplementedError

    def vocabulary(self) -> tuple[list[str], torch.Tensor]:
        """Whole-word alphabetic tokens and their L2-normalised embeddings ``[V', dim]``."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A short stable id of everything that determines the embeddings (for caches)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, dim={self.dim})"


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` stripped, raising UsageError on a non-string or blank entry."""
    if isinstance(texts, str):
        raise UsageError("embed_texts takes a list of strings, not one string")
    cleaned = [t.strip() if isinstance(t, str) else None for t in texts]
    if any(not t for t in cleaned):
        raise UsageError(EMPTY_TEXT_MESSAGE)
    return cleaned


def torch_dtype(name: str):
    """Map a dtype name to a torch dtype (UsageError listing the choices otherwise)."""
    import torch

    if name not in DTYPES:
        raise UsageError(f"unknown dtype {name!r}; valid choices: {', '.join(DTYPES)}")
    return getattr(torch, name)


def is_vocabulary_token(token: str) -> bool:
    """A whole-word token: word-start marker, then at least 3 ASCII letters."""
    rest = token[1:]
    return (
        token.startswith(WORD_START_MARKERS)
        and len(rest) >= VOCABULARY_MIN_LENGTH
        and rest.isascii()
        and rest.isalpha()
    )


def vocabulary_ids(vocab: dict[str, int], rows: int) -> tuple[list[str], list[int]]:
    """Words (marker stripped) and ids of the vocabulary tokens that have a table row, by id."""
    pairs = sorted((i, t[1:]) for t, i in vocab.items() if i < rows and is_vocabulary_token(t))
    return [w for _, w in pairs], [i for i, _ in pairs]


class TokenEmbeddingSpace(LabelSpace):
    """Labels as TinyEmo embeds them: mean of the LLM's input token embeddings, L2-normalised.

    No transformer layer runs. Each text is tokenized with a leading space (byte-level BPE has
    single tokens for `` angry`` but splits ``angry``); with ``bos`` the BOS row joins the mean.

    Parameters
    ----------
    spec : str
        The spec this space was resolved from.
    table : torch.Tensor
        Input-embedding table ``[rows, dim]``.
    tokenizer : TokenizerAdapter
        Tokenizer whose ids index ``table``.
    bos : bool
        Prepend the BOS token embedding to every text (TinyEmo did; off by default).
    table_sha256 : str, optional
        Digest of the table if already known (saves hashing it for :meth:`fingerprint`).
    vocabulary : tuple of (list of str, list of int), optional
        Precomputed vocabulary words and ids (saves a scan of the tokenizer vocabulary).
    """

    def __init__(
        self,
        spec: str,
        table: torch.Tensor,
        tokenizer: TokenizerAdapter,
        *,
        bos: bool = False,
        table_sha256: str | None = None,
        vocabulary: tuple[list[str], list[int]] | None = None,
    ):
        if table.ndim != 2:
            raise InputError(f"{spec}: input-embedding table must be 2-D, got {tuple(table.shape)}")
        if bos and tokenizer.bos_token_id is None:
            raise UsageError(f"{spec}: bos=True but the tokenizer has no BOS token")
        self.spec = spec
        self.table = table
        self.tokenizer = tokenizer
        self.bos = bool(bos)
        self.dim = int(table.shape[1])
        self.leading_space = not adds_prefix_space(tokenizer)
        self._table_sha256 = table_sha256
        self._vocabulary_ids = vocabulary
        self._vocabulary = None
        self._fingerprint = None

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text as :meth:`embed_texts` pools them (leading space, no BOS)."""
        cleaned = check_texts(texts)
        if self.leading_space:
            cleaned = [" " + t for t in cleaned]
        return self.tokenizer.encode(cleaned)

    def _pool(self, ids: list[list[int]]) -> torch.Tensor:
        import torch

        lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
        flat = torch.tensor([i for x in ids for i in x], dtype=torch.long)
        if flat.numel() and int(flat.max()) >= self.table.shape[0]:
            raise InputError(
                f"{self.spec}: token id {int(flat.max())} is outside the embedding table "
                f"({self.table.shape[0]} rows); tokenizer and weights do not match"
            )
        segments = torch.repeat_interleave(torch.arange(len(ids)), lengths)
        sums = torch.zeros(len(ids), self.dim, dtype=torch.float32)
        sums.index_add_(0, segments, self.table[flat].float())
        counts = lengths.to(torch.float32)
        if self.bos:
            sums += self.table[self.tokenizer.bos_token_id].float()
            counts = counts + 1
        means = sums / counts.clamp_min(1).unsqueeze(1)
        return torch.nn.functional.normalize(means, dim=1)

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """Mean-pooled, L2-normalised input embeddings of ``texts``.

        Parameters
        ----------
        texts : list of str
            Label words or prompts; a leading space is added where the tokenizer needs one.

        Returns
        -------
        torch.Tensor
            float32 ``[len(texts), dim]``.
        """
        ids = self.token_ids(texts)
        if any(not x for x in ids):
            raise InputError(f"{self.spec}: a label text produced no tokens")
        return self._pool(ids)

    def vocabulary(self) -> tuple[list[str], torch.Tensor]:
        """Whole-word tokens (marker stripped, ≥ 3 ASCII letters) and their embeddings.

        Each word is embedded as :meth:`embed_texts` embeds a one-token text (so with ``bos``
        the BOS row joins the mean), which keeps words comparable with labels.
        """
        if self._vocabulary is None:
            if self._vocabulary_ids is None:
                self._vocabulary_ids = vocabulary_ids(self.tokenizer.vocab(), self.table.shape[0])
            import torch

            words, ids = self._vocabulary_ids
            rows = self.table[torch.tensor(ids, dtype=torch.long)].float()
            if self.bos:
                # The mean of two rows points the same way as their sum.
                rows = rows + self.table[self.tokenizer.bos_token_id].float()
            self._vocabulary = (list(words), torch.nn.functional.normalize(rows, dim=1))
        words, embeddings = self._vocabulary
        return list(words), embeddings

    def table_sha256(self) -> str:
        """sha256 of the table's bytes (computed once)."""
        if self._table_sha256 is None:
            data = self.table.detach().contiguous().cpu().view(-1).view(dtype=_byte_dtype())
            self._table_sha256 = hashlib.sha256(data.numpy().tobytes()).hexdigest()
        return self._table_sha256

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            parts = {
                "kind": "token-embedding",
                "table": self.table_sha256(),
                "dtype": str(self.table.dtype),
                "tokenizer": self.tokenizer.digest(),
                "bos": self.bos,
                "leading_space": self.leading_space,
            }
            blob = json.dumps(parts, sort_keys=True).encode("utf-8")
            self._fingerprint = hashlib.sha256(blob).hexdigest()[:16]
        return self._fingerprint


def _byte_dtype():
    import torch

    return torch.uint8
