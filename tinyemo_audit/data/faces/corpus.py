"""The faces corpus: splits with annotation bias and captions, and counterfactual twin sets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import UnknownNameError, UsageError
from ..dataset import Dataset, TwinSet
from . import cache as _cache
from .attributes import (
    ATTRIBUTE_VALUES,
    CAPTION_TEMPLATES,
    EXPRESSION_ADJECTIVES,
    EXPRESSIONS,
    PERSON_NOUNS,
    PROTECTED_ATTRIBUTES,
    SKIN_GROUP_TWIN_TONE,
    SKIN_WORDS,
)
from .params import _SPLIT_CODE, ITEM_STREAM, SPLITS, TWIN_STREAM, attribute_table, sample_parameters
from .render import render_rows

NAME = "faces"
_BIAS_STREAM, _CAPTION_STREAM = 101, 102
AUDITED_ATTRIBUTES = ("skin_group", "gender", "age")
_TWIN_COLUMN = {"skin_tone": "skin_tone", "skin_group": "skin_tone", "gender": "gender", "age": "age"}


@dataclass(frozen=True)
class AnnotationBias:
    """Relabel a share of one cell's training labels, as biased annotators would.

    Among items with ``attributes[attribute] == value`` and true label ``from_label``, exactly
    ``round(rate * n_cell)`` items (chosen with the corpus seed) get ``to_label``. Applies to the
    train and val splits only; the test split always carries true labels.
    """

    attribute: str
    value: str
    from_label: str
    to_label: str
    rate: float

    def __post_init__(self) -> None:
        if self.attribute not in ATTRIBUTE_VALUES:
            raise UnknownNameError("annotation-bias attribute", self.attribute, ATTRIBUTE_VALUES)
        if self.value not in ATTRIBUTE_VALUES[self.attribute]:
            raise UnknownNameError(f"value of {self.attribute}", self.value, ATTRIBUTE_VALUES[self.attribute])
        for label in (self.from_label, self.to_label):
            if label not in EXPRESSIONS:
                raise UnknownNameError("expression label", label, EXPRESSIONS)
        if not isinstance(self.rate, (int, float)) or not 0.0 <= float(self.rate) <= 1.0:
            raise UsageError(f"annotation-bias rate must be a number in [0, 1], got {self.rate!r}")


@dataclass(frozen=True)
class FacesConfig:
    """Sizes, resolution, seed and training-label biases of the faces corpus."""

    n_train: int = 12000
    n_val: int = 2000
    n_test: int = 3500
    image_size: int = 64
    seed: int = 0
    biases: tuple[AnnotationBias, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "n_test", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise UsageError(f"FacesConfig.{name} must be a non-negative integer, got {value!r}")
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, (int, np.integer)) \
                or not 16 <= self.image_size <= 512:
            raise UsageError(f"FacesConfig.image_size must be an integer in [16, 512], got {self.image_size!r}")
        biases = tuple(self.biases)
        if not all(isinstance(b, AnnotationBias) for b in biases):
            raise UsageError("FacesConfig.biases must be AnnotationBias objects")
        object.__setattr__(self, "biases", biases)

    def split_size(self, split: str) -> int:
        """Number of items in ``split``."""
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}[_check_split(split)]


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise UnknownNameError("faces split", split, SPLITS)
    return split


def apply_annotation_biases(
    true_labels: np.ndarray, attributes: pd.DataFrame, biases: tuple[AnnotationBias, ...], *, seed: int, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Annotated labels and the mask of items a bias relabelled.

    Biases apply in order; an item relabelled by an earlier bias is not chosen again, so each
    bias changes exactly ``round(rate * n_cell)`` items while its cell has that many left.
    """
    labels = np.asarray(true_labels, dtype=np.int64).copy()
    flipped = np.zeros(len(labels), dtype=bool)
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], _BIAS_STREAM]))
    for bias in biases:
        cell = attributes[bias.attribute].to_numpy() == bias.value
        cell &= np.asarray(true_labels) == EXPRESSIONS.index(bias.from_label)
        k = int(round(bias.rate * int(cell.sum())))
        free = np.flatnonzero(cell & ~flipped)
        chosen = rng.choice(free, size=min(k, len(free)), replace=False)
        labels[chosen] = EXPRESSIONS.index(bias.to_label)
        flipped[chosen] = True
    return labels, flipped


