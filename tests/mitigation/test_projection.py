"""Prompt projection: the label space ends orthogonal to the removed directions; the calibrated form by hand."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.mitigation import project_labels, projection_matrix
from tinyemo_audit.mitigation._projection import bias_basis, pair_embeddings


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 3), st.sampled_from(["orthogonal", "calibrated"]))
def test_projected_labels_are_orthogonal_to_the_removed_directions(seed, rank, method):
    rng = np.random.default_rng(seed)
    differences = [rng.normal(size=(12, 16)), rng.normal(size=(8, 16))]
    labels = rng.normal(size=(7, 16))
    projected = project_labels(labels, projection_matrix(differences, rank=rank, method=method, lam=50.0))
    removed = np.concatenate([bias_basis(d, rank) for d in differences], axis=1)
    assert np.abs(projected @ removed).max() < 1e-5
    assert np.allclose(np.linalg.norm(projected, axis=1), 1.0, atol=1e-5)


def test_orthogonal_projection_of_a_hand_computed_case():
    # one pair differing along x: the bias direction is x; a label (1, 1, 0) loses its x part
    matrix = projection_matrix([np.array([[2.0, 0.0, 0.0]])], rank=1)
    assert np.allclose(matrix, np.diag([0.0, 1.0, 1.0]))
    assert np.allclose(project_labels(np.array([[1.0, 1.0, 0.0]]), matrix), [[0.0, 1.0, 0.0]])


def test_calibrated_projection_of_a_hand_computed_case():
    # pairs differ along x (removed) and, in one pair, also along y: P* = P0 (I + lam S)^-1 with
    # S = mean of d d^T = [[2.5, 0.5], [0.5, 0.5]] for d1 = (2, 1), d2 = (1, 0); rank 1 removes the top direction
    d = np.array([[2.0, 1.0], [1.0, 0.0]])
    lam = 2.0
    basis = bias_basis(d, 1)
    p0 = np.eye(2) - basis @ basis.T
    expected = p0 @ np.linalg.inv(np.eye(2) + lam * (d.T @ d) / 2)
    assert np.allclose(projection_matrix([d], rank=1, method="calibrated", lam=lam), expected)


class _Space:
    """A label space that embeds a prompt as a fixed vector per word (enough to check the pairing)."""

    def embed_texts(self, texts):
        vocab = {"man": [1, 0, 0], "woman": [0, 1, 0], "angry": [0, 0, 1], "happy": [0, 0, 2]}
        rows = [np.sum([vocab.get(w, [0, 0, 0]) for w in t.split()], axis=0) for t in texts]
        return torch.tensor(np.array(rows, dtype=np.float32))


def test_prompt_pairs_differ_only_in_the_group_term():
    a, b = pair_embeddings(_Space(), ["a {emotion} {group}"], {"masculine": ["man"], "feminine": ["woman"]},
                           ("angry", "happy"), "masculine")
    assert np.allclose(b - a, [[-1, 1, 0], [-1, 1, 0]])
