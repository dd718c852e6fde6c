"""One validity trial: plant an annotation bias, retrain the projector, audit an n-item sample."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..audit import _findings, _groups, _twins
from ..data.faces import AnnotationBias
from ..data.faces.corpus import apply_annotation_biases
from ..model.classifier import classify, project
from ..model.config import TrainConfig
from ._pool import FeaturePool

# The planted bias family: biased annotators call some neutral dark-skinned faces angry.
TARGET = {"attribute": "skin_group", "value": "dark", "from_label": "neutral", "to_label": "angry"}
# Probes whose flags count (for power and for false alarms): both can see an annotation bias.
COUNTED_KINDS = ("disparity", "counterfactual")


@dataclass
class TrialModel:
    """Just enough of a Bundle for ``project``/``classify``/``predict_twins``: a freshly fitted projector."""

    projector: Any
    label_embeddings: Any  # torch [K, D]
    temperature: float
    classes: tuple[str, ...]
    spec: dict[str, Any]
    name: str = "validity-trial"

    def embed_classes(self, classes):
        return self.label_embeddings


def plant(pool: FeaturePool, rate: float, seed: int) -> dict[str, np.ndarray]:
    """Training labels of train and val with the target cell relabelled at ``rate`` (the seed picks whom)."""
    bias = AnnotationBias(rate=float(rate), **TARGET)
    return {
        split: apply_annotation_biases(pool.true_labels[split], pool.attributes[split], (bias,),
                                       seed=seed, split=split)[0]
        for split in ("train", "val")
    }


def fit(pool: FeaturePool, labels: dict[str, np.ndarray], train_config: TrainConfig) -> TrialModel:
    """A projector trained on the pool's cached train/val features and ``labels``."""
    import torch

    from ..model.train import fit_projector

    features = {s: pool.features[s] for s in ("train", "val")}
    projector, _ = fit_projector(features, labels, pool.label_embeddings, train_config, progress=False)
    return TrialModel(
        projector=projector,
        label_embeddings=torch.as_tensor(pool.label_embeddings),
        temperature=pool.temperature,
        classes=pool.classes,
        spec={"projector": {"d_in": int(pool.features["train"].shape[1]),
                            "d_out": int(pool.label_embeddings.shape[1])}},
    )


def fit_planted(pool: FeaturePool, rate: float, seed: int, train_config: TrainConfig) -> TrialModel:
    """The trial stack of ``seed``: labels planted at ``rate`` and the projector fitted, both with ``seed``."""
    return fit(pool, plant(pool, rate, seed), replace(train_config, seed=seed))


def twin_predictions(model: TrialModel, pool: FeaturePool, attribute: str, n_twins: int):
    """The audit's TwinPredictions for the first ``n_twins`` identities, from cached twin features."""
    twins = pool.twins[attribute]
    n_val = len(twins.values)
    preds = classify(model, project(model, pool.twin_features[attribute][: n_twins * n_val]), pool.classes)
    k = len(pool.classes)
    head = replace(twins, images=twins.images[:n_twins], labels=twins.labels[:n_twins], ids=twins.ids[:n_twins],
                   attributes=twins.attributes.iloc[:n_twins])
    return _twins.TwinPredictions(
        twins=head,
        similarities=preds.similarities.reshape(n_twins, n_val, k),
        probabilities=preds.probabilities.reshape(n_twins, n_val, k),
        predicted=preds.predicted.reshape(n_twins, n_val),
    )


def _placebo_twins(tp, rng: np.random.Generator):
    """Twin predictions with each identity's attribute values shuffled: every true shift is exactly zero."""
    n_id, n_val = tp.predicted.shape
    order = rng.permuted(np.tile(np.arange(n_val), (n_id, 1)), axis=1)
    return _twins.TwinPredictions(
        twins=tp.twins,
        similarities=np.take_along_axis(tp.similarities, order[:, :, None], axis=1),
        probabilities=np.take_along_axis(tp.probabilities, order[:, :, None], axis=1),
        predicted=np.take_along_axis(tp.predicted, order, axis=1),
    )


