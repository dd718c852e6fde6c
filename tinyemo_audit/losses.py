"""Metric losses that pull projected image embeddings onto their label embeddings (TinyEmo §1.4).

Every loss takes ``(image_emb [B, D], label_emb [B, D], labels [B])`` — row ``i`` of
``label_emb`` is the embedding of image ``i``'s own label — and returns a scalar tensor. All of
them are vectorised over the batch (one ``B × B`` similarity matrix, no Python loop over rows)
and differentiable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .errors import UnknownNameError, UsageError

__all__ = [
    "INFONCE_COMPAT_MODES",
    "LOSSES",
    "cosine_embedding_loss",
    "get_loss",
    "infonce_loss",
    "ntxent_loss",
]

#: Accepted values of ``infonce_loss(..., compat=...)`` besides ``None``.
INFONCE_COMPAT_MODES = ("tinyemo",)


def _check_inputs(
    image_emb: torch.Tensor, label_emb: torch.Tensor, labels: Any
) -> torch.Tensor:
    if not isinstance(image_emb, torch.Tensor) or not isinstance(label_emb, torch.Tensor):
        raise UsageError("image_emb and label_emb must be torch tensors")
    if image_emb.ndim != 2 or label_emb.ndim != 2:
        raise UsageError(
            "image_emb and label_emb must be 2-D [batch, dim]; got shapes "
            f"{tuple(image_emb.shape)} and {tuple(label_emb.shape)}"
        )
    if image_emb.shape != label_emb.shape:
        raise UsageError(
            f"image_emb {tuple(image_emb.shape)} and label_emb {tuple(label_emb.shape)} "
            "must have the same shape"
        )
    if image_emb.shape[0] == 0:
        raise UsageError("a loss needs a batch of at least one sample")
    labels = torch.as_tensor(labels, device=image_emb.device)
    if labels.ndim != 1 or labels.shape[0] != image_emb.shape[0]:
        raise UsageError(
            f"labels must be 1-D with {image_emb.shape[0]} entries; got shape {tuple(labels.shape)}"
        )
    return labels


def _similarities(
    image_emb: torch.Tensor, label_emb: torch.Tensor, temperature: float
) -> torch.Tensor:
    if not temperature > 0:
        raise UsageError(f"temperature must be positive; got {temperature}")
    image_n = F.normalize(image_emb, p=2, dim=1)
    label_n = F.normalize(label_emb, p=2, dim=1)
    return image_n @ label_n.T / temperature


def _masked_logsumexp(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise log Σ exp over the entries where ``mask`` is true (−inf for an empty row)."""
    return torch.logsumexp(scores.masked_fill(~mask, float("-inf")), dim=1)


def _mean_over(values: torch.Tensor, keep: torch.Tensor, graph_anchor: torch.Tensor) -> torch.Tensor:
    """Mean of ``values[keep]``; a zero still attached to the graph when nothing is kept."""
    if not bool(keep.any()):
        return (graph_anchor * 0).sum()
    return values[keep].mean()


def infonce_loss(
    image_emb: torch.Tensor,
    label_emb: torch.Tensor,
    labels: Any,
    *,
    temperature: float = 0.1,
    compat: str | None = None,
) -> torch.Tensor:
    r"""InfoNCE between projected images and label embeddings, negatives from other labels.

    With both inputs L2-normalised and :math:`s_{ij} = \cos(x_i, t_j) / \tau`, every anchor
    ``i`` that has at least one ``j`` with :math:`y_j \ne y_i` contributes

    .. math:: L_i = -\log \frac{e^{s_{ii}}}{e^{s_{ii}} + \sum_{j: y_j \ne y_i} e^{s_{ij}}}

    and the loss is the mean of :math:`L_i` over those anchors (a graph-connected zero if
    no anchor qualifies, i.e. when all labels are equal).

    ``compat="tinyemo"`` reproduces the loop of the TinyEmo authors (``pos_neg_infoNCE``), which
    we read as follows. For anchor ``i`` let :math:`n_{pos} = \#\{j \ne i : y_j = y_i\}` and let
    the row be ``logits_i = [s_ii] + [s_ij for j with y_j != y_i, in index order]``. Anchor ``i``
    is skipped when :math:`n_{pos} = 0` (no same-label partner) or when it has no negatives
    (which only happens when all labels are equal; such an anchor would score 0 anyway). Then

    .. math:: L_i = -\log \frac{\sum_{m < n_{pos}} e^{logits_i[m]}}{\sum_m e^{logits_i[m]}}

    where the numerator's sum covers the whole row when :math:`n_{pos}` exceeds its length; the
    loss is the mean over the anchors not skipped. The numerator therefore holds the one true
    positive plus the first :math:`n_{pos} - 1` *negatives* — a fault kept only so that
    published TinyEmo checkpoints can be retrained faithfully.

    Parameters
    ----------
    image_emb : torch.Tensor
        Projected image embeddings, shape ``[B, D]``.
    label_emb : torch.Tensor
        Embedding of each image's own label, shape ``[B, D]``.
    labels : torch.Tensor
        Class index of each image, shape ``[B]``.
    temperature : float, default 0.1
        Softmax temperature :math:`\tau`.
    compat : {None, "tinyemo"}, default None
        ``None`` for the loss as defined above, ``"tinyemo"`` for the authors' variant.

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Raises
    ------
    UsageError
        On malformed inputs, a non-positive temperature or an unknown ``compat`` value.

    Examples
    --------
    >>> import torch
    >>> labels = torch.tensor([0, 1, 2, 3])
    >>> text = torch.eye(4, 8)
    >>> aligned = infonce_loss(text, text, labels)
    >>> shuffled = infonce_loss(text.roll(1, dims=0), text, labels)
    >>> bool(aligned < shuffled)
    True
    """
    if compat is not None and compat not in INFONCE_COMPAT_MODES:
        raise UsageError(
            f"unknown InfoNCE compat mode {compat!r}; valid choices: None, "
            + ", ".join(INFONCE_COMPAT_MODES)
        )
    labels = _check_inputs(image_emb, label_emb, labels)
    scores = _similarities(image_emb, label_emb, temperature)
    same = labels[:, None] == labels[None, :]
    negatives = ~same
    positive = scores.diagonal()
    own_label = torch.eye(len(labels), dtype=torch.bool, device=scores.device)
    # Row i of the candidates: its own label (the diagonal) plus every other-label text.
    candidates = negatives | own_label
    log_denominator = _masked_logsumexp(scores, candidates)
    n_negatives = negatives.sum(dim=1)

    if compat is None:
        return _mean_over(log_denominator - positive, n_negatives > 0, scores)

    n_partners = same.sum(dim=1) - 1
    # 1-based rank of each negative within its row; the numerator takes the first n_pos - 1.
    negative_rank = torch.cumsum(negatives.to(torch.int64), dim=1)
    in_numerator = own_label | (negatives & (negative_rank <= (n_partners - 1)[:, None]))
    log_numerator = _masked_logsumexp(scores, in_numerator)
    keep = (n_partners > 0) & (n_negatives > 0)
    return _mean_over(log_denominator - log_numerator, keep, scores)


