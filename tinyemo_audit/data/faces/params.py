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
# Bump whenever a change here alters any sampled row: it is part of every faces cache fingerprint,
# beside render.RENDERER_VERSION. v1 drew every categorical column independently; v2 the balanced design.
SAMPLER_VERSION = 2
# Columns drawn as a balanced design: every block of ``DESIGN_BLOCK`` consecutive rows holds each
# combination of expression x skin tone x gender x age exactly once, in a seeded order.
DESIGN = CATEGORICAL[:4]


def _column_rng(seed: int, split: str, stream: int, column: int) -> np.random.Generator:
    # One generator per column keeps a column's first k draws independent of how many rows are asked
    # for, so a smaller corpus is a prefix of a larger one.
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE[split], stream, column]))


def _design_sizes() -> tuple[int, ...]:
    return (len(EXPRESSIONS), *(len(ATTRIBUTE_VALUES[name]) for name in DESIGN[1:]))


DESIGN_BLOCK = int(np.prod(_design_sizes()))


def _balanced_design(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The ``DESIGN`` columns of ``n`` rows: whole blocks of the full factorial, each shuffled.

    Any expression's share of a skin tone, gender or age group is then exact over whole blocks
    (a chance imbalance would make selection rates differ between groups with no model bias at
    all), and the first k rows do not depend on ``n``.
    """
    blocks = -(-n // DESIGN_BLOCK)
    cells = np.concatenate([rng.permutation(DESIGN_BLOCK) for _ in range(blocks)])[:n]
    return dict(zip(DESIGN, np.unravel_index(cells, _design_sizes())))


def sample_parameters(n: int, *, seed: int, split: str, stream: int = ITEM_STREAM) -> pd.DataFrame:
    """Draw ``n`` face parameter rows for ``split`` from the seed space ``(seed, split, stream)``.

    Expression and the protected attributes come from a balanced design (``_balanced_design``):
    each block of ``DESIGN_BLOCK`` rows holds every combination once. Nuisance attributes are drawn
    independently and uniformly.

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

    cols.update(_balanced_design(n, rng()))
    n_values = {a: len(v) for a, v in ATTRIBUTE_VALUES.items()}
    for name in CATEGORICAL[len(DESIGN):]:
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
