"""Sampling the parameter rows (identity, expression, attributes, nuisance) of faces, seeded per split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .attributes import ATTRIBUTE_VALUES, EXPRESSIONS, SKIN_GROUP_OF_TONE

SPLITS: tuple[str, ...] = ("train", "val", "test")
# Sub-streams of one split's seed space: the split's own items, and twin identities.
ITEM_STREAM, TWIN_STREAM = 0, 1
_SPLIT_CODE = {"train": 11, "val": 22, "test": 33}

NEUTRAL = EXPRESSIONS.index("neutral")
CATEGORICAL = ("expression", "skin_tone", "gender", "age", "hair_color", "hair_style", "glasses",
               "background", "clothing")


def _column_rng(seed: int, split: str, stream: int, column: int) -> np.random.Generator:
    # One generator per column keeps a column's first k draws independent of how many rows are asked
    # for, so a smaller corpus is a prefix of a larger one.
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], stream, column]))


def sample_parameters(n: int, *, seed: int, split: str, stream: int = ITEM_STREAM) -> pd.DataFrame:
    """Draw ``n`` face parameter rows for ``split`` from the seed space ``(seed, split, stream)``.

    Expression and every categorical attribute are drawn independently and uniformly, so
    protected attributes are balanced and independent of expression.

    Parameters
    ----------
    n : int
        Number of faces.
    seed : int
        Corpus seed.
    split : {"train", "val", "test"}
    stream : int
        ``ITEM_STREAM`` for a split's items, ``TWIN_STREAM`` for its twin identities.

    Returns
    -------
    DataFrame
        One row per face; category columns hold indices into their value tuples.
    """
    cols: dict[str, np.ndarray] = {}
    k = 0

    def rng() -> np.random.Generator:
        nonlocal k
        k += 1
        return _column_rng(seed, split, stream, k)

    n_values = {"expression": len(EXPRESSIONS), **{a: len(v) for a, v in ATTRIBUTE_VALUES.items()}}
    for name in CATEGORICAL:
        cols[name] = rng().integers(0, n_values[name], size=n)
    # Beta(2.6, 1.4) on [0.15, 1]: most faces clear, about 2 % at intensity below 0.25.
    intensity = 0.15 + 0.85 * rng().beta(2.6, 1.4, size=n)
    cols["intensity"] = np.where(cols["expression"] == NEUTRAL, 0.0, intensity)
    cols["beard"] = rng().random(n) < 0.4
    cols["iris"] = rng().integers(0, 4, size=n)
    cols["tilt"] = np.clip(rng().normal(0.0, 5.0, size=n), -12.0, 12.0)
    cols["scale"] = rng().uniform(0.92, 1.06, size=n)
    cols["dx"] = rng().uniform(-0.03, 0.03, size=n)
    cols["dy"] = rng().uniform(-0.025, 0.025, size=n)
    cols["face_aspect"] = rng().uniform(0.95, 1.05, size=n)
    cols["eye_spacing"] = rng().uniform(0.94, 1.06, size=n)
    cols["eye_size"] = rng().uniform(0.9, 1.1, size=n)
    cols["nose_len"] = rng().uniform(0.9, 1.1, size=n)
    cols["mouth_w"] = rng().uniform(0.9, 1.1, size=n)
    cols["brow_thick"] = rng().uniform(0.85, 1.2, size=n)
    cols["hairline"] = rng().uniform(0.95, 1.05, size=n)
    cols["light_angle"] = rng().uniform(0.0, 2 * np.pi, size=n)
    cols["light_strength"] = rng().uniform(0.0, 0.15, size=n)
    cols["brightness"] = rng().uniform(0.9, 1.06, size=n)
    cols["noise_sigma"] = rng().uniform(1.0, 4.0, size=n)
    cols["noise_seed"] = rng().integers(0, 2**32, size=n, dtype=np.uint64)
    return pd.DataFrame(cols)


def attribute_table(params: pd.DataFrame) -> pd.DataFrame:
    """The string attribute columns of ``params`` (protected first, then nuisance)."""
    out = {}
    for name, values in ATTRIBUTE_VALUES.items():
        if name == "skin_group":
            tones = np.asarray(ATTRIBUTE_VALUES["skin_tone"], dtype=object)[params["skin_tone"].to_numpy()]
            out[name] = pd.Series(tones).map(SKIN_GROUP_OF_TONE).to_numpy(dtype=object)
        else:
            out[name] = np.asarray(values, dtype=object)[params[name].to_numpy()]
    return pd.DataFrame(out).astype(str)