def make_captions(
    true_labels: np.ndarray, intensity: np.ndarray, attributes: pd.DataFrame, *, seed: int, split: str
) -> list[str]:
    """One caption per face naming its true expression, age, gender presentation and skin."""
    n = len(true_labels)
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], _CAPTION_STREAM]))
    picks = rng.integers(0, 1 << 30, size=(n, 5))
    rows = zip(true_labels.tolist(), intensity.tolist(), attributes.to_dict("records"), picks.tolist())
    captions = []
    for label, level, attr, pick in rows:
        expression = EXPRESSIONS[label]
        words = EXPRESSION_ADJECTIVES[expression]
        adj = words[pick[0] % len(words)]
        if expression != "neutral" and level < 0.35:
            adj = f"slightly {adj}"
        nouns = PERSON_NOUNS[(attr["age"], attr["gender"])]
        skins = SKIN_WORDS[attr["skin_group"]]
        extra = ", wearing glasses" if attr["glasses"] == "yes" else ""
        if pick[3] % 2:
            hair = "grey" if attr["age"] == "older" else attr["hair_color"]
            extra += f", with {attr['hair_style']} {hair} hair"
        text = CAPTION_TEMPLATES[pick[4] % len(CAPTION_TEMPLATES)].format(
            adj=adj, person=nouns[pick[1] % len(nouns)], skin=skins[pick[2] % len(skins)], extra=extra
        )
        captions.append(re.sub(r"\ba (?=[aeiou])", "an ", text))
    return captions


def split_parameters(split: str, config: FacesConfig) -> pd.DataFrame:
    """Parameter rows of a split's items."""
    return sample_parameters(config.split_size(split), seed=config.seed, split=split, stream=ITEM_STREAM)


def load_faces(split: str, config: FacesConfig = FacesConfig(), *, cache: bool = True) -> Dataset:
    """Load (rendering and caching on first use) one split of the faces corpus.

    Parameters
    ----------
    split : {"train", "val", "test"}
    config : FacesConfig
        Sizes, image size, seed and annotation biases.
    cache : bool
        Keep rendered images under ``cache_dir()/faces/``; images then come memory-mapped.

    Returns
    -------
    Dataset
        ``labels`` are the annotated labels (biases applied) for train and val and the true
        labels for test; ``meta`` holds ``true_labels``, ``intensity``, ``captions`` and
        ``bias_flipped``.

    Examples
    --------
    >>> test = load_faces("test", FacesConfig(n_test=20), cache=False)
    >>> test.images.shape
    (20, 64, 64, 3)
    """
    _check_split(split)
    params = split_parameters(split, config)
    if cache:
        images = _cache.cached_split(params, split=split, seed=config.seed, size=config.image_size)
    else:
        images = render_rows(params, config.image_size, desc=f"rendering faces ({split})")
    attributes = attribute_table(params)
    true_labels = params["expression"].to_numpy(dtype=np.int64)
    intensity = params["intensity"].to_numpy(dtype=np.float64)
    if split == "test":
        labels, flipped = true_labels.copy(), np.zeros(len(true_labels), dtype=bool)
    else:
        labels, flipped = apply_annotation_biases(true_labels, attributes, config.biases, seed=config.seed, split=split)
    return Dataset(
        name=NAME,
        split=split,
        counterfactuals=FacesTwins(config, split),
        classes=EXPRESSIONS,
        labels=labels,
        ids=np.array([f"faces-{split}-{i:06d}" for i in range(len(params))], dtype=str),
        attributes=attributes,
        images=images,
        meta={
            "true_labels": true_labels,
            "intensity": intensity,
            "captions": make_captions(true_labels, intensity, attributes, seed=config.seed, split=split),
            "bias_flipped": flipped,
            # skin_tone's six levels are summarised by skin_group for group comparisons
            "protected_attributes": AUDITED_ATTRIBUTES,
        },
    )


