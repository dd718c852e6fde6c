"""A bundle's optional steps around the projector: feature preprocessing before it, a group-aware decision after it.

Both are written by ``tinyemo-audit mitigate`` (docs/mitigation.md) and are data, never pickle:

- ``bundle.json["preprocessing"]``: a list of steps applied, in order, to encoder features before the
  Metric Projector. The one kind is ``"correlation-remover"`` (fairlearn's ``CorrelationRemover``):
  ``x ← x − α · (s − s̄) β`` where ``s`` is the item's one-hot protected groups (``columns``: one
  ``[attribute, value]`` per column), ``s̄`` their training means and ``β`` the least-squares
  coefficients, both stored in ``weights`` (safetensors tensors ``beta`` ``[n_columns, d_in]`` and
  ``sensitive_mean`` ``[n_columns]``).
- ``bundle.json["decision"]``: how the label scores become a prediction when it is not plain
  nearest-label. ``"group-offsets"``: per protected group, offsets added to the label logits
  (similarity / temperature; similarities themselves are left as they are); ``"one-vs-rest-thresholds"``: fairlearn ``ThresholdOptimizer``'s
  per-group randomised thresholds on P(target) for the decision "is this item ``target``?" (no:
  the nearest other label). Both **use the protected attribute at prediction time**.

Every step that reads protected attributes needs them for every item: an item without them is an
:class:`~tinyemo_audit.errors.InputError`, never a silent default.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..user_text import shown

CORRELATION_REMOVER = "correlation-remover"
GROUP_OFFSETS = "group-offsets"
ONE_VS_REST = "one-vs-rest-thresholds"
PREPROCESSING_KINDS = (CORRELATION_REMOVER,)
DECISION_KINDS = (GROUP_OFFSETS, ONE_VS_REST)
MSG_NEEDS_ATTRIBUTES = ("the bundle's {step} step uses the protected attribute {attribute!r} at prediction time, "
                        "and these items do not carry it")
MSG_UNKNOWN_GROUP = "the bundle's {step} step has no entry for {attribute}={value} (it knows {known})"


def group_columns(attributes: pd.DataFrame | None, names: list[str], *, step: str) -> pd.DataFrame:
    """The columns ``names`` of ``attributes`` as strings; an InputError when one is missing."""
    for name in names:
        if attributes is None or name not in attributes.columns:
            raise InputError(MSG_NEEDS_ATTRIBUTES.format(step=step, attribute=name))
    return attributes[names].astype(str)


def one_hot(attributes: pd.DataFrame | None, columns: list[tuple[str, str]], *, step: str) -> np.ndarray:
    """float64 ``[N, len(columns)]``: 1 where the item's ``attribute`` equals ``value``.

    A value no column names is an error: the step was fitted without that group.
    """
    names = list(dict.fromkeys(a for a, _ in columns))
    table = group_columns(attributes, names, step=step)
    for name in names:
        known = {v for a, v in columns if a == name}
        unknown = sorted(set(table[name]) - known)
        if unknown:
            raise InputError(MSG_UNKNOWN_GROUP.format(step=step, attribute=name, value=shown(unknown[0]),
                                                      known=", ".join(sorted(known))))
    return np.stack([(table[a].to_numpy() == v) for a, v in columns], axis=1).astype(np.float64) \
        if columns else np.zeros((len(table), 0))


def remove_correlation(features: np.ndarray, sensitive: np.ndarray, beta: np.ndarray, sensitive_mean: np.ndarray,
                       alpha: float) -> np.ndarray:
    """fairlearn ``CorrelationRemover.transform`` on features whose sensitive columns are given apart.

    ``x − α (s − s̄) β``; the sensitive columns themselves are not part of the output.
    """
    return (features - alpha * ((sensitive - sensitive_mean) @ beta)).astype(np.float32)


def has_steps(bundle) -> bool:
    """Whether ``bundle`` has a preprocessing or decision step (then it classifies items with their attributes)."""
    return bool(bundle is not None and (bundle.spec.get("preprocessing") or bundle.spec.get("decision")))


def preprocess(bundle, features: np.ndarray, attributes: pd.DataFrame | None) -> np.ndarray:
    """Apply the bundle's preprocessing steps (none: ``features`` unchanged)."""
    steps = bundle.spec.get("preprocessing") or []
    if not steps:
        return features
    features = np.asarray(features, dtype=np.float32)
    for step in steps:
        tensors = bundle.step_tensors(step["weights"])
        columns = [tuple(c) for c in step["columns"]]
        expected = {"beta": (len(columns), features.shape[1]), "sensitive_mean": (len(columns),)}
        for key, shape in expected.items():
            if key not in tensors or tuple(tensors[key].shape) != shape:
                raise InputError(f"{bundle.path / step['weights']}: expected a tensor {key} of shape {shape}")
        sensitive = one_hot(attributes, columns, step=step["kind"])
        features = remove_correlation(features, sensitive, tensors["beta"].astype(np.float64),
                                      tensors["sensitive_mean"].astype(np.float64), float(step["alpha"]))
    return features


