"""Reweighing (Kamiran & Calders 2012): training weights that make label and protected group independent."""

from __future__ import annotations

import numpy as np


def reweighing_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Kamiran & Calders' weight of each training item: ``P(A=a) P(Y=y) / P(A=a, Y=y)``.

    Under these weights the joint distribution of group and label is the product of its
    marginals (the expected count of every cell ``(a, y)`` is ``n_a n_y / n``), so the training
    labels no longer carry the group: the stereotype pattern an annotation bias plants ("dark →
    angry") is weighed down and its counter-examples up.

    Parameters
    ----------
    labels : array of int, shape (n,)
        Training labels.
    groups : array, shape (n,)
        Protected group of each item (for several attributes, their joint group).

    Returns
    -------
    ndarray of float64, shape (n,)
        Positive weights; their mean is 1 when every (group, label) cell has items.

    Examples
    --------
    >>> reweighing_weights(np.array([1, 1, 0, 0]), np.array(["a", "a", "a", "b"])).round(3).tolist()
    [0.75, 0.75, 1.5, 0.5]
    """
    labels = np.asarray(labels)
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    _, y = np.unique(labels, return_inverse=True)
    n = len(labels)
    joint = np.zeros((g.max() + 1, y.max() + 1))
    np.add.at(joint, (g, y), 1.0)
    expected = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True) / n
    # every observed cell has joint >= 1, so the ratio is finite where it is read
    return (expected[g, y] / joint[g, y]).astype(np.float64)
