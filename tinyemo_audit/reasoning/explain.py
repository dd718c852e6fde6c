"""Conditional and free reasoning for images: the projector classifies, the MM-LLM explains.

TinyEmo's conditional reasoning: the Metric Projector's label is given to the MM-LLM as the hint
and the MM-LLM explains it (``mode="conditional"``); in ``mode="free"`` the MM-LLM names the label
itself, so the two can be compared. Every entry point returns :class:`Explanation` records; the
audit calls :func:`explain_images` and :func:`explain_twins` directly (no files, no CLI).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, UsageError
from ..user_text import shown
from .settings import GenerationSettings, check_mode

MSG_UNKNOWN_IDS = "unknown item id(s) {ids} in {dataset} {split}; ids look like {example}"


@dataclass
class Explanation:
    """What the model says about one image."""

    id: str
    mode: str
    projector_label: str
    projector_probability: float
    hint: str | None
    reasoning: str
    stated_label: str | None
    n_tokens: int
    seconds: float
    true_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reasoning_model(bundle, *, trust_remote_code: bool = False):
    """The bundle's MM-LLM, loaded once per Bundle object (``explain`` and the audit reuse it), on the command's device."""
    from ..devices import current_device
    from .part import load_reasoning_model

    key = "reasoning_model"
    if key not in bundle._cache:
        bundle._cache[key] = load_reasoning_model(bundle, trust_remote_code=trust_remote_code)
    return bundle._cache[key].to(current_device())


def explain_features(bundle, features: np.ndarray, ids, *, mode: str = "conditional",
                     true_labels: list[str | None] | None = None, hints: list[str | None] | None = None,
                     settings: GenerationSettings | None = None, progress: bool = False,
                     trust_remote_code: bool = False, attributes=None, cache: bool = False) -> list[Explanation]:
    """Explanations for encoder features (the core every other entry point calls).

    Parameters
    ----------
    bundle : Bundle
        A bundle with a reasoning part.
    features : ndarray of float32, shape (N, d)
        The bundle encoder's features of the images.
    ids : sequence of str
        One id per row.
    mode : {"conditional", "free"}
        Conditional: the hint is ``hints`` (default: the projector's label). Free: no hint.
    true_labels : list of (str or None), optional
        Carried into the records.
    hints : list of str, optional
        Conditional mode only: the label to hint per row instead of the projector's.
    settings : GenerationSettings, optional
        Default: the reasoning part's own (greedy).
    progress : bool
        Progress bar on stderr.
    trust_remote_code : bool
        For an ``llm:`` base that needs its own code.
    attributes : DataFrame, optional
        The items' protected groups, one row per feature row: the projector's label of a bundle with
        a step that reads them at prediction time (a mitigated bundle, model/steps.py) needs them.
    cache : bool
        Read kept batches instead of generating them, and keep new ones (:mod:`.generation_cache`;
        greedy only). The audit asks for it; ``explain`` and ``eval`` do not.

    Returns
    -------
    list of Explanation
    """
    from ..model.classifier import classify, project

    check_mode(mode)
    part = bundle.reasoning  # before any heavy work: a bundle without one fails here, in one line
    features = np.asarray(features, dtype=np.float32)
    classes = part.classes
    if hints is not None:
        if mode != "conditional" or len(hints) != len(features):
            raise UsageError("hints are for conditional mode, one per image")
        unknown = sorted({h for h in hints if h is not None and h not in classes})
        if unknown:
            raise UsageError(f"hint label(s) {shown(unknown)} are not among the reasoning part's classes ({', '.join(classes)})")
    model = reasoning_model(bundle, trust_remote_code=trust_remote_code)
    preds = classify(bundle, project(bundle, features, attributes=attributes), classes, attributes=attributes)
    labels = [classes[k] for k in preds.predicted.tolist()]
    probability = preds.probabilities[np.arange(len(labels)), preds.predicted].astype(float)
    if mode == "conditional":
        hints = list(hints) if hints is not None else labels
    else:
        hints = [None] * len(labels)
    generated = model.generate(features, hints, settings, progress=progress, desc=f"explain ({mode})", cache=cache)
    truth = list(true_labels) if true_labels is not None else [None] * len(labels)
    return [
        Explanation(str(item), mode, label, round(float(p), 6), hint, g.text, g.stated_label, g.n_tokens,
                    round(g.seconds, 4), t)
        for item, label, p, hint, g, t in zip(ids, labels, probability, hints, generated, truth)
    ]


def explain_images(bundle, images: np.ndarray, ids=None, *, mode: str = "conditional", **options) -> list[Explanation]:
    """Explanations for uint8 images ``[N, H, W, 3]`` (ids default to their positions).

    ``options`` are those of :func:`explain_features` (``hints``, ``settings``, ``progress``, ...).
    """
    from .features import image_features

    check_mode(mode)
    bundle.reasoning  # noqa: B018 - fail before encoding when the bundle has no reasoning part
    ids = [str(i) for i in range(len(images))] if ids is None else list(ids)
    return explain_features(bundle, image_features(bundle, images), ids, mode=mode, **options)


def explain_twins(bundle, twins, *, mode: str = "conditional", hints: list[str] | None = None,
                  **options) -> list[list[Explanation]]:
    """Explanations for every image of a counterfactual twin set, ``[identity][value]``.

    In conditional mode every twin of one identity gets the same hint: ``hints[i]`` if given,
    else the projector's label of the identity's first (reference) value, so that only the image
    differs between the twins.
    """
    from ..model.classifier import classify, project
    from .features import image_features

    check_mode(mode)
    part = bundle.reasoning
    n, k = twins.images.shape[:2]
    flat = twins.images.reshape(n * k, *twins.images.shape[2:])
    features = image_features(bundle, flat)
    cells = twins.cell_attributes()
    flat_hints = None
    if mode == "conditional":
        if hints is None:
            first = cells.iloc[::k].reset_index(drop=True)
            reference = classify(bundle, project(bundle, features[::k], attributes=first), part.classes,
                                 attributes=first).predicted
            hints = [part.classes[j] for j in reference.tolist()]
        if len(hints) != n:
            raise UsageError(f"twin hints: {len(hints)} given for {n} identities")
        flat_hints = [h for h in hints for _ in range(k)]
    ids = [f"{item}:{value}" for item in twins.ids for value in twins.values]
    truth = [twins.classes[j] for j in np.repeat(np.asarray(twins.labels), k).tolist()]
    flat_out = explain_features(bundle, features, ids, mode=mode, hints=flat_hints, true_labels=truth,
                                attributes=cells, **options)
    return [flat_out[i * k:(i + 1) * k] for i in range(n)]


# A split this small is encoded whole (its features are cached and shared with `run` and `eval`);
# a larger one only for the items asked for.
ENCODE_WHOLE_SPLIT = 10_000


def select_items(dataset, n: int | None, ids: list[str] | None) -> np.ndarray:
    """Row indices of ``ids`` (in that order) and/or the first ``n`` items of a dataset split."""
    index = np.arange(len(dataset))
    if ids:
        known = {str(x): i for i, x in enumerate(dataset.ids)}
        unknown = [x for x in ids if x not in known]
        if unknown:
            raise UsageError(MSG_UNKNOWN_IDS.format(ids=shown(unknown[:3]), dataset=shown(dataset.name),
                                                    split=dataset.split,
                                                    example=shown(str(dataset.ids[0])) if len(dataset) else "''"))
        index = np.array([known[x] for x in ids], dtype=np.int64)
    return index if n is None else index[:n]


def items_and_features(bundle, spec: str, split: str, *, n: int | None = None, ids: list[str] | None = None,
                       progress: bool = False):
    """(the chosen items as a Dataset, their encoder features float32 ``[n, d]``)."""
    from ..data.registry import check_dataset_spec, load_dataset
    from ..model.classifier import dataset_features

    if n is not None and n < 1:
        raise UsageError(f"--n must be at least 1, got {n}")
    check_dataset_spec(spec, split)
    dataset = load_dataset(spec, split)
    index = select_items(dataset, n, ids)
    if len(index) == 0:
        raise InputError(f"dataset {shown(spec)} {split} split has no usable items")
    if len(dataset) <= ENCODE_WHOLE_SPLIT:
        features = np.asarray(dataset_features(bundle, dataset, progress=progress))[index]
        return dataset.subset(index), np.asarray(features, dtype=np.float32)
    items = dataset.subset(index)
    return items, np.asarray(dataset_features(bundle, items, progress=progress), dtype=np.float32)


def true_label_names(dataset) -> list[str | None]:
    """Per item, the true label name (the faces corpus keeps it in meta; None where unlabelled)."""
    from ..data.dataset import UNLABELLED

    true = np.asarray(dataset.meta.get("true_labels", dataset.labels))
    return [dataset.classes[k] if k != UNLABELLED else None for k in true.tolist()]


def explain_dataset(bundle, spec: str, *, split: str = "test", n: int | None = None, ids: list[str] | None = None,
                    mode: str = "conditional", **options) -> list[Explanation]:
    """Explanations for items of a dataset split (``--dataset``, ``--n``, ``--ids`` of ``explain``)."""
    check_mode(mode)
    bundle.reasoning  # noqa: B018 - fail before loading data when the bundle has no reasoning part
    items, features = items_and_features(bundle, spec, split, n=n, ids=ids, progress=options.get("progress", False))
    return explain_features(bundle, features, [str(i) for i in items.ids], mode=mode,
                            true_labels=true_label_names(items), **options)


def explain_files(bundle, paths: list[str | Path], *, mode: str = "conditional", **options) -> list[Explanation]:
    """Explanations for image files (``explain --image FILE``); an unreadable file is an InputError."""
    from .features import encoder_image_size, read_image_files

    check_mode(mode)
    bundle.reasoning  # noqa: B018 - fail before reading images when the bundle has no reasoning part
    images = read_image_files(paths, encoder_image_size(bundle.encoder), what="image")
    return explain_images(bundle, images, [str(p) for p in paths], mode=mode, **options)
