"""Trains a bundle: (faces-mini encoder,) cached features, Metric Projector on a metric loss."""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_directory, atomic_write_json, atomic_write_text
from ..data.dataset import Dataset
from ..errors import InputError
from .bundle import (
    BUNDLE_FILE,
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    ENCODER_FILE,
    LABELS_FILE,
    PROJECTOR_FILE,
)
from ..paths import PROJECT_DIR
from .config import TrainConfig
from .model_card import model_card

DEFAULT_TEMPERATURE = {"infonce": 0.1, "ntxent": 0.07, "cosine": 0.1}


def _load_splits(config: TrainConfig) -> dict[str, Dataset]:
    from ..data.registry import load_dataset

    options = {"faces_config": config.faces_config()} if config.dataset == "faces" else {}
    return {split: load_dataset(config.dataset, split, **options) for split in ("train", "val", "test")}


def _encoder_and_features(config: TrainConfig, splits: dict[str, Dataset], workdir: Path):
    """Features for every split, plus the encoder spec/weights record for bundle.json."""
    first = splits["train"]
    if first.features is not None:
        record = {"spec": config.encoder, "weights": None, "dim": int(first.features.shape[1])}
        return {k: np.asarray(v.features, dtype=np.float32) for k, v in splits.items()}, record, {}
    from ..encoders import encode_dataset, resolve_encoder, train_faces_mini

    log: dict[str, Any] = {}
    if config.encoder == "faces-mini":
        if config.encoder_weights:
            weights = Path(config.encoder_weights)
            if not weights.is_absolute() and not weights.exists():
                weights = PROJECT_DIR / weights  # configs name checkout-relative paths
            encoder = resolve_encoder("faces-mini", weights=weights)
        else:
            encoder, log = train_faces_mini(
                splits["train"], splits["val"], epochs=config.encoder_epochs, seed=config.seed
            )
        encoder.save(workdir / ENCODER_FILE)
        record = {"spec": "faces-mini", "weights": ENCODER_FILE, "dim": int(encoder.dim)}
    else:
        encoder = resolve_encoder(config.encoder)
        record = {"spec": config.encoder, "weights": None, "dim": int(encoder.dim)}
    features = {k: np.asarray(encode_dataset(encoder, v), dtype=np.float32) for k, v in splits.items()}
    return features, record, log


def _label_table(config: TrainConfig, classes: tuple[str, ...]):
    from ..label_space import label_embeddings, resolve_label_space

    space = resolve_label_space(config.label_space, trust_remote_code=config.trust_remote_code)
    synonyms = None
    if config.synonyms and config.taxonomy:
        from ..taxonomy import get_taxonomy

        synonyms = get_taxonomy(config.taxonomy).synonyms
    return space, label_embeddings(space, classes, template=config.template, synonyms=synonyms)


def _nearest_label(projector, x, label_emb):
    """Index of the nearest label embedding (cosine) for each projected row of ``x``, in eval mode."""
    import torch

    projector.eval()
    with torch.inference_mode():
        z = torch.nn.functional.normalize(projector(torch.as_tensor(x)), dim=-1)
        return (z @ label_emb.T).argmax(1)


def _accuracy(projector, x, label_emb, y) -> float:
    return float(_nearest_label(projector, x, label_emb).eq(y).float().mean())


def fit_projector(
    features: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    label_emb,
    config: TrainConfig,
    *,
    progress: bool = True,
):
    """Train a MetricProjector with AdamW + OneCycle; keep the epoch with the best val accuracy.

    Returns the selected projector and a per-epoch log. The test split is never looked at.
    """
    import torch
    from tqdm.auto import tqdm

    from ..losses import get_loss
    from .projector import MetricProjector

    torch.manual_seed(config.seed)
    loss_fn = get_loss(config.loss)
    temperature = config.temperature or DEFAULT_TEMPERATURE[config.loss]
    loss_kwargs = {} if config.loss == "cosine" else {"temperature": temperature}
    x_train = torch.as_tensor(features["train"])
    y_train = torch.as_tensor(labels["train"])
    x_val = torch.as_tensor(features["val"])
    y_val = torch.as_tensor(labels["val"])
    label_emb = torch.as_tensor(label_emb, dtype=torch.float32)
    projector = MetricProjector(x_train.shape[1], label_emb.shape[1], dropout=config.dropout)
    optimizer = torch.optim.AdamW(projector.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(x_train) // config.batch_size)  # drop_last: BatchNorm needs > 1 row
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_lr, total_steps=config.epochs * steps_per_epoch
    )
    generator = torch.Generator().manual_seed(config.seed)
    best_state, best_acc, log = None, -1.0, []
    bar = tqdm(total=config.epochs * steps_per_epoch, desc="projector", disable=not progress, file=sys.stderr)
    for epoch in range(config.epochs):
        projector.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            y = y_train[idx]
            loss = loss_fn(projector(x_train[idx]), label_emb[y], y, **loss_kwargs)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach())
            bar.update(1)
        val_acc = _accuracy(projector, x_val, label_emb, y_val)
        log.append({"epoch": epoch + 1, "train_loss": total / steps_per_epoch, "val_accuracy": val_acc})
        bar.set_postfix(val_acc=f"{val_acc:.3f}")
        if val_acc > best_acc:
            best_acc, best_state = val_acc, copy.deepcopy(projector.state_dict())
    bar.close()
    projector.load_state_dict(best_state)
    projector.eval()
    return projector, log