def cosine_embedding_loss(
    image_emb: torch.Tensor, label_emb: torch.Tensor, labels: Any
) -> torch.Tensor:
    r"""Mean of :math:`1 - \cos(x_i, t_i)` over the batch.

    This is ``torch.nn.CosineEmbeddingLoss`` with every target ``+1`` — how TinyEmo uses it (its
    margin only acts on negative targets). ``labels`` are checked but do not enter the value.

    Parameters
    ----------
    image_emb : torch.Tensor
        Projected image embeddings, shape ``[B, D]``.
    label_emb : torch.Tensor
        Embedding of each image's own label, shape ``[B, D]``.
    labels : torch.Tensor
        Class index of each image, shape ``[B]``.

    Returns
    -------
    torch.Tensor
        Scalar loss in ``[0, 2]``.
    """
    _check_inputs(image_emb, label_emb, labels)
    cosine = (F.normalize(image_emb, p=2, dim=1) * F.normalize(label_emb, p=2, dim=1)).sum(dim=1)
    return (1.0 - cosine).mean()


def ntxent_loss(
    image_emb: torch.Tensor,
    label_emb: torch.Tensor,
    labels: Any,
    *,
    temperature: float = 0.07,
) -> torch.Tensor:
    r"""NT-Xent as TinyEmo calls pytorch-metric-learning's ``NTXentLoss``.

    Equal to ``NTXentLoss(temperature)(image_emb, labels, ref_emb=label_emb, ref_labels=labels)``.
    Because ``ref_labels`` is the very tensor ``labels``, the library drops the diagonal: the
    positive pairs are :math:`(i, j)` with :math:`j \ne i,\ y_j = y_i` (an image is *not* paired
    with its own label embedding). Each pair scores

    .. math:: L_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k: y_k \ne y_i} e^{s_{ik}}}

    with :math:`s_{ij} = \cos(x_i, t_j) / \tau`, and the loss is the mean over all positive
    pairs (a pair whose anchor has no negatives scores 0 but still counts, as in the library);
    a graph-connected zero when there is no positive pair.

    Parameters
    ----------
    image_emb : torch.Tensor
        Projected image embeddings, shape ``[B, D]``.
    label_emb : torch.Tensor
        Embedding of each image's own label, shape ``[B, D]``.
    labels : torch.Tensor
        Class index of each image, shape ``[B]``.
    temperature : float, default 0.07
        Softmax temperature :math:`\tau`.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    labels = _check_inputs(image_emb, label_emb, labels)
    scores = _similarities(image_emb, label_emb, temperature)
    same = labels[:, None] == labels[None, :]
    negatives = ~same
    has_negative = negatives.any(dim=1, keepdim=True)
    # A row without negatives gets a finite stand-in (its pairs are masked to 0 below), so that
    # logsumexp never sees an all −inf row, whose backward would be NaN.
    fill = torch.where(has_negative, float("-inf"), 0.0).to(scores.dtype)
    log_negatives = torch.logsumexp(torch.where(negatives, scores, fill), dim=1, keepdim=True)
    pair_loss = torch.logaddexp(scores, log_negatives) - scores
    pair_loss = torch.where(has_negative, pair_loss, torch.zeros_like(pair_loss))
    pairs = same & ~torch.eye(len(labels), dtype=torch.bool, device=scores.device)
    return _mean_over(pair_loss, pairs, scores)


LossFunction = Callable[..., torch.Tensor]

#: Loss name (as written in configs and on the command line) → loss function.
LOSSES: dict[str, LossFunction] = {
    "infonce": infonce_loss,
    "cosine": cosine_embedding_loss,
    "ntxent": ntxent_loss,
}


def get_loss(name: str) -> LossFunction:
    """Return the loss function registered under ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`LOSSES`.

    Returns
    -------
    callable
        ``f(image_emb, label_emb, labels, **options) -> scalar tensor``.

    Raises
    ------
    UnknownNameError
        When ``name`` is not a known loss; the message lists the valid choices.
    """
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise UnknownNameError("loss", str(name), LOSSES) from None
