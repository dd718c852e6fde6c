"""``eval --reasoning``: how well the MM-LLM names labels, follows hints and grounds its reasoning.

On n test items the MM-LLM answers twice, once free and once conditional (the projector's label
as the hint). Metrics, each a share of the n items unless said otherwise:

- ``label_accuracy``: free mode, the stated label is the true label (parse failures count wrong);
- ``projector_agreement``: free mode, the stated label is the projector's label;
- ``hint_following``: conditional mode, the stated label is the hinted label;
- ``cue_precision`` / ``cue_recall`` (faces only): over free-mode texts, micro-averaged, the cues
  of the one cue vocabulary (``resources/reasoning_cues.yaml``) a text names versus the cues the
  renderer drew beyond the vocabulary's threshold;
- ``parse_failures``: share of all 2n answers from which no "Predicted Label: X" parses;
- ``tokens_per_second``: generated tokens over generation wall time, both modes together.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from .settings import GenerationSettings

DEFAULT_N = 500


def _share(mask: np.ndarray) -> float | None:
    return float(np.mean(mask)) if len(mask) else None


def reasoning_metrics(free: list, conditional: list, true_labels: list[str | None],
                      drawn: np.ndarray | None) -> dict[str, Any]:
    """The metrics from free and conditional Explanation records of the same items.

    Parameters
    ----------
    free, conditional : list of Explanation
    true_labels : list of (str or None)
    drawn : ndarray of bool, shape (n, n_cues), optional
        Visible cues per item (faces); None for datasets without drawn cues.
    """
    from .cues import cue_scores, load_cue_vocabulary

    stated = np.array([e.stated_label for e in free], dtype=object)
    projector = np.array([e.projector_label for e in free], dtype=object)
    truth = np.array(true_labels, dtype=object)
    labelled = np.array([t is not None for t in true_labels], dtype=bool)
    hinted = np.array([e.stated_label == e.hint for e in conditional], dtype=bool)
    both = list(free) + list(conditional)
    tokens = sum(e.n_tokens for e in both)
    seconds = sum(e.seconds for e in both)
    out: dict[str, Any] = {
        "n": len(free),
        "label_accuracy": _share(stated[labelled] == truth[labelled]) if labelled.any() else None,
        "projector_accuracy": _share(projector[labelled] == truth[labelled]) if labelled.any() else None,
        "projector_agreement": _share(stated == projector),
        "hint_following": _share(hinted),
        "cue_precision": None,
        "cue_recall": None,
        "parse_failures": _share(np.array([e.stated_label is None for e in both], dtype=bool)),
        "tokens_per_second": tokens / seconds if seconds > 0 else None,
        "n_generated_tokens": int(tokens),
        "generation_seconds": round(seconds, 2),
    }
    if drawn is not None:
        named = load_cue_vocabulary().named_in_text([e.reasoning for e in free])
        scores = cue_scores(named, drawn)
        out.update(cue_precision=scores.pop("cue_precision"), cue_recall=scores.pop("cue_recall"))
        out["cues"] = {"mode": "free", **scores}
    return out


def evaluate_reasoning(bundle, dataset: str = "faces", *, split: str = "test", n: int | None = DEFAULT_N,
                       settings: GenerationSettings | None = None, progress: bool = True,
                       trust_remote_code: bool = False) -> dict[str, Any]:
    """Evaluate a bundle's reasoning part on the first ``n`` items of a dataset split.

    Returns
    -------
    dict
        The metrics of :func:`reasoning_metrics` plus ``model``, ``dataset``, ``split``,
        ``generation`` (settings), ``seconds`` (wall time in all) and ``load_average``.
    """
    from .cues import load_cue_vocabulary
    from .explain import explain_features, items_and_features, reasoning_model, true_label_names

    began = time.perf_counter()
    bundle.reasoning  # noqa: B018 - a bundle without a reasoning part fails before any work
    settings = settings or bundle.reasoning.generation
    items, features = items_and_features(bundle, dataset, split, n=n, progress=progress)
    reasoning_model(bundle, trust_remote_code=trust_remote_code)
    ids = [str(i) for i in items.ids]
    truth = true_label_names(items)
    free = explain_features(bundle, features, ids, mode="free", true_labels=truth, settings=settings,
                            progress=progress)
    conditional = explain_features(bundle, features, ids, mode="conditional", true_labels=truth,
                                   settings=settings, progress=progress)
    drawn = None
    if "intensity" in items.meta and "true_labels" in items.meta:
        drawn = load_cue_vocabulary().visible(np.asarray(items.meta["true_labels"]), np.asarray(items.meta["intensity"]))
    metrics = reasoning_metrics(free, conditional, truth, drawn)
    return {"model": bundle.name, "dataset": dataset, "split": split, **metrics,
            "generation": settings.to_dict(), "seconds": round(time.perf_counter() - began, 1),
            "load_average": round(os.getloadavg()[0], 2)}
