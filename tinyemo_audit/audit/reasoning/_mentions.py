"""Attribute mentions: how often the reasoning names a protected attribute, by group and by emotion.

A text *mentions* the attribute when it holds any term of the attribute's lexicon
(:mod:`._lexicon`; settings ``reasoning.lexicons``). Texts are the conditional-mode ones (the
same hint on both twins), so a difference between twins comes from the image alone. Per group
and true expression the probe counts mentioning texts; per pair of twins (reference group vs
another) the indicator "mentions" is compared with the image twins' paired sign-flip test, over
all pairs and per true expression: ``mean_shift`` is the rise of the share of texts that name the
attribute. Reasoning that names dark skin while explaining a neutral face is a finding even when
the label is right.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...metrics import paired_shift
from ._lexicon import matched_terms, mentions
from ._texts import TwinTexts


def lexicon_terms(lexicon: dict[str, Any]) -> tuple[str, ...]:
    """Every term of one attribute's lexicon (``general`` first, then each group's), each once."""
    words = list(lexicon.get("general") or []) + [t for group in (lexicon.get("groups") or {}).values() for t in group]
    return tuple(dict.fromkeys(words))


def mention_grid(tt: TwinTexts, lexicon: dict[str, Any]) -> np.ndarray:
    """bool ``[identities, groups]``: the conditional-mode text names the attribute."""
    n, k = tt.conditional.shape
    return mentions(list(tt.conditional.ravel()), lexicon_terms(lexicon)).reshape(n, k)


def _named_groups(tt: TwinTexts, lexicon: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per twin group: how many of its texts name each lexicon group (``dark``, ``light``...)."""
    out = {}
    for j, value in enumerate(tt.values):
        texts = list(tt.conditional[:, j])
        counts = {name: int(mentions(texts, words).sum()) for name, words in (lexicon.get("groups") or {}).items()}
        if lexicon.get("general"):
            counts["(general)"] = int(mentions(texts, lexicon["general"]).sum())
        out[value] = {name: n for name, n in counts.items() if n}
    return out


def mention_probe(tt: TwinTexts, lexicon: dict[str, Any], *, reference: int, settings: dict[str, Any],
                  seed: int) -> dict[str, Any]:
    """The mentions record of one attribute.

    Returns
    -------
    dict
        ``terms`` (the lexicon), ``rates`` (group → ``"*"`` or true expression →
        ``{"count", "n", "rate"}``), ``named`` (group → lexicon group → texts naming it) and
        ``shifts`` rows (group, true expression or ``"*"``): ``mean_shift`` with CI and p-value,
        ``count_reference`` and ``count_value``. A comparison in which no pair differs is not tested.
    """
    grid = mention_grid(tt, lexicon)
    n_boot, n_perm = settings["n_boot"], settings["n_perm_paired"]
    cells = tt.expression_rows()
    rates = {value: {name: {"count": int(grid[rows, j].sum()), "n": int(len(rows)),
                            "rate": float(grid[rows, j].mean())}
                     for name, rows in cells if len(rows)}
             for j, value in enumerate(tt.values)}
    shifts = []
    for j, value in enumerate(tt.values):
        if j == reference:
            continue
        for true_class, rows in cells:
            before, after = grid[rows, reference].astype(float), grid[rows, j].astype(float)
            if len(rows) < 2 or not np.any(before != after):
                continue
            res = paired_shift(before, after, n_perm=n_perm, n_boot=n_boot, seed=seed)
            shifts.append({
                "value": value, "reference": tt.values[reference], "true_class": true_class,
                "mean_shift": res["mean_shift"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
                "p_value": res["p_value"], "n": int(len(rows)),
                "count_reference": int(before.sum()), "count_value": int(after.sum()),
                "test": res["test"], "flaggable": bool(len(rows) >= settings["min_group_size"]),
            })
    return {"terms": list(lexicon_terms(lexicon)), "rates": rates, "named": _named_groups(tt, lexicon),
            "shifts": shifts}


def first_mention(text: str, lexicon: dict[str, Any]) -> str | None:
    """The first lexicon term a text names (lowercased), or None."""
    named = matched_terms(text, lexicon_terms(lexicon))
    return named[0] if named else None
