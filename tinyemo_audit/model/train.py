"""Trains a bundle on one dataset or jointly on several: (faces-mini encoder,) features, Metric Projector."""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_json, atomic_write_text
from ..data.dataset import Dataset
from ..errors import InputError, UsageError
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
from .joint import SPLITS, JointData, check_feature_dims, dataset_records, merged_synonyms, union_classes
from .model_card import model_card

DEFAULT_TEMPERATURE = {"infonce": 0.1, "ntxent": 0.07, "cosine": 0.1}
MSG_OPTION = "{option} applies to {where} only, not to the label space {space!r}"
MSG_JOINT_FACES_MINI = (
    "joint training of image datasets with faces-mini needs encoder_weights (a faces-mini trained "
    "on one dataset), so that every dataset goes through the same encoder"
)


def _load_parts(config: TrainConfig) -> dict[str, dict[str, Dataset]]:
    """Every split of every training dataset, each with its own taxonomy."""
    from ..data.registry import load_dataset

    parts = {}
    for spec in config.dataset_specs:
        options = {"faces_config": config.faces_config()} if spec == "faces" else {}
        parts[spec] = {split: load_dataset(spec, split, **options) for split in SPLITS}
    return parts


def _encoder_and_features(config: TrainConfig, parts: dict[str, dict[str, Dataset]], workdir: Path):
    """Features for every dataset and split, plus the encoder record for bundle.json.

    Datasets of cached features are used as they are; datasets of images go through the one
    encoder ``config.encoder`` (faces-mini is trained here when no weights are given).
    """
    image_specs = [spec for spec, splits in parts.items() if splits["train"].features is None]
    log: dict[str, Any] = {}
    record: dict[str, Any] = {"spec": config.encoder, "weights": None}
    encoder = None
    if image_specs:
        from ..encoders import resolve_encoder, train_faces_mini

        if config.encoder == "faces-mini":
            if config.encoder_weights:
                weights = Path(config.encoder_weights)
                if not weights.is_absolute() and not weights.exists():
                    weights = PROJECT_DIR / weights  # configs name checkout-relative paths
                encoder = resolve_encoder("faces-mini", weights=weights)
            elif len(parts) > 1:
                raise UsageError(MSG_JOINT_FACES_MINI)
            else:
                splits = parts[image_specs[0]]
                encoder, log = train_faces_mini(
                    splits["train"], splits["val"], epochs=config.encoder_epochs, seed=config.seed
                )
            encoder.save(workdir / ENCODER_FILE)
            record["weights"] = ENCODER_FILE
        else:
            encoder = resolve_encoder(config.encoder)
    features = {}
    for spec, splits in parts.items():
        if spec in image_specs:
            from ..encoders import encode_dataset

            features[spec] = {k: np.asarray(encode_dataset(encoder, v), dtype=np.float32) for k, v in splits.items()}
        else:
            features[spec] = {k: np.asarray(v.features, dtype=np.float32) for k, v in splits.items()}
    record["dim"] = check_feature_dims(features)
    return features, record, log


def _label_space_options(config: TrainConfig) -> dict[str, Any]:
    """The resolve_label_space options this run asks for (tokenizer, BOS, dtype, remote code)."""
    return {
        "trust_remote_code": config.trust_remote_code,
        "tokenizer": config.tokenizer,
        "bos": config.bos,
        "dtype": config.dtype,
    }


def _check_label_space_options(config: TrainConfig) -> None:
    """Tokenizer/BOS/dtype only where the label space has such an option; one line otherwise."""
    from ..label_space.base import torch_dtype

    torch_dtype(config.dtype)
    is_llm = config.label_space.startswith("llm:")
    if config.tokenizer is not None and not is_llm:
        raise UsageError(MSG_OPTION.format(option="tokenizer", space=config.label_space, where="llm:<id-or-path>"))
    if config.label_space == "minilm":
        if config.bos:
            raise UsageError(MSG_OPTION.format(option="bos", space="minilm", where="LLM label spaces"))
        if config.dtype != "float32":
            raise UsageError(MSG_OPTION.format(option="dtype", space="minilm", where="LLM label spaces"))