def group_keys(attributes: pd.DataFrame | None, names: list[str], *, step: str) -> np.ndarray:
    """One key per item: its values of ``names`` joined (``"dark|feminine"``), column-wise (no loop over rows)."""
    table = group_columns(attributes, names, step=step)
    if not names:
        return np.full(len(table), "", dtype=object)
    keys = table[names[0]]
    for name in names[1:]:
        keys = keys + "|" + table[name]
    return keys.to_numpy(dtype=object)


def group_key(group: dict[str, str], names: list[str]) -> str:
    """The key :func:`group_keys` gives an item of ``group``."""
    return "|".join(str(group[n]) for n in names)


def offset_matrix(decision: dict[str, Any], attributes: pd.DataFrame | None, classes: tuple[str, ...]) -> np.ndarray:
    """float64 ``[N, K]`` logit offsets of each item (zeros for classes the decision does not move)."""
    names = list(decision["attributes"])
    keys = group_keys(attributes, names, step=GROUP_OFFSETS)
    table = {group_key(row["group"], names): row["logits"] for row in decision["offsets"]}
    unknown = sorted(set(keys) - set(table))
    if unknown:
        raise InputError(MSG_UNKNOWN_GROUP.format(step=GROUP_OFFSETS, attribute="+".join(names),
                                                  value=shown(unknown[0]), known=", ".join(sorted(table))))
    rows = np.array([[float(table[k].get(c, 0.0)) for c in classes] for k in table]).reshape(len(table), len(classes))
    return rows[pd.Index(list(table)).get_indexer(keys)]  # every key is in the table (checked above)


def item_uniforms(embeddings: np.ndarray) -> np.ndarray:
    """A uniform draw in [0, 1) per item, fixed by the item's embedding bytes.

    ThresholdOptimizer's thresholds are randomised; tying the draw to the item makes a prediction
    reproducible (the same image always gets the same answer) without a global random state.
    """
    rows = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))
    digests = [hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in rows]
    return np.array([int.from_bytes(d, "little") for d in digests], dtype=np.float64) / 2.0 ** 64


def threshold_decisions(decision: dict[str, Any], score: np.ndarray, keys: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """bool ``[N]``: "is target?" per item, by its group's randomised thresholds on ``score``."""
    names = list(decision["attributes"])
    table = {group_key(row["group"], names): row["operations"] for row in decision["groups"]}
    unknown = sorted(set(keys) - set(table))
    if unknown:
        raise InputError(MSG_UNKNOWN_GROUP.format(step=ONE_VS_REST, attribute="+".join(decision["attributes"]),
                                                  value=shown(unknown[0]), known=", ".join(sorted(table))))
    out = np.zeros(len(score), dtype=bool)
    for key, operations in table.items():
        rows = keys == key
        cumulative = 0.0
        chosen = np.zeros(rows.sum(), dtype=bool)
        for op in operations:
            # operation i applies to draws in [cumulative, cumulative + p_i)
            use = (draws[rows] >= cumulative) & (draws[rows] < cumulative + op["p"]) & ~chosen
            s = score[rows]
            yes = s > op["threshold"] if op["operator"] == ">" else s < op["threshold"]
            out[np.flatnonzero(rows)[use]] = yes[use]
            chosen |= use
            cumulative += op["p"]
    return out


def decide(bundle, similarities: np.ndarray, embeddings: np.ndarray, attributes: pd.DataFrame | None,
           classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Similarities, probabilities and predictions of ``classify`` after the bundle's decision step.

    Without one: nearest label, softmax at the bundle's temperature. A decision step is
    post-processing: the similarities returned stay the metric space's cosine similarities (what
    the metric-space probes read); ``group-offsets`` moves the logits, so the probabilities and the
    predicted label are the decision's; ``one-vs-rest-thresholds`` changes only which label is
    predicted.
    """
    temperature = bundle.temperature
    decision = bundle.spec.get("decision")
    scores = similarities.astype(np.float64)
    if decision and decision["kind"] == GROUP_OFFSETS:
        scores = scores + temperature * offset_matrix(decision, attributes, classes)
    logits = scores / temperature
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    predicted = scores.argmax(axis=1).astype(np.int64)
    if decision and decision["kind"] == ONE_VS_REST and decision["target"] in classes:
        t = classes.index(decision["target"])
        keys = group_keys(attributes, list(decision["attributes"]), step=ONE_VS_REST)
        yes = threshold_decisions(decision, probs[:, t], keys, item_uniforms(embeddings))
        others = scores.copy()
        others[:, t] = -np.inf
        predicted = np.where(yes, t, others.argmax(axis=1)).astype(np.int64)
    return np.asarray(similarities, dtype=np.float32), probs.astype(np.float32), predicted
