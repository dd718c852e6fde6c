"""What the reasoning probes read: per twin set, the texts the MM-LLM wrote for every (identity, group) cell.

The probes never see a model. :class:`TwinTexts` holds, for one attribute's twin set, the label
the model stated in free mode, the free-mode text, the conditional-mode text (the same hint on
every twin of an identity, so only the image differs) and, where known, the reference reasoning
of the same images (what an annotator wrote: the leakage baseline). The runner hook
(:mod:`._collect`) builds them from the bundle through the reasoning package's ``explain_twins``;
tests build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError

MSG_SHAPE = "reasoning texts of {attribute}: {what} has shape {got}, expected {want} (identities x groups)"
MSG_LABEL = "reasoning texts of {attribute}: stated label {label!r} is not one of the classes"


@dataclass
class TwinTexts:
    """The MM-LLM's texts about one twin set, cell ``[i, j]`` = identity ``i`` at group ``values[j]``.

    Attributes
    ----------
    attribute : str
        The protected attribute that differs between the twins of an identity.
    values : tuple of str
        Its groups, in the twin set's order.
    classes : tuple of str
        The emotions the model may state.
    ids : ndarray of str, shape (n,)
        Identity ids.
    labels : ndarray of int, shape (n,)
        True expression of each identity (index into ``classes``; negative = unknown).
    stated : ndarray of object, shape (n, k)
        Free mode: the label the text states (a class name), or None where none parses.
    free : ndarray of object, shape (n, k)
        Free mode: the generated text.
    conditional : ndarray of object, shape (n, k)
        Conditional mode: the generated text (every twin of an identity had the same hint).
    hints : ndarray of object, shape (n,) or None
        The hint of each identity in conditional mode.
    reference : ndarray of object, shape (n, k) or None
        Reference reasoning of the same images (None: not available, e.g. data without drawn cues).
    """

    attribute: str
    values: tuple[str, ...]
    classes: tuple[str, ...]
    ids: np.ndarray
    labels: np.ndarray
    stated: np.ndarray
    free: np.ndarray
    conditional: np.ndarray
    hints: np.ndarray | None = None
    reference: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.values, self.classes = tuple(self.values), tuple(self.classes)
        self.ids = np.asarray(self.ids).astype(str)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        want = (len(self.ids), len(self.values))
        for name in ("stated", "free", "conditional", "reference"):
            grid = getattr(self, name)
            if grid is None:
                continue
            grid = _object_grid(grid)
            if grid.shape != want:
                raise InputError(MSG_SHAPE.format(attribute=self.attribute, what=name, got=grid.shape, want=want))
            setattr(self, name, grid)
        if len(self.labels) != len(self.ids):
            raise InputError(MSG_SHAPE.format(attribute=self.attribute, what="labels", got=self.labels.shape,
                                              want=(len(self.ids),)))
        if self.hints is not None:
            self.hints = _object_grid(self.hints).reshape(-1)
        known = set(self.classes)
        for label in self.stated.ravel():
            if label is not None and label not in known:
                raise InputError(MSG_LABEL.format(attribute=self.attribute, label=str(label)[:40]))
        for name in ("free", "conditional", "reference"):
            grid = getattr(self, name)
            if grid is not None:
                grid[:] = [[_text(t) for t in row] for row in grid]

    def __len__(self) -> int:
        return len(self.ids)

    def expression_rows(self) -> list[tuple[str, np.ndarray]]:
        """The comparisons a probe makes: ``("*", every row)`` and ``(expression, its rows)`` per expression present.

        When every identity has the same expression, ``"*"`` would repeat that expression's
        comparison (and its test), so it is left out.
        """
        cells = [(c, np.flatnonzero(self.labels == k)) for k, c in enumerate(self.classes)]
        cells = [(c, rows) for c, rows in cells if len(rows)]
        every = ("*", np.arange(len(self)))
        return cells if len(cells) == 1 and len(cells[0][1]) == len(self) else [every] + cells

    def true_class(self, row: int) -> str | None:
        """The true expression of identity ``row``, or None where unknown."""
        k = int(self.labels[row])
        return self.classes[k] if 0 <= k < len(self.classes) else None


def _object_grid(values: Any) -> np.ndarray:
    out = np.empty(np.shape(values) if not isinstance(values, np.ndarray) else values.shape, dtype=object)
    out[...] = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    return out


def _text(value: Any) -> str:
    """A generated text as a string (a failed generation, None, reads as the empty text)."""
    return "" if value is None else str(value)
