"""The four mitigation methods: each turns a bundle into the parts of a mitigated bundle (no writing here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..model.steps import CORRELATION_REMOVER, GROUP_OFFSETS, ONE_VS_REST, group_columns, group_keys
from ._correlation import fit_correlation_remover
from ._projection import pair_embeddings, project_labels, projection_matrix
from ._reweigh import reweighing_weights
from ._thresholds import fit_threshold_optimizer, group_offsets

STEP_FILE = "preprocessing.safetensors"
CITATIONS = {
    "reweigh": "Kamiran & Calders 2012, Data preprocessing techniques for classification without discrimination",
    "correlation-remover": "fairlearn.preprocessing.CorrelationRemover",
    "prompt-projection": "Chuang et al. 2023, Debiasing vision-language models via biased prompts",
    "thresholds": "Hardt et al. 2016, Equality of opportunity in supervised learning; fairlearn.postprocessing.ThresholdOptimizer",
}


@dataclass
class Plan:
    """What a method is asked to do: the source bundle, the attributes and targets, the options."""

    bundle: Any
    dataset: str
    attributes: list[str]
    targets: list[str]
    options: dict[str, Any]
    target_given: bool = False
    seed: int = 0
    config: Any = None  # the audit settings YAML of both audits (prompt-projection reads its term pairs)


@dataclass
class Mitigated:
    """The parts of a mitigated bundle that differ from its source, and what to say about them."""

    method: str
    record: dict[str, Any]  # bundle.json "mitigation"
    card: list[str]  # MODEL_CARD lines
    projector: Any = None  # a retrained MetricProjector
    label_embeddings: Any = None  # float32 [K, D]
    spec: dict[str, Any] = field(default_factory=dict)  # bundle.json keys to set (preprocessing, decision)
    step_files: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    uses_attribute_at_prediction: bool = False


def _retrain(plan: Plan, features: dict[str, np.ndarray], labels: dict[str, np.ndarray], *, sample_weight=None):
    from ..model.train import fit_projector

    from ._data import train_config

    config = train_config(plan.bundle)
    return fit_projector(features, labels, plan.bundle.label_embeddings, config, progress=False,
                         sample_weight=sample_weight)[0]


def reweigh(plan: Plan) -> Mitigated:
    """Kamiran & Calders reweighing of the training split, then the projector retrained."""
    from ._data import training_data

    data = training_data(plan.bundle, plan.attributes, "reweigh")
    groups = group_keys(data.attributes["train"], plan.attributes, step="reweigh")
    weights = reweighing_weights(data.labels["train"], groups)
    projector = _retrain(plan, data.features, data.labels, sample_weight=weights)
    return Mitigated(
        method="reweigh", projector=projector,
        record={"weights": {"min": float(weights.min()), "max": float(weights.max())}},
        card=[f"The training split was reweighed (Kamiran & Calders 2012) so that the label is independent of the "
              f"joint group of {', '.join(plan.attributes)}: each item weighs P(group) P(label) / P(group, label) "
              f"(weights {weights.min():.3f} to {weights.max():.3f}); each epoch draws its rows with replacement in "
              "proportion to the weights. The Metric Projector was retrained with the bundle's own training "
              "configuration; the encoder and label embeddings are unchanged. Prediction does not read the attribute."],
    )


def correlation_remover(plan: Plan) -> Mitigated:
    """fairlearn's CorrelationRemover fitted on the training features, stored as a step, then retrain."""
    from ..model.steps import one_hot, remove_correlation
    from ._data import training_data

    alpha = float(plan.options.get("alpha", 1.0))
    data = training_data(plan.bundle, plan.attributes, "correlation-remover")
    tensors, columns = fit_correlation_remover(data.features["train"], data.attributes["train"], plan.attributes,
                                               alpha=alpha)
    cleaned = {split: remove_correlation(data.features[split], one_hot(data.attributes[split], columns,
                                                                       step=CORRELATION_REMOVER),
                                         tensors["beta"].astype(np.float64),
                                         tensors["sensitive_mean"].astype(np.float64), alpha)
               for split in data.features}
    projector = _retrain(plan, cleaned, data.labels)
    step = {"kind": CORRELATION_REMOVER, "weights": STEP_FILE, "columns": [list(c) for c in columns], "alpha": alpha}
    return Mitigated(
        method="correlation-remover", projector=projector, spec={"preprocessing": [step]},
        step_files={STEP_FILE: tensors}, uses_attribute_at_prediction=True,
        record={"alpha": alpha, "columns": [list(c) for c in columns]},
        card=[f"fairlearn's CorrelationRemover (alpha = {alpha:g}) removes from the encoder features their linear "
              f"correlation with the one-hot groups of {', '.join(plan.attributes)}: x - alpha (s - mean s) beta, "
              "fitted on the training split, stored in preprocessing.safetensors and applied wherever this bundle "
              "encodes. The Metric Projector was retrained on the filtered features. **The filter reads each "
              "item's protected groups at prediction time** (fairlearn's transform needs the sensitive columns)."],
    )


