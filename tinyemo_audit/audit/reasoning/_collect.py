"""The runner's hook: whether the reasoning audit runs, and the texts it reads, got through the reasoning package.

This is the only module of the reasoning audit that touches a model. It reaches the MM-LLM through
the reasoning package's public API (``tinyemo_audit.reasoning``: ``explain_twins``,
``reference_reasoning``, ``GenerationSettings``), imported inside the functions, so that a build
without that package runs exactly as before: the probe is skipped with its reason.

Which twins are explained (cost-bounded by ``reasoning.twins_per_attribute``): the identities of
the image twin set whose true expression is among ``reasoning.expressions`` (all when null), dealt
evenly over those expressions in identity order. Per identity, every group is explained twice:
in free mode (the stated label) and in conditional mode, where every twin gets the projector's
label of the reference twin as the hint. Generation is greedy (the part's own settings, with at
most ``reasoning.max_new_tokens`` tokens), so equal seeds give equal texts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ...errors import UsageError
from ...user_text import shown
from ._stated import reference_index
from ._texts import TwinTexts

MSG_REQUIRED = ("settings reasoning.enabled is true, but bundle {bundle} has no reasoning part; add one with "
                "`tinyemo-audit train-reasoning --model {bundle} --data <instruct folder>` or set "
                "reasoning.enabled to auto")
MSG_NO_PACKAGE = ("settings reasoning.enabled is true, but this build of tinyemo-audit has no reasoning package "
                  "(tinyemo_audit.reasoning)")
SKIP_DISABLED = "settings reasoning.enabled is false"
SKIP_NO_BUNDLE = "a predictions-only audit has no MM-LLM to explain the twins"
SKIP_NO_PART = "the bundle has no reasoning part (add one with `tinyemo-audit train-reasoning`)"
SKIP_NO_PACKAGE = "this build of tinyemo-audit has no reasoning package (tinyemo_audit.reasoning)"
SKIP_NO_IMAGES = "its counterfactual sets are items of a predictions file, not images the MM-LLM can read"
SKIP_NO_EXPRESSION = "none of its twins has a true expression among reasoning.expressions"


def _package_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tinyemo_audit.reasoning") is not None


def reasoning_status(bundle, settings: dict[str, Any]) -> str | None:
    """None when the reasoning audit runs; else why not (a ``run.skipped`` reason).

    Checked before any work: with ``reasoning.enabled: true`` a bundle without a reasoning part
    (or a build without the reasoning package) is a usage error; a damaged part raises the
    reasoning package's own InputError when it is read here.

    Raises
    ------
    UsageError
        ``enabled: true`` and nothing to run.
    """
    enabled = settings["reasoning"]["enabled"]
    if enabled is False:
        return SKIP_DISABLED
    if bundle is None:
        if enabled is True:
            raise UsageError(f"settings reasoning.enabled is true, but {SKIP_NO_BUNDLE}")
        return SKIP_NO_BUNDLE
    if not _package_available() or not hasattr(bundle, "has_reasoning"):
        if enabled is True:
            raise UsageError(MSG_NO_PACKAGE)
        return SKIP_NO_PACKAGE
    if not bundle.has_reasoning:
        if enabled is True:
            raise UsageError(MSG_REQUIRED.format(bundle=shown(bundle.name)))
        return SKIP_NO_PART
    bundle.reasoning  # noqa: B018 - reads and checks reasoning.json now: a damaged part is exit 2 before any work
    return None


def select_identities(labels: np.ndarray, classes, expressions, n: int) -> np.ndarray:
    """Rows of at most ``n`` identities whose expression is in ``expressions`` (None: all), dealt evenly.

    Round-robin over the expressions in the order given, each expression's identities in row order,
    so the choice depends on the twin set alone.

    Examples
    --------
    >>> select_identities(np.array([0, 1, 0, 1, 0, 2]), ("a", "b", "c"), ["a", "b"], 3).tolist()
    [0, 1, 2]
    """
    labels = np.asarray(labels)
    wanted = list(range(len(classes))) if expressions is None else [classes.index(e) for e in expressions
                                                                    if e in classes]
    queues = [np.flatnonzero(labels == k).tolist() for k in wanted]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < n and any(depth < len(q) for q in queues):
        chosen.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return np.sort(np.asarray(chosen[:n], dtype=np.int64))


def collect_texts(bundle, twin_predictions: dict[str, Any], settings: dict[str, Any], references: dict[str, Any],
                  *, seed: int, progress: bool = False,
                  skipped: list[dict[str, Any]] | None = None) -> dict[str, TwinTexts]:
    """What the MM-LLM writes about each attribute's twins (the image twins the counterfactual probe used).

    Parameters
    ----------
    bundle : Bundle
        With a reasoning part (:func:`reasoning_status` returned None).
    twin_predictions : dict of attribute → TwinPredictions
        From the counterfactual stage: the twin sets and the projector's labels of every twin.
    settings : dict
        The audit settings (``reasoning`` section).
    references : dict of attribute → group or None
        The reference group of each attribute: its twin's projector label is the conditional hint.
    seed : int
        Seed of the reference reasoning's templates.
    skipped : list, optional
        ``run.skipped``: an attribute left out is named there.

    Returns
    -------
    dict of attribute → TwinTexts
    """
    options = settings["reasoning"]
    wanted = options["attributes"]
    part = bundle.reasoning
    generation = part.generation
    generation = replace(generation, max_new_tokens=min(int(generation.max_new_tokens), options["max_new_tokens"]))
    out: dict[str, TwinTexts] = {}
    for attr, tp in twin_predictions.items():
        if wanted is not None and attr not in wanted:
            continue
        twins = tp.twins
        reason = None
        rows = np.zeros(0, dtype=np.int64)
        if twins.images is None:
            reason = SKIP_NO_IMAGES
        else:
            rows = select_identities(twins.labels, twins.classes, options["expressions"], options["twins_per_attribute"])
            if not len(rows):
                reason = SKIP_NO_EXPRESSION
        if reason is not None:
            if skipped is not None:
                skipped.append({"probe": f"reasoning audit of {attr}", "reason": reason,
                                "metrics": [f"reasoning.by_attribute.{attr}"]})
            continue
        out[attr] = _explain(bundle, tp, rows, references.get(attr), generation, seed=seed, progress=progress)
    return out


def _explain(bundle, tp, rows: np.ndarray, reference: str | None, generation, *, seed: int, progress: bool) -> TwinTexts:
    """Free and conditional explanations of the twins ``rows`` of one twin set."""
    from ...reasoning import explain_twins

    twins = tp.twins
    ref = reference_index(twins, reference)  # the probes' reference column: the hint is that twin's label
    subset = replace(twins, images=twins.images[rows], labels=twins.labels[rows], ids=twins.ids[rows],
                     attributes=twins.attributes.iloc[rows].reset_index(drop=True),
                     meta={k: (v[rows] if isinstance(v, np.ndarray) and len(v) == len(twins) else v)
                           for k, v in (twins.meta or {}).items()},
                     present=None if twins.present is None else twins.present[rows])
    hints = [twins.classes[int(k)] for k in tp.predicted[rows, ref]]
    # cache=True: a batch generated by an earlier audit of the same part and images is read back (greedy, exact)
    free = explain_twins(bundle, subset, mode="free", settings=generation, progress=progress, cache=True)
    conditional = explain_twins(bundle, subset, mode="conditional", hints=hints, settings=generation, progress=progress,
                                cache=True)
    known = set(twins.classes)
    return TwinTexts(
        attribute=twins.attribute, values=twins.values, classes=twins.classes, ids=subset.ids, labels=subset.labels,
        stated=[[e.stated_label if e.stated_label in known else None for e in row] for row in free],
        free=[[e.reasoning for e in row] for row in free],
        conditional=[[e.reasoning for e in row] for row in conditional],
        hints=np.asarray(hints, dtype=object), reference=_reference_texts(subset, seed),
    )


def _reference_texts(twins, seed: int) -> np.ndarray | None:
    """The grounded reference reasoning of each twin (faces: from the drawn cues; None elsewhere).

    No annotator-bias knob: the reference is what an unbiased annotator writes about the drawn
    expression, the same for every twin of an identity, so its leakage is at chance by construction
    and the amplification measures everything the model adds.
    """
    intensity = (twins.meta or {}).get("intensity")
    if intensity is None or np.any(np.asarray(twins.labels) < 0):
        return None
    from ...reasoning import reference_reasoning

    texts = reference_reasoning(np.asarray(twins.labels), np.asarray(intensity), seed=seed).reasoning
    return np.repeat(np.asarray(texts, dtype=object)[:, None], len(twins.values), axis=1)
