"""Would another fit of the projector have done the same? The refit null of a retraining method's new finding.

A retraining method (``reweigh``, ``correlation-remover``) ends with a newly fitted projector, and
two fits of the same recipe on the same data rank the audited faces differently: a retrieval skew
can appear or vanish with the fit alone (docs/mitigation.md measures it with sham reweighings).
The paired change test (:func:`tinyemo_audit.metrics.paired_top_k_change`) asks "did the ranking
change?"; for a retrained model the fair question is "did it change more than another fit would?".

The **refit null**: ``n`` more fits of the source bundle's own recipe on its own training data
(no mitigation; seeds ``recipe.seed + 1 … + n``), each scoring the audited items as the audit
does (projected, L2-normalised, cosine to the label embeddings). For a new skew finding ("the faces
most like *label* are over-represented by *group*"), each refit's count of the group among the
label's top k is one draw of what a fit gives; the method's model is one more draw under "it is
just another fit", so the refit p-value is ``(1 + #{refit count >= method's count}) / (n + 1)``.

A new finding of a retraining method then counts as created only when both tests reject: its
p-value is the larger of the paired and the refit p (an intersection-union test), which the
comparison's one Benjamini-Hochberg then corrects. The refits are fitted once per ``mitigate`` run,
on first need, and shared by every retraining method.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

DEFAULT_REFITS = 99  # p >= 1/100: one BH-corrected finding among a few can still reach q <= 0.05
MAX_REFITS = 999
REFIT_TEST = ("refit null: the group's top-k count under {n} refits of the source's recipe (seeds {first}-{last}), "
              "p = (1 + #{{refit >= observed}}) / (n + 1)")


@dataclass(frozen=True)
class RefitNull:
    """Each refit's similarities of the audited items to the labels: ``(n_refits, n_items, K)``; its seeds."""

    similarities: np.ndarray
    seeds: tuple[int, ...]


def fit_refits(bundle, features: np.ndarray, n_refits: int, *, progress: bool = False) -> RefitNull:
    """``n_refits`` fits of ``bundle``'s own recipe on its own training data, scoring ``features`` (the audited items).

    Parameters
    ----------
    bundle : Bundle
        The source bundle (its training record names the recipe; no preprocessing step is applied:
        a refit is the source's recipe, not the mitigation's).
    features : ndarray, shape (n_items, d_in)
        The bundle encoder's features of the audited items, in the audit's order.
    """
    from tqdm.auto import tqdm

    from ._data import train_config

    first = train_config(bundle).seed + 1
    seeds = tuple(range(first, first + n_refits))
    out = np.empty((n_refits, len(features), len(bundle.classes)), dtype=np.float32)
    for i, seed in enumerate(tqdm(seeds, desc="refits of the source projector", unit="fit", disable=not progress)):
        out[i] = refit_similarities(bundle, features, seed)
    return RefitNull(out, seeds)


def refit_similarities(bundle, features: np.ndarray, seed: int) -> np.ndarray:
    """The similarities to ``bundle``'s labels of ``features`` under a fit of its own recipe with ``seed``.

    With the recipe's own seed this is the bundle itself (fitting is deterministic: a test holds it
    to the shipped bundles' similarities), so the other seeds are fits the source could have been.
    """
    from ..model.classifier import classify, project
    from ..model.train import fit_projector
    from ._data import train_config, training_data

    data = training_data(bundle, [], "the refit null")  # loaded once per bundle object
    projector = fit_projector(data.features, data.labels, bundle.label_embeddings,
                              replace(train_config(bundle), seed=seed), progress=False)[0]
    refit = replace(bundle, _cache={})  # the source's spec and label space, another fit's projector
    refit.projector = projector.eval()  # a cached_property: the instance attribute takes its place
    return classify(refit, project(refit, features), bundle.classes).similarities


def refit_test(null: RefitNull, *, label_index: int, member: np.ndarray, k: int, observed: int) -> dict[str, Any]:
    """The refit p-value of a group's count ``observed`` among the top ``k`` for label ``label_index``.

    Examples
    --------
    >>> sims = np.array([[[0.9], [0.8], [0.1]], [[0.1], [0.8], [0.9]]], dtype=np.float32)  # 2 refits, 3 items, 1 label
    >>> out = refit_test(RefitNull(sims, (1, 2)), label_index=0, member=np.array([True, False, False]), k=1, observed=1)
    >>> out["refit_counts"], out["p_value"]
    ([1, 0], 0.6666666666666666)
    """
    from ..metrics._skew_change import top_k_counts

    counts = top_k_counts(null.similarities[:, :, label_index], member, k)  # ties: the earlier item, as the audit
    p = (1.0 + float((counts >= observed).sum())) / (len(counts) + 1.0)
    return {"refit_counts": counts.astype(int).tolist(), "p_value": p,
            "test": REFIT_TEST.format(n=len(counts), first=null.seeds[0], last=null.seeds[-1])}


def with_refit_null(paired, null_of, after) -> Any:
    """A change test: the paired test, and for a skew finding also the refit null; the larger p decides.

    ``paired`` is :func:`tinyemo_audit.audit._embedding_probes.skew_change_test`'s test, ``null_of()``
    returns the :class:`RefitNull` (fitted on first call), ``after`` the mitigated audit's
    :class:`~tinyemo_audit.audit._embedding_probes.RetrievalScores`.
    """
    from ..audit._embedding_probes import skew_cell

    def test(finding: dict[str, Any]) -> dict[str, Any] | None:
        out = paired(finding)
        cell = skew_cell(after, finding) if out is not None else None
        if cell is None:
            return out
        label_index, member = cell
        refit = refit_test(null_of(), label_index=label_index, member=member, k=after.k, observed=out["after"])
        return {**out, "p_paired": out["p_value"], "p_refit": refit["p_value"], "refit_counts": refit["refit_counts"],
                "p_value": max(out["p_value"], refit["p_value"]),
                "test": f"{out['test']}; and {refit['test']}; p = the larger (intersection-union)"}

    return test