def prompt_projection(plan: Plan) -> Mitigated:
    """Bias directions of counterfactual prompt pairs projected out of the label embeddings (no retraining)."""
    from ..audit.settings import load_settings

    settings = load_settings(plan.config)
    probes = settings["text_probes"]
    method = str(plan.options.get("projection", "orthogonal"))
    rank = int(plan.options.get("rank", 1))
    lam = float(plan.options.get("lam", 1000.0))
    space = plan.bundle.label_space()
    differences, used = [], []
    for name in plan.attributes:
        terms = probes["terms"].get(name)
        if not terms:
            continue
        reference = settings["reference_groups"].get(name)
        reference = reference if reference in terms else next(iter(terms))
        a, b = pair_embeddings(space, list(probes["templates"]) + list(probes["neutral_templates"]), terms,
                               plan.bundle.classes, reference)
        differences.append(b - a)
        used.append(name)
    if not differences:
        raise InputError("prompt-projection needs text_probes.terms for one of the attributes "
                         f"{', '.join(plan.attributes)} (configs/audit/default.yaml)")
    matrix = projection_matrix(differences, rank=rank, method=method, lam=lam)
    labels = project_labels(plan.bundle.label_embeddings.numpy(), matrix)
    return Mitigated(
        method="prompt-projection", label_embeddings=labels,
        record={"projection": method, "rank": rank, "lambda": lam if method == "calibrated" else None,
                "attributes": used, "n_pairs": int(sum(len(d) for d in differences))},
        card=[f"The label embeddings were passed through a {method} projection that removes the bias directions "
              f"spanned by counterfactual prompt pairs of {', '.join(used)} (the audit's text-probe templates and "
              f"term pairs, {sum(len(d) for d in differences)} pairs; top {rank} direction(s) per attribute"
              + (f"; calibrated with lambda = {lam:g}" if method == "calibrated" else "")
              + "), after Chuang et al. 2023, and L2-normalised again. No weights were retrained; prediction does "
              "not read the attribute. Class sets other than the stored taxonomy are embedded unprojected."],
    )


def thresholds(plan: Plan) -> Mitigated:
    """Per-group post-processing fitted on the dataset's validation split (uses the attribute at prediction)."""
    from ..model.classifier import predict
    from ._data import validation_split

    data = validation_split(plan.dataset)
    bundle = plan.bundle
    preds = predict(bundle, data, progress=False)
    classes = tuple(data.classes)
    groups = group_columns(data.attributes, plan.attributes, step="thresholds").to_dict("records")
    constraint = str(plan.options.get("constraint", "equalized_odds"))
    note = ("**This decision reads each item's protected group ({}) at prediction time**: the same face gets a "
            "different threshold depending on its group.").format(", ".join(plan.attributes))
    if plan.target_given:
        target = plan.targets[0]
        t = classes.index(target)
        rows = fit_threshold_optimizer(preds.probabilities[:, t], data.labels == t, groups, plan.attributes,
                                       constraint=constraint)
        decision = {"kind": ONE_VS_REST, "attributes": list(plan.attributes), "target": target, "groups": rows}
        card = [f"fairlearn's ThresholdOptimizer ({constraint}, balanced accuracy) chose per-group randomised "
                f"thresholds on P({target}) for the decision \"is this face {target}?\", fitted on the validation "
                f"split of {data.name}; when the answer is no, the nearest other label is predicted. The random draw "
                "is fixed per item (a digest of its embedding), so a prediction is reproducible. " + note]
    else:
        logits = preds.similarities.astype(np.float64) / bundle.temperature
        targets = [classes.index(t) for t in plan.targets]
        rates = str(plan.options.get("rates", "decisions"))
        rows = group_offsets(logits, data.labels, groups, plan.attributes, targets, classes, rates=rates,
                             constraint=constraint)
        decision = {"kind": GROUP_OFFSETS, "attributes": list(plan.attributes), "offsets": rows}
        card = [f"Per-group offsets on the logits of {', '.join(plan.targets)} (the multiclass decision), each "
                "chosen on the validation split of " + data.name + " to bring the group's "
                + {"equalized_odds": "TPR and FPR", "false_positive_rate_parity": "FPR",
                   "true_positive_rate_parity": "TPR"}[constraint]
                + " of that label as close as one offset can to the overall rate (constraint " + constraint + "; rates from "
                + ("predicted labels" if rates == "decisions" else "mean P(label), Kleinberg et al.'s balance for the "
                   "positive and negative class") + "). " + note]
    return Mitigated(method="thresholds", spec={"decision": decision}, uses_attribute_at_prediction=True,
                     record={"decision": decision["kind"], "fitted_on": f"{data.name} val (n = {len(data)})",
                             "constraint": constraint,
                             **({} if plan.target_given else {"rates": rates})},
                     card=card)


METHODS = {"reweigh": reweigh, "correlation-remover": correlation_remover, "prompt-projection": prompt_projection,
           "thresholds": thresholds}
NEEDS_TRAINING = ("reweigh", "correlation-remover")
