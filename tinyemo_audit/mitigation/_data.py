"""The data a mitigation fits on: the bundle's own training splits, or the audited dataset's validation split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..user_text import shown

MSG_NO_TRAINING = ("{method} retrains the projector on the bundle's training data, and the bundle {model} records "
                   "none (an imported projector has no training record); use prompt-projection or thresholds")
MSG_JOINT = "{method} retrains single-dataset bundles only; {model} was trained jointly on several datasets"
MSG_NO_LABELS = "thresholds are fitted on labelled validation data, and {dataset} has no labelled val split"
MSG_TRAINING_ATTRIBUTE = ("{method} fits on the bundle's training data ({dataset}), which does not carry the protected "
                          "attribute {attribute} (it has {known})")


@dataclass
class TrainingData:
    """Encoder features, labels (as annotated) and protected attributes of the train and val splits."""

    features: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    attributes: dict[str, pd.DataFrame]


def train_config(bundle):
    """The TrainConfig the bundle was trained with (an InputError when it records none)."""
    from ..model.config import TrainConfig

    config = ((bundle.spec.get("training") or {}).get("config"))
    if not isinstance(config, dict):
        raise InputError(MSG_NO_TRAINING.format(method="this method", model=shown(bundle.name)))
    return TrainConfig.from_dict(config, source=f"{bundle.path}/bundle.json training.config")


def check_training(bundle, method: str) -> None:
    """Raise the one-line error of a retraining method on a bundle it cannot retrain."""
    config = (bundle.spec.get("training") or {}).get("config")
    if not isinstance(config, dict):
        raise InputError(MSG_NO_TRAINING.format(method=method, model=shown(bundle.name)))
    if train_config(bundle).is_joint:
        raise InputError(MSG_JOINT.format(method=method, model=shown(bundle.name)))


def _load_training(bundle) -> TrainingData:
    from ..data.registry import load_dataset
    from ..model.classifier import dataset_features

    config = train_config(bundle)
    options = {"faces_config": config.faces_config()} if config.dataset == "faces" else {}
    features, labels, attributes = {}, {}, {}
    for split in ("train", "val"):
        data = load_dataset(config.dataset, split, **options)
        if not data.has_labels:
            raise InputError(f"{config.dataset} {split} split has unlabelled items; retraining needs labels")
        features[split] = np.asarray(dataset_features(bundle, data, progress=False), dtype=np.float32)
        labels[split] = np.asarray(data.labels, dtype=np.int64)
        attributes[split] = data.attributes.reset_index(drop=True)
    return TrainingData(features, labels, attributes)


def check_training_attributes(attributes: pd.DataFrame, names: list[str], method: str, dataset: str) -> None:
    """An InputError when the training data lacks an attribute to mitigate (the audited dataset may have it)."""
    known = [str(c) for c in attributes.columns]
    for name in names:
        if name not in known:
            raise InputError(MSG_TRAINING_ATTRIBUTE.format(method=method, dataset=shown(dataset), attribute=shown(name),
                                                           known=", ".join(known) or "none"))


def training_data(bundle, names: list[str], method: str) -> TrainingData:
    """Training data of ``bundle``, loaded once per loaded bundle (``--method all`` retrains twice on it).

    Raises
    ------
    InputError
        When the training splits do not carry every attribute of ``names``.
    """
    if "mitigation_training" not in bundle._cache:
        bundle._cache["mitigation_training"] = _load_training(bundle)
    data = bundle._cache["mitigation_training"]
    for split in data.attributes.values():
        check_training_attributes(split, names, method, train_config(bundle).dataset)
    return data


def validation_split(spec: str):
    """The labelled validation split of the audited dataset (thresholds are fitted on it)."""
    from ..data.registry import load_dataset
    from ..errors import TinyEmoAuditError

    try:
        data = load_dataset(spec, "val")
    except TinyEmoAuditError as err:
        raise InputError(MSG_NO_LABELS.format(dataset=shown(spec)) + f" ({err})") from None
    if not data.has_labels:
        raise InputError(MSG_NO_LABELS.format(dataset=shown(spec)))
    return data
