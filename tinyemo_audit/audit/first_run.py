"""``tinyemo-audit run``: audit a bundle on a dataset's test split and write results.json."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._io import atomic_write_json
from ..data.dataset import Dataset, TwinSet
from ..errors import UsageError
from ..model.bundle import load_bundle
from ..model.classifier import predict
from ..paths import PROJECT_DIR

RESULTS_SCHEMA_VERSION = "0.1"
# Faces attributes audited by default: skin_tone's six levels are summarised by skin_group.
FACES_AUDIT_ATTRIBUTES = ("skin_group", "gender", "age")


def default_run_dir(dataset: str, model: str) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{dataset}-{Path(model).name}")
    return PROJECT_DIR / "reports" / f"{safe}-{stamp}"


def _group_accuracy(true, predicted, groups, *, seed: int) -> dict[str, Any]:
    from ..metrics import group_table

    table = group_table(true, predicted, groups, n_boot=1000, seed=seed)
    acc = table[table["metric"] == "accuracy"]
    return {
        str(row.group): {
            "accuracy": float(row.value),
            "ci_low": float(row.ci_low),
            "ci_high": float(row.ci_high),
            "n": int(row.n),
        }
        for row in acc.itertuples()
    }


def _twin_predictions(bundle, twins: TwinSet) -> np.ndarray:
    """Predicted label per (identity, attribute value): int64 [n_identities, n_values]."""
    import pandas as pd

    n_id, n_val = twins.images.shape[:2]
    flat = Dataset(
        name=f"twins:{twins.attribute}",
        split="test",
        classes=twins.classes,
        labels=np.repeat(twins.labels, n_val),
        ids=np.asarray([f"{i}:{v}" for i in twins.ids for v in twins.values]),
        attributes=pd.DataFrame(index=pd.RangeIndex(n_id * n_val)),
        images=twins.images.reshape(n_id * n_val, *twins.images.shape[2:]),
    )
    return predict(bundle, flat).predicted.reshape(n_id, n_val)


def _twin_flips(predicted: np.ndarray, twins: TwinSet, *, seed: int) -> dict[str, Any]:
    from ..metrics import flip_rate

    n_val = len(twins.values)
    a, b = np.triu_indices(n_val, k=1)
    pairs = {}
    for i, j in zip(a, b):
        pairs[f"{twins.values[i]}|{twins.values[j]}"] = flip_rate(
            predicted[:, i], predicted[:, j], n_boot=1000, seed=seed
        )
    overall = flip_rate(predicted[:, a].ravel(), predicted[:, b].ravel(), n_boot=1000, seed=seed)
    return {"values": list(twins.values), "n_identities": int(len(twins)), "flip_rate": overall, "pairs": pairs}


def run_audit(
    *,
    dataset: str = "faces",
    model: str = "tinyemo-faces-mini",
    out: str | Path | None = None,
    seed: int = 0,
    n: int | None = None,
    n_twins: int = 300,
) -> Path:
    """Audit ``model`` on ``dataset``'s test split; write ``<out>/results.json`` and return ``out``."""
    from ..data.registry import load_dataset

    if n is not None and n < 2:
        raise UsageError("--n must be at least 2")
    started = time.perf_counter()
    bundle = load_bundle(model)
    data = load_dataset(dataset, "test")
    if n is not None and n < len(data):
        keep = np.sort(np.random.default_rng(seed).choice(len(data), size=n, replace=False))
        data = data.subset(keep)
    preds = predict(bundle, data)
    attributes = FACES_AUDIT_ATTRIBUTES if dataset == "faces" else tuple(data.attributes.columns)
    true = data.labels
    performance = {
        "overall": _group_accuracy(true, preds.predicted, np.full(len(true), "*"), seed=seed)["*"],
        "by_attribute": {
            attr: _group_accuracy(true, preds.predicted, data.attributes[attr].to_numpy(str), seed=seed)
            for attr in attributes
        },
    }
    counterfactual: dict[str, Any] = {}
    if dataset == "faces":
        from ..data.faces import load_twins

        for attr in attributes:
            twins = load_twins(attr, n_identities=n_twins)
            counterfactual[attr] = _twin_flips(_twin_predictions(bundle, twins), twins, seed=seed)
    results = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run": {
            "tool_version": __version__,
            "dataset": dataset,
            "split": data.split,
            "model": bundle.name,
            "classes": list(data.classes),
            "protected_attributes": list(attributes),
            "seed": seed,
            "n": int(len(data)),
        },
        "performance": performance,
        "counterfactual": counterfactual,
    }
    run_dir = Path(out) if out else default_run_dir(dataset, model)
    atomic_write_json(run_dir / "results.json", results)
    atomic_write_json(run_dir / "timings.json", {"total_seconds": round(time.perf_counter() - started, 3)})
    return run_dir


__all__ = ["run_audit"]