def _check_names(config: TrainConfig) -> None:
    """Unknown dataset, encoder, label-space or loss names fail before any work."""
    from ..data.registry import check_dataset_spec
    from ..encoders import ENCODERS
    from ..label_space import LABEL_SPACES
    from ..losses import get_loss

    check_dataset_spec(config.dataset)
    ENCODERS.validate(config.encoder)
    LABEL_SPACES.validate(config.label_space)
    get_loss(config.loss)


def train_bundle(config: TrainConfig, out: str | Path, *, progress: bool = True) -> Path:
    """Train everything ``config`` names and write the bundle folder ``out`` atomically."""
    from safetensors.torch import save_file

    from .evaluate import evaluation_summary
    from .projector import save_projector

    started = time.perf_counter()
    out = Path(out)
    _check_names(config)
    splits = _load_splits(config)
    for split, data in splits.items():
        if not data.has_labels:
            raise InputError(f"{config.dataset} {split} split has unlabelled items; training needs labels")
    classes = splits["train"].classes
    temperature = config.temperature or DEFAULT_TEMPERATURE.get(config.loss)
    if temperature is None:
        from ..errors import UnknownNameError

        raise UnknownNameError("loss", config.loss, DEFAULT_TEMPERATURE)
    with atomic_directory(out) as workdir:
        features, encoder_record, encoder_log = _encoder_and_features(config, splits, workdir)
        space, label_emb = _label_table(config, classes)
        labels = {k: v.labels for k, v in splits.items()}
        projector, log = fit_projector(features, labels, label_emb, config, progress=progress)
        save_projector(projector, workdir / PROJECTOR_FILE)
        save_file({"label_embeddings": label_emb.contiguous()}, str(workdir / LABELS_FILE))

        metrics: dict[str, Any] = {}
        for split in ("val", "test"):
            pred = _nearest_label(projector, features[split], label_emb).numpy()
            true = splits[split].meta.get("true_labels", splits[split].labels)
            metrics[split] = evaluation_summary(np.asarray(true), pred, classes)
        selected = max(log, key=lambda r: r["val_accuracy"])
        spec = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "name": config.name or out.name,
            "description": config.description,
            "encoder": encoder_record,
            "label_space": {
                "spec": config.label_space,
                "dim": int(label_emb.shape[1]),
                "template": config.template,
                "synonyms": config.synonyms,
                "bos": False,
                "fingerprint": space.fingerprint(),
            },
            "taxonomy": {"name": config.taxonomy or config.dataset, "classes": list(classes)},
            "projector": {
                "d_in": int(features["train"].shape[1]),
                "d_out": int(label_emb.shape[1]),
                "dropout": config.dropout,
                "weights": PROJECTOR_FILE,
            },
            "loss": {"name": config.loss, "temperature": temperature},
            "training": {
                "config": config.to_dict(),
                "n": {k: int(len(v)) for k, v in splits.items()},
                "selected_epoch": selected["epoch"],
                "selection": "best validation accuracy (the test split is never used for selection)",
                "annotation_biases": list(config.faces.get("biases") or []),
            },
            "metrics": {"val_accuracy": metrics["val"]["accuracy"], "test_accuracy": metrics["test"]["accuracy"]},
        }
        atomic_write_json(workdir / BUNDLE_FILE, spec)
        atomic_write_json(
            workdir / "metrics.json",
            {"projector_epochs": log, "encoder_training": encoder_log, **metrics},
        )
        atomic_write_text(workdir / "MODEL_CARD.md", model_card(spec, metrics))
        sys.stderr.write(f"trained in {time.perf_counter() - started:.0f} s\n")
    return out