def _synonyms(config: TrainConfig, class_lists: list[tuple[str, ...]]):
    """Synonym lists when asked for: the named taxonomy's, else each dataset's matching taxonomy's."""
    if not config.synonyms:
        return None
    if config.taxonomy:
        from ..taxonomy import get_taxonomy

        return get_taxonomy(config.taxonomy).synonyms
    return merged_synonyms(class_lists)


def _label_table(config: TrainConfig, classes: tuple[str, ...], synonyms=None):
    from ..label_space import label_embeddings, resolve_label_space

    space = resolve_label_space(config.label_space, **_label_space_options(config))
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
    sample_weight: np.ndarray | None = None,
):
    """Train a MetricProjector with AdamW + OneCycle; keep the epoch with the best val accuracy.

    Returns the selected projector and a per-epoch log. The test split is never looked at. With
    ``sample_weight`` (one non-negative weight per training row, e.g. reweighing's) each epoch
    draws its rows with replacement in proportion to the weights, so the expected loss is the
    weighted loss (the metric losses are batch-level and take no per-row weight).
    """
    import torch
    from tqdm.auto import tqdm

    from ..devices import current_device
    from ..losses import get_loss
    from .projector import MetricProjector

    device = current_device()
    torch.manual_seed(config.seed)
    loss_fn = get_loss(config.loss)
    temperature = config.temperature or DEFAULT_TEMPERATURE[config.loss]
    loss_kwargs = {} if config.loss == "cosine" else {"temperature": temperature}
    x_train = torch.as_tensor(features["train"]).to(device)
    y_train = torch.as_tensor(labels["train"]).to(device)
    x_val = torch.as_tensor(features["val"]).to(device)
    y_val = torch.as_tensor(labels["val"]).to(device)
    label_emb = torch.as_tensor(label_emb, dtype=torch.float32).to(device)
    # Built on the CPU (same initial weights whatever the device), then moved.
    projector = MetricProjector(x_train.shape[1], label_emb.shape[1], dropout=config.dropout).to(device)
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
        if sample_weight is None:
            order = torch.randperm(len(x_train), generator=generator).to(device)
        else:
            order = torch.multinomial(torch.as_tensor(sample_weight, dtype=torch.float64), len(x_train),
                                      replacement=True, generator=generator).to(device)
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
    return projector.cpu(), log


def _check_names(config: TrainConfig) -> None:
    """Unknown dataset, encoder, label-space or loss names (and misplaced options) fail before any work."""
    from ..data.registry import check_dataset_spec
    from ..encoders import ENCODERS
    from ..label_space import LABEL_SPACES
    from ..losses import get_loss

    for spec in config.dataset_specs:
        check_dataset_spec(spec)
    ENCODERS.validate(config.encoder)
    LABEL_SPACES.validate(config.label_space)
    _check_label_space_options(config)
    get_loss(config.loss)


def _own_taxonomy_summary(projector, features: np.ndarray, true: np.ndarray, own: tuple[str, ...],
                          classes: tuple[str, ...], label_emb) -> dict[str, Any]:
    """Evaluation of one dataset over its own taxonomy (its rows of the shared label table)."""
    from .evaluate import evaluation_summary

    rows = [classes.index(name) for name in own]
    pred = _nearest_label(projector, features, label_emb[rows]).numpy()
    return evaluation_summary(np.asarray(true), pred, own)


