"""Attribute lexicons over generated text: which texts name an attribute, and the texts with those words masked.

A lexicon (settings ``reasoning.lexicons``, schema :class:`~tinyemo_audit.schema.reasoning_settings.Lexicon`)
is a list of terms. A term matches whole words, case-insensitively: ``pale`` matches "Pale" and
"pale," but not "paler" or "impale"; a hyphen counts as part of a word, so ``skin`` does not match
inside "dark-skinned" (which is a term of its own); the words of a multi-word term match across
any run of whitespace. Masking replaces every match, longest term first, with :data:`MASK`, so that
a masked text holds no term of the lexicon (tested as a property). The mask holds no word
character: a term must hold one (the schema's rule), so the mask can never match, and the
leakage classifier, which reads words, does not see where words were masked (a mask token it
could count would leak *that* an attribute was named, which the mentions probe reports instead).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

MASK = "[\u2026]"
# A term starts and ends at a word edge; letters, digits, "_", "-" and "'" continue a word.
_BEFORE, _AFTER = r"(?<![\w\-'])", r"(?![\w\-'])"


@lru_cache(maxsize=64)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted({" ".join(t.split()) for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    if not words:
        return re.compile(r"(?!x)x")  # matches nothing
    body = "|".join(r"\s+".join(re.escape(part) for part in word.split(" ")) for word in words)
    return re.compile(f"{_BEFORE}(?:{body}){_AFTER}", re.IGNORECASE)


def lexicon_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """The compiled matcher of ``terms`` (see the module docstring for the matching rule)."""
    return _pattern(tuple(terms))


def mentions(texts: Sequence[str], terms: Iterable[str]) -> np.ndarray:
    """Whether each text names any of ``terms``: bool array of ``len(texts)``.

    Examples
    --------
    >>> mentions(["A pale face.", "Impaled.", "dark-skinned"], ["pale", "dark-skinned"]).tolist()
    [True, False, True]
    """
    pattern = lexicon_pattern(terms)
    return np.fromiter((pattern.search(t) is not None for t in texts), dtype=bool, count=len(texts))


def matched_terms(text: str, terms: Iterable[str]) -> list[str]:
    """The terms ``text`` names, lowercased, in order of first appearance, each once."""
    return list(dict.fromkeys(" ".join(m.group(0).lower().split()) for m in lexicon_pattern(terms).finditer(text)))


def mask(texts: Sequence[str], terms: Iterable[str]) -> list[str]:
    """``texts`` with every match of ``terms`` replaced by :data:`MASK`.

    Examples
    --------
    >>> mask(["The Dark  skin looks tense."], ["dark skin", "skin"])
    ['The […] looks tense.']
    """
    pattern = lexicon_pattern(terms)
    return [pattern.sub(MASK, t) for t in texts]
