"""Input checks shared by the metric functions: one place for the user-facing error messages."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from tinyemo_audit.errors import InputError, UsageError

NAN_IN_INPUT = "{name} contains missing values (NaN/None) at {count} position(s); drop or impute them first"
LENGTH_MISMATCH = "inputs have different lengths: {lengths}"
NOT_1D = "{name} must be one-dimensional, got shape {shape}"
EMPTY_INPUT = "{name} is empty"
MIXED_TYPES = "{name} mixes label types that cannot be ordered (e.g. numbers and strings): {error}"
BAD_CONFIDENCE = "confidence must lie strictly between 0 and 1, got {value!r}"
BAD_COUNT = "{name} must be an integer >= {minimum}, got {value!r}"
BAD_CHOICE = "{name} must be one of {choices}, got {value!r}"


def as_labels(values, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D array of labels, refusing missing values."""
    if isinstance(values, (pd.Series, pd.Index, pd.Categorical)):
        arr = np.asarray(values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values)
    else:
        arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(NOT_1D.format(name=name, shape=arr.shape))
    # numpy turns a list like ["a", nan] into the string "nan": look at the raw objects instead.
    raw = arr if isinstance(values, np.ndarray) or arr.dtype.kind not in "US" else np.asarray(values, dtype=object)
    missing = np.asarray(pd.isna(raw))
    if missing.any():
        raise InputError(NAN_IN_INPUT.format(name=name, count=int(missing.sum())))
    return arr


def as_float_array(values, name: str, *, ndim: tuple[int, ...] = (1,)) -> np.ndarray:
    """Return ``values`` as a float array with one of the allowed ranks and no NaN."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric: {err}") from None
    if arr.ndim not in ndim:
        raise InputError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(EMPTY_INPUT.format(name=name))
    missing = np.isnan(arr)
    if missing.any():
        raise InputError(NAN_IN_INPUT.format(name=name, count=int(missing.sum())))
    return arr


def same_length(**arrays) -> int:
    """Return the common length of the arrays or raise InputError listing them."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(LENGTH_MISMATCH.format(lengths=lengths))
    return next(iter(lengths.values()))


def sorted_unique(values: np.ndarray, name: str) -> np.ndarray:
    """``np.unique`` that turns un-orderable mixes into an InputError."""
    try:
        return np.unique(values)
    except TypeError as err:
        raise InputError(MIXED_TYPES.format(name=name, error=err)) from None


def check_count(value, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise UsageError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UsageError(BAD_COUNT.format(name=name, minimum=minimum, value=value))
    return int(value)


def check_confidence(value) -> float:
    """Return ``value`` as a float in (0, 1) or raise UsageError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < 1.0:
        raise UsageError(BAD_CONFIDENCE.format(value=value))
    return float(value)


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices`` or raise UsageError listing them."""
    if value not in choices:
        raise UsageError(BAD_CHOICE.format(name=name, choices=", ".join(map(str, choices)), value=value))
    return value


def native(value):
    """Turn numpy scalars into plain Python values so results serialise to JSON."""
    return value.item() if isinstance(value, np.generic) else value
