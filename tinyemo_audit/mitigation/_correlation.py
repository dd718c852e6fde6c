"""fairlearn's CorrelationRemover fitted on encoder features, as a bundle preprocessing step (no pickle)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.steps import CORRELATION_REMOVER, one_hot


def sensitive_columns(attributes: pd.DataFrame, names: list[str]) -> list[tuple[str, str]]:
    """One ``(attribute, value)`` column per group of each attribute in ``names``, sorted."""
    return [(name, value) for name in names for value in sorted(attributes[name].astype(str).unique())]


def fit_correlation_remover(features: np.ndarray, attributes: pd.DataFrame, names: list[str], *,
                            alpha: float = 1.0) -> tuple[dict[str, np.ndarray], list[tuple[str, str]]]:
    """Fit fairlearn's ``CorrelationRemover`` on training features and their one-hot protected groups.

    fairlearn does the fitting (least squares of the centred group indicators onto the features);
    its two learned arrays are returned as plain tensors so the bundle stores them in safetensors
    and applies them with :func:`tinyemo_audit.model.steps.remove_correlation` wherever it encodes.

    Returns
    -------
    tensors : dict
        ``beta`` float32 ``[n_columns, d]`` and ``sensitive_mean`` float32 ``[n_columns]``.
    columns : list of (attribute, value)
    """
    from fairlearn.preprocessing import CorrelationRemover

    columns = sensitive_columns(attributes, names)
    sensitive = one_hot(attributes, columns, step=CORRELATION_REMOVER)
    features = np.asarray(features, dtype=np.float64)
    width = features.shape[1]
    table = np.concatenate([features, sensitive], axis=1)
    remover = CorrelationRemover(sensitive_feature_ids=list(range(width, width + len(columns))), alpha=alpha)
    remover.fit(table)
    tensors = {"beta": np.asarray(remover.beta_, dtype=np.float32),
               "sensitive_mean": np.asarray(remover.sensitive_mean_, dtype=np.float32)}
    return tensors, columns
