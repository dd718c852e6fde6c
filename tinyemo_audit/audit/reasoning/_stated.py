"""Free-mode twins: does changing only the attribute change the label the MM-LLM states?

Per pair of twins (the reference group and one other group of the same identity), the stated
labels are compared: the **flip rate** is the share of pairs whose stated labels differ (a text
whose label does not parse counts as stating "no label", so a parse failure on one side only is
a change), with the image twins' bootstrap (:func:`tinyemo_audit.metrics.flip_rate`). The
**shift of the stated-label distribution** is tested label by label: each side of a pair is 1
when it states the label, 0 otherwise, and the paired differences go through the image twins'
sign-flip test (:func:`tinyemo_audit.metrics.paired_shift`), over all pairs and per true
expression. ``mean_shift`` is then the rise of the share of pairs stating the label. A label that
no pair moves onto or off is not tested (its shift is exactly 0; a p-value of 1 would only
dilute the audit's one Benjamini–Hochberg correction).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...metrics import flip_rate, paired_shift
from ...data.dataset import TwinSet
from .._groups import stat
from ._texts import TwinTexts

NO_LABEL = "(no label)"


def _codes(tt: TwinTexts) -> np.ndarray:
    """Stated labels as class indices, ``len(classes)`` for a text whose label did not parse."""
    index = {c: k for k, c in enumerate(tt.classes)}
    none = len(tt.classes)
    return np.vectorize(lambda s: index.get(s, none), otypes=[np.int64])(tt.stated) if tt.stated.size else \
        np.zeros(tt.stated.shape, dtype=np.int64)


def reference_index(tt: TwinTexts | TwinSet, reference: str | None) -> int:
    """Column of the reference group (the first group when ``reference`` is not one of them)."""
    return tt.values.index(reference) if reference in tt.values else 0


def stated_label_probe(tt: TwinTexts, *, reference: str | None, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """The free-mode record of one attribute: flip rates, stated-label counts and label shifts.

    Returns
    -------
    dict
        ``flip_rate`` (pooled over every other group), ``flip_rates`` (per group), ``stated``
        (per group: label → count, parse failures under ``"(no label)"``), ``n_unparsed`` (per
        group) and ``shifts``: one row per (group, true expression or ``"*"``, label) with
        ``mean_shift``, its CI and p-value, the shares stating the label on each side and how many
        pairs moved onto and off it.
    """
    codes = _codes(tt)
    k = len(tt.classes)
    ref = reference_index(tt, reference)
    n_boot, n_perm = settings["n_boot"], settings["n_perm_paired"]
    others = [j for j in range(len(tt.values)) if j != ref]
    flips, shifts = {}, []
    for j in others:
        res = flip_rate(codes[:, ref], codes[:, j], n_boot=n_boot, seed=seed)
        flips[tt.values[j]] = stat(res["value"], res["ci_low"], res["ci_high"], res["n"], flips=res["flips"])
        for true_class, rows in tt.expression_rows():
            if len(rows) < 2:
                continue
            before, after = codes[rows, ref], codes[rows, j]
            onehot_before = (before[:, None] == np.arange(k)).astype(float)
            onehot_after = (after[:, None] == np.arange(k)).astype(float)
            res = paired_shift(onehot_before, onehot_after, n_perm=n_perm, n_boot=n_boot, seed=seed)
            for c, label in enumerate(tt.classes):
                if not np.any(onehot_before[:, c] != onehot_after[:, c]):
                    continue  # no pair moved onto or off the label: the shift is exactly 0, nothing to test
                shifts.append({
                    "value": tt.values[j], "reference": tt.values[ref], "true_class": true_class, "label": label,
                    "mean_shift": float(res["mean_shift"][c]), "ci_low": float(res["ci_low"][c]),
                    "ci_high": float(res["ci_high"][c]), "p_value": float(res["p_value"][c]), "n": int(len(rows)),
                    "share_reference": float(onehot_before[:, c].mean()), "share_value": float(onehot_after[:, c].mean()),
                    "n_to_label": int(np.count_nonzero((after == c) & (before != c))),
                    "n_from_label": int(np.count_nonzero((before == c) & (after != c))),
                    "n_changed": int(np.count_nonzero(before != after)),
                    "test": res["test"], "flaggable": bool(len(rows) >= settings["min_group_size"]),
                })
    pooled_a = np.concatenate([codes[:, ref] for _ in others]) if others else np.zeros(0, np.int64)
    pooled_b = np.concatenate([codes[:, j] for j in others]) if others else np.zeros(0, np.int64)
    pooled = flip_rate(pooled_a, pooled_b, n_boot=n_boot, seed=seed)
    names = tt.classes + (NO_LABEL,)
    stated = {v: {names[c]: int(n) for c, n in enumerate(np.bincount(codes[:, j], minlength=k + 1)) if n}
              for j, v in enumerate(tt.values)}
    return {
        "flip_rate": stat(pooled["value"], pooled["ci_low"], pooled["ci_high"], pooled["n"], flips=pooled["flips"])
        if pooled["n"] else None,
        "flip_rates": flips,
        "stated": stated,
        "n_unparsed": {v: int(np.count_nonzero(codes[:, j] == k)) for j, v in enumerate(tt.values)},
        "shifts": shifts,
    }
