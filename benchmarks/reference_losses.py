"""Straightforward per-sample loop versions of the metric losses: test oracles and benchmark baselines.

Written for clarity, not speed: one Python iteration per anchor, plain exp/log on explicitly
gathered rows. ``tests/test_losses.py`` checks ``tinyemo_audit.losses`` against these, and
``benchmarks/bench_losses.py`` times them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _row_similarities(image_emb, label_emb, i, temperature):
    """cos(image_i, label_j) / τ for every j."""
    return F.cosine_similarity(image_emb[i].unsqueeze(0), label_emb, dim=1) / temperature


def infonce_reference(image_emb, label_emb, labels, temperature=0.1):
    """InfoNCE as specified: anchors with ≥1 other-label sample, positive = own label text."""
    losses = []
    for i in range(len(labels)):
        negatives = labels != labels[i]
        if not bool(negatives.any()):
            continue
        s = _row_similarities(image_emb, label_emb, i, temperature)
        positive = torch.exp(s[i])
        losses.append(-torch.log(positive / (positive + torch.exp(s[negatives]).sum())))
    if not losses:
        return torch.zeros((), dtype=image_emb.dtype)
    return torch.stack(losses).mean()


def infonce_tinyemo_reference(image_emb, label_emb, labels, temperature=0.1):
    """Literal transcription of the TinyEmo authors' InfoNCE loop (numerator = first n_pos entries)."""
    losses = []
    for i in range(len(labels)):
        partners = [j for j in range(len(labels)) if j != i and labels[j] == labels[i]]
        negatives = [j for j in range(len(labels)) if labels[j] != labels[i]]
        if len(partners) == 0 or len(negatives) == 0:
            continue
        s = _row_similarities(image_emb, label_emb, i, temperature)
        logits = torch.cat([s[i : i + 1], s[negatives]])
        exp_logits = torch.exp(logits)
        numerator = exp_logits[: len(partners)].sum()
        losses.append(-torch.log(numerator / exp_logits.sum()))
    if not losses:
        return torch.zeros((), dtype=image_emb.dtype)
    return torch.stack(losses).mean()


def cosine_reference(image_emb, label_emb, labels):
    """Mean over samples of 1 − cos(image_i, label_i)."""
    total = 0.0
    for i in range(len(labels)):
        total = total + (1 - F.cosine_similarity(image_emb[i], label_emb[i], dim=0))
    return total / len(labels)


def ntxent_reference(image_emb, label_emb, labels, temperature=0.07):
    """NT-Xent with positive pairs (i, j≠i, same label), negatives = other-label texts of row i."""
    pair_losses = []
    for i in range(len(labels)):
        same = labels == labels[i]
        same[i] = False
        if not bool(same.any()):
            continue
        s = _row_similarities(image_emb, label_emb, i, temperature)
        negative_sum = torch.exp(s[labels != labels[i]]).sum()
        positives = torch.exp(s[same])
        pair_losses.append(-torch.log(positives / (positives + negative_sum)))
    if not pair_losses:
        return torch.zeros((), dtype=image_emb.dtype)
    return torch.cat(pair_losses).mean()


REFERENCE_LOSSES = {
    "infonce": infonce_reference,
    "infonce-tinyemo": infonce_tinyemo_reference,
    "cosine": cosine_reference,
    "ntxent": ntxent_reference,
}