def train_bundle(config: TrainConfig, out: str | Path, *, progress: bool = True,
                 config_file: str | Path | None = None) -> Path:
    """Train everything ``config`` names and write the bundle folder ``out`` atomically.

    Parameters
    ----------
    config : TrainConfig
        One dataset (``dataset``) or several (``datasets``: TinyEmo's joint training on one shared
        label vocabulary, the union of the datasets' class names; see :mod:`.joint`).
    out : path
        Bundle folder, replaced atomically.
    progress : bool
        Show progress bars on stderr.
    config_file : path, optional
        The YAML ``config`` came from: an input ``out`` must not touch.

    Returns
    -------
    Path
        ``out``. Its bundle.json records every training dataset under ``training.datasets``.

    Raises
    ------
    InputError
        Unlabelled training data, or datasets whose features differ in dimension.
    UsageError
        Unknown names, or a tokenizer/BOS/dtype option the label space does not have.
    """
    from safetensors.torch import save_file

    from ..outputs import bundle_plan
    from .evaluate import evaluation_summary
    from .projector import save_projector

    started = time.perf_counter()
    out = Path(out)
    _check_names(config)
    outputs = bundle_plan(out, datasets=config.dataset_specs,
                             specs=(config.encoder, config.label_space, config.tokenizer),
                             files=((config.encoder_weights, "encoder weights"), (config_file, "training config")))
    outputs.check()
    parts = _load_parts(config)
    for spec, splits in parts.items():
        for split, data in splits.items():
            if not data.has_labels:
                raise InputError(f"{spec} {split} split has unlabelled items; training needs labels")
    class_lists = [splits["train"].classes for splits in parts.values()]
    classes = union_classes(class_lists)
    temperature = config.temperature or DEFAULT_TEMPERATURE.get(config.loss)
    if temperature is None:
        from ..errors import UnknownNameError

        raise UnknownNameError("loss", config.loss, DEFAULT_TEMPERATURE)
    with outputs.writing() as staged:
        workdir = staged.path(out)
        features_by_spec, encoder_record, encoder_log = _encoder_and_features(config, parts, workdir)
        data = JointData(parts=parts, features=features_by_spec, classes=classes)
        space, label_emb = _label_table(config, classes, _synonyms(config, class_lists))
        features = {split: data.stacked_features(split) for split in SPLITS}
        labels = {split: data.stacked_labels(split) for split in SPLITS}
        projector, log = fit_projector(features, labels, label_emb, config, progress=progress)
        save_projector(projector, workdir / PROJECTOR_FILE)
        save_file({"label_embeddings": label_emb.contiguous()}, str(workdir / LABELS_FILE))

        metrics: dict[str, Any] = {}
        for split in ("val", "test"):
            pred = _nearest_label(projector, features[split], label_emb).numpy()
            metrics[split] = evaluation_summary(data.stacked_labels(split, true=True), pred, classes)
        per_dataset: dict[str, dict[str, Any]] = {}
        for spec, splits in parts.items():
            own = splits["train"].classes
            per_dataset[spec] = {
                f"{split}_accuracy": _own_taxonomy_summary(
                    projector, features_by_spec[spec][split],
                    splits[split].meta.get("true_labels", splits[split].labels), own, classes, label_emb,
                )["accuracy"]
                for split in ("val", "test")
            }
        records = dataset_records(data)
        selected = max(log, key=lambda r: r["val_accuracy"])
        default_taxonomy = "joint" if config.is_joint else config.dataset
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
                "bos": config.bos,
                "tokenizer": config.tokenizer,
                "dtype": config.dtype,
                "trust_remote_code": config.trust_remote_code,
                "fingerprint": space.fingerprint(),
            },
            "taxonomy": {"name": config.taxonomy or default_taxonomy, "classes": list(classes)},
            "projector": {
                "d_in": int(data.dim),
                "d_out": int(label_emb.shape[1]),
                "dropout": config.dropout,
                "weights": PROJECTOR_FILE,
            },
            "loss": {"name": config.loss, "temperature": temperature},
            "training": {
                "config": config.to_dict(),
                "datasets": records,
                "joint": config.is_joint,
                "label_vocabulary": "union of the training datasets' class names",
                "n": {split: int(len(labels[split])) for split in SPLITS},
                "selected_epoch": selected["epoch"],
                "selection": "best validation accuracy (the test split is never used for selection)",
                "annotation_biases": list(config.faces.get("biases") or []),
            },
            "metrics": {
                "val_accuracy": metrics["val"]["accuracy"],
                "test_accuracy": metrics["test"]["accuracy"],
                "per_dataset": per_dataset,
            },
        }
        atomic_write_json(workdir / BUNDLE_FILE, spec)
        atomic_write_json(
            workdir / "metrics.json",
            {"projector_epochs": log, "encoder_training": encoder_log, **metrics, "per_dataset": per_dataset},
        )
        atomic_write_text(workdir / "MODEL_CARD.md", model_card(spec, metrics))
        sys.stderr.write(f"trained in {time.perf_counter() - started:.0f} s\n")
    return out