def twin_parameters(attribute: str, n_identities: int, *, seed: int, split: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Parameter rows of a twin set, identity-major (``n_identities * n_values`` rows), and its values."""
    if attribute not in PROTECTED_ATTRIBUTES:
        raise UnknownNameError("twin attribute", attribute, PROTECTED_ATTRIBUTES)
    _check_split(split)
    if isinstance(n_identities, bool) or not isinstance(n_identities, (int, np.integer)) or n_identities < 1:
        raise UsageError(f"n_identities must be a positive integer, got {n_identities!r}")
    values = PROTECTED_ATTRIBUTES[attribute]
    base = sample_parameters(n_identities, seed=seed, split=split, stream=TWIN_STREAM)
    if attribute == "skin_group":
        codes = [PROTECTED_ATTRIBUTES["skin_tone"].index(SKIN_GROUP_TWIN_TONE[v]) for v in values]
    else:
        codes = list(range(len(values)))
    rows = base.loc[base.index.repeat(len(values))].reset_index(drop=True)
    rows[_TWIN_COLUMN[attribute]] = np.tile(codes, n_identities)
    return rows, values


def load_twins(
    attribute: str,
    config: FacesConfig = FacesConfig(),
    *,
    n_identities: int = 300,
    split: str = "test",
    cache: bool = True,
) -> TwinSet:
    """Counterfactual twins: each identity rendered once per value of ``attribute``.

    Expression, intensity, every other attribute, pose, lighting and the noise seed are held
    fixed. Identities come from a sub-stream of ``split``'s seed space that its items never use.
    For ``skin_group`` each group is rendered with one fixed swatch (``SKIN_GROUP_TWIN_TONE``).

    Parameters
    ----------
    attribute : {"skin_tone", "skin_group", "gender", "age"}
    config : FacesConfig
        Image size and seed (sizes and biases are not used).
    n_identities : int
    split : {"train", "val", "test"}
    cache : bool

    Returns
    -------
    TwinSet
        ``images`` of shape (n_identities, n_values, S, S, 3); ``labels`` the true expressions.
    """
    rows, values = twin_parameters(attribute, n_identities, seed=config.seed, split=split)
    size = config.image_size
    if cache:
        flat = _cache.cached_twins(rows, attribute=attribute, split=split, seed=config.seed, size=size)
    else:
        flat = render_rows(rows, size, desc=f"rendering {attribute} twins")
    images = flat.reshape(n_identities, len(values), size, size, 3)
    base = rows.iloc[:: len(values)].reset_index(drop=True)
    varied = {"skin_tone", "skin_group"} if attribute in ("skin_tone", "skin_group") else {attribute}
    held = attribute_table(base).drop(columns=sorted(varied))
    return TwinSet(
        attribute=attribute,
        values=values,
        classes=EXPRESSIONS,
        images=images,
        labels=base["expression"].to_numpy(dtype=np.int64),
        ids=np.array([f"faces-{split}-twin-{i:06d}" for i in range(n_identities)], dtype=str),
        attributes=held,
        meta={"intensity": base["intensity"].to_numpy(dtype=np.float64), "split": split},
    )


@dataclass(frozen=True)
class FacesTwins:
    """The faces corpus's counterfactual sets: twins rendered on demand (a :class:`CounterfactualSource`).

    The audit reaches them through ``Dataset.counterfactuals``, exactly as it reaches a user's
    manifest (:mod:`tinyemo_audit.data.counterfactuals`).
    """

    config: FacesConfig = field(default_factory=FacesConfig)
    split: str = "test"
    description: str = "faces corpus: twins rendered with one attribute changed"

    def attributes(self, audited) -> tuple[str, ...]:
        """The audited attributes the renderer can vary."""
        return tuple(a for a in audited if a in PROTECTED_ATTRIBUTES)

    def twin_set(self, attribute: str, *, n_identities: int) -> TwinSet:
        """``n_identities`` twins of ``attribute`` (see :func:`load_twins`)."""
        return load_twins(attribute, self.config, n_identities=n_identities, split=self.split)