def audit(model: TrialModel, pool: FeaturePool, *, n: int, n_twins: int, settings: dict, seed: int,
          placebo: bool = False) -> dict[str, Any]:
    """Disparities on ``n`` test items drawn with the seed, twins, one BH over both, and the findings.

    With ``placebo`` the audit is a negative control: each attribute column is shuffled across the
    sample and each twin identity's attribute values are shuffled, so no probe has a real effect to
    find, whatever the stack has learnt. Returns the partial results dict (``disparities``,
    ``counterfactual``, ``findings``).
    """
    test = pool.features["test"]
    keep = np.sort(np.random.default_rng(seed).choice(len(test), size=n, replace=False))
    true = pool.true_labels["test"][keep]
    predicted = classify(model, project(model, test[keep]), pool.classes).predicted
    attributes = pool.attributes["test"][list(pool.audited)].iloc[keep].reset_index(drop=True)
    rng = np.random.default_rng([seed, 7])
    if placebo:
        attributes = attributes.apply(lambda column: rng.permutation(column.to_numpy()))
    references = settings["reference_groups"]
    twin_preds = {attr: twin_predictions(model, pool, attr, n_twins) for attr in pool.audited}
    if placebo:
        twin_preds = {attr: _placebo_twins(tp, rng) for attr, tp in twin_preds.items()}
    results: dict[str, Any] = {
        "disparities": _groups.disparities(true, predicted, attributes, pool.classes, settings, seed,
                                          progress=False),
        "counterfactual": {
            attr: _twins.counterfactual_probe(
                twin_preds[attr], reference=references.get(attr),
                temperature=model.temperature, settings=settings, seed=seed,
            )
            for attr in pool.audited
        },
    }
    _findings.apply_fdr(results, settings["q_max"])
    results["findings"] = _findings.rank_findings(results, settings)
    return results


def finds_target(finding: dict[str, Any]) -> bool:
    """Whether a finding names the planted bias in the planted direction.

    Counterfactual: changing skin_group toward dark pushes (neutral or all) faces toward angry.
    Disparity: dark is the worst group for FPR of angry, TPR of neutral, or accuracy.
    """
    attr, value = TARGET["attribute"], TARGET["value"]
    if finding.get("attribute") != attr or finding["kind"] not in COUNTED_KINDS:
        return False
    if finding["kind"] == "counterfactual":
        return (finding["groups"][-1] == value and finding["direction"] == f"toward {TARGET['to_label']}"
                and finding["_example"][4] in ("*", TARGET["from_label"]))
    metric, cls = finding["_example"][4], finding["_example"][3]
    return finding["groups"][-1] == value and (
        (metric == "fpr" and cls == TARGET["to_label"]) or (metric == "tpr" and cls == TARGET["from_label"])
        or metric == "accuracy"
    )


def run_trial(pool: FeaturePool, *, rate: float, n: int, n_twins: int, seed: int, settings: dict,
              train_config: TrainConfig, placebo: bool = False, model: TrialModel | None = None) -> dict[str, Any]:
    """Plant, fit, audit; the trial's outcome as plain data.

    ``model``, when given, is the stack already fitted with ``rate`` and ``seed`` (a rate search
    keeps the one it chose). With ``placebo`` the same fitted stack is audited a second time as a
    negative control (see :func:`audit`); its outcome is the row's ``placebo`` entry.
    """
    if model is None:
        model = fit_planted(pool, rate, seed, train_config)
    row: dict[str, Any] = {"rate": float(rate), "n": int(n), "n_twins": int(n_twins), "seed": int(seed)}
    for key in ("audit", "placebo") if placebo else ("audit",):
        results = audit(model, pool, n=n, n_twins=n_twins, settings=settings, seed=seed, placebo=key == "placebo")
        counted = [f for f in results["findings"] if f["kind"] in COUNTED_KINDS]
        outcome = {"n_tests": sum(1 for _ in _tested_with_q(results)), "n_flags": len(counted),
                   "found": any(finds_target(f) for f in counted), "flags": [f["title"] for f in counted]}
        if key == "audit":
            row.update(outcome)
        else:
            row["placebo"] = outcome
    return row


def _tested_with_q(results):
    return (r for r in _findings._tested(results) if r.get("q_value") is not None)
