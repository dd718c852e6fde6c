"""Prompt projection: bias directions from counterfactual prompt pairs projected out of the label embeddings.

After Chuang et al. 2023 ("Debiasing vision-language models via biased prompts"): the prompts of a
pair differ only in a demographic term ("a photo of an angry man" / "... woman"); their
differences span the bias subspace. ``orthogonal`` projects it out, ``P = I − V Vᵀ`` (V an
orthonormal basis of the pairs' differences); ``calibrated`` is their calibrated projection
``P* = P (I + λ/|S| Σ (z_i − z_j)(z_i − z_j)ᵀ)⁻¹``, which also pulls each pair's projected
embeddings together. The projected labels are L2-normalised again; no weights are retrained.
"""

from __future__ import annotations

import numpy as np

PROJECTIONS = ("orthogonal", "calibrated")


def pair_embeddings(space, templates: list[str], terms: dict[str, list[str]], emotions: tuple[str, ...],
                    reference: str) -> tuple[np.ndarray, np.ndarray]:
    """Label-space embeddings of every counterfactual prompt pair (reference term vs each other group's).

    Returns ``(a, b)``: float64 ``[n_pairs, D]``, row i of ``a`` and of ``b`` differ only in the term.
    """
    size = min(len(v) for v in terms.values())
    left, right = [], []
    for value, words in terms.items():
        if value == reference:
            continue
        for template in templates:
            for emotion in emotions:
                for i in range(size):
                    left.append(template.format(emotion=emotion, group=terms[reference][i]))
                    right.append(template.format(emotion=emotion, group=words[i]))
    emb = space.embed_texts(left + right).numpy().astype(np.float64)
    return emb[: len(left)], emb[len(left):]


def bias_basis(differences: np.ndarray, rank: int) -> np.ndarray:
    """Orthonormal basis ``[D, r]`` of the top ``rank`` directions of the pair differences (SVD)."""
    _, singular, vt = np.linalg.svd(np.asarray(differences, dtype=np.float64), full_matrices=False)
    keep = min(rank, int((singular > singular[0] * 1e-10).sum()) if len(singular) else 0)
    return vt[:keep].T


def projection_matrix(differences: list[np.ndarray], *, rank: int, method: str = "orthogonal",
                      lam: float = 1000.0) -> np.ndarray:
    """The ``[D, D]`` matrix applied to label embeddings (see the module docstring).

    ``differences`` holds one ``[n_pairs, D]`` array per attribute; the subspace removed is spanned
    by the top ``rank`` directions of each, orthonormalised together.
    """
    basis = np.concatenate([bias_basis(d, rank) for d in differences], axis=1)
    q, r = np.linalg.qr(basis)
    basis = q[:, np.abs(np.diag(r)) > 1e-8]
    width = basis.shape[0]
    p0 = np.eye(width) - basis @ basis.T
    if method == "orthogonal":
        return p0
    pairs = np.concatenate(differences)
    scatter = pairs.T @ pairs / max(len(pairs), 1)
    return p0 @ np.linalg.inv(np.eye(width) + lam * scatter)


def project_labels(labels: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Label embeddings ``[K, D]`` through ``matrix`` (rows ``l ← P l``), L2-normalised again."""
    out = np.asarray(labels, dtype=np.float64) @ matrix.T
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)
