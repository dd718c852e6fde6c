"""Zero-shot evaluation: bundles on datasets they were or were not trained on, each over its own taxonomy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from .joint import dataset_key

TRAINED_ON = "trained on"
ZERO_SHOT = "zero-shot"
MSG_REFUSE = (
    "--zero-shot: model {model!r} was trained on {spec}; drop --zero-shot to evaluate it as a "
    "trained-on dataset"
)


def training_datasets(bundle) -> tuple[str, ...]:
    """The dataset specs a bundle was trained on, as its bundle.json records them.

    Bundles written before joint training record only ``training.config.dataset``; imported
    TinyEmo projectors record none (their training data is not on this machine), so every
    dataset is zero-shot for them.
    """
    training = bundle.spec.get("training") or {}
    records = training.get("datasets")
    if records:
        return tuple(r["spec"] for r in records)
    config = training.get("config") or {}
    if config.get("datasets"):
        return tuple(config["datasets"])
    return (config["dataset"],) if config.get("dataset") else ()


def dataset_status(bundle, spec: str) -> str:
    """``"trained on"`` if ``spec`` names one of the bundle's training datasets, else ``"zero-shot"``.

    Specs compare after :func:`~tinyemo_audit.model.joint.dataset_key` (a relative and an absolute
    path to the same folder are the same dataset).
    """
    records = (bundle.spec.get("training") or {}).get("datasets") or []
    known = {r.get("key") for r in records} | {dataset_key(s) for s in training_datasets(bundle)}
    return TRAINED_ON if dataset_key(spec) in known else ZERO_SHOT


def refuse_trained_on(bundles: Sequence, specs: Sequence[str]) -> None:
    """UsageError (one line) if any bundle was trained on any of ``specs`` (for ``eval --zero-shot``)."""
    for bundle in bundles:
        for spec in specs:
            if dataset_status(bundle, spec) == TRAINED_ON:
                raise UsageError(MSG_REFUSE.format(model=bundle.name, spec=spec))


def evaluate_grid(
    models: Sequence[str],
    datasets: Sequence[str],
    *,
    split: str = "test",
    zero_shot: bool = False,
    progress: bool = True,
    chunk_size: int | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every bundle on every dataset, each dataset over its own taxonomy.

    ``chunk_size``: rows of a features dataset classified at a time (see ``evaluate_bundle``).

    Parameters
    ----------
    models : sequence of str
        Bundle names (in models/) or folders.
    datasets : sequence of str
        Dataset specs (``features:<root>``, ``faces``, a named layout, ...).
    split : str
        The split evaluated (``test`` by default).
    zero_shot : bool
        Refuse (UsageError) any dataset a bundle was trained on, before any evaluation runs.
    progress : bool
        Progress bars while encoding images.

    Returns
    -------
    list of dict
        One :func:`~tinyemo_audit.model.evaluate.evaluate_bundle` result per (model, dataset)
        (with ``n_skipped`` and ``skipped_items``: what loading the dataset left out),
        models outer, with ``model_ref`` and ``spec`` (model and dataset as given), ``status`` (``"trained on"`` or
        ``"zero-shot"``) and ``trained_on`` (the bundle's training specs) added.

    Raises
    ------
    UsageError
        Unknown dataset names or split, duplicate specs, or (with ``zero_shot``) a trained-on dataset.
    """
    from ..data.registry import check_dataset_spec
    from ..encoders.engine import current_engine, engine_dataset
    from .bundle import load_bundle
    from .evaluate import evaluate_bundle

    if not models or not datasets:
        raise UsageError("evaluation needs at least one model and one dataset")
    for name, values in (("model", models), ("dataset", datasets)):
        if len(set(values)) != len(values):
            raise UsageError(f"a {name} is given twice")
    for spec in datasets:
        check_dataset_spec(spec, split)
    bundles = [load_bundle(m) for m in models]
    if zero_shot:
        refuse_trained_on(bundles, datasets)
    # Each split loaded once; on --engine ray a split of image files is encoded per encoder by the actors.
    ray = current_engine().name == "ray"
    loaded: dict[tuple[str, str | None], Any] = {}
    results = []
    for ref, bundle in zip(models, bundles):
        trained = list(training_datasets(bundle))
        for spec in datasets:
            key = (spec, bundle.encoder.fingerprint() if ray else None)
            if key not in loaded:
                loaded[key] = engine_dataset(lambda: bundle.encoder, spec, split, progress=progress)
            result = evaluate_bundle(bundle, loaded[key], progress=progress, chunk_size=chunk_size)
            result.update(model_ref=ref, spec=spec, status=dataset_status(bundle, spec), trained_on=trained)
            results.append(result)
    return results
