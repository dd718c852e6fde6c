"""``tinyemo-audit run``: every probe over a bundle on a dataset, or over a model's predictions, written as one run folder.

What is audited comes in as :class:`AuditInputs`: the items, the model's answers (a bundle
classifies the items, or a predictions file gives them) and the items' counterfactual sets (the
dataset's own source, or a manifest). Each probe asks the plan whether those inputs support it
(:mod:`._requirements`); the runner never asks which dataset or kind of model it has. The run
folder holds results.json (docs/results-schema.md), timings.json, report.html and, with gates,
junit.xml and summary.md. It is written whole or not at all; the Python API
(:func:`tinyemo_audit.audit_model`) runs the same audit without writing.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._io import atomic_write_json, atomic_write_text
from ..data.arrays import distinct_rows
from ..model.classifier import predict
from ..model.steps import has_steps
from ..outputs import OutputPlan
from ..paths import PROJECT_DIR
from ..reasoning.examples import attach_example_reasoning
from . import _embedding_probes, _findings, _groups, _twins
from ._causes import group_causes
from ._examples import attach_examples
from ._requirements import MIN_GROUPS, AuditFacts, ProbePlan, label_sets_present, skip_entry
from ._results_guard import guard_results
from ._rules import rules
from ._text_probes import text_probe
from ._verdict import verdict

RESULTS_SCHEMA_VERSION = "1.1"
CLUSTER_TEST = "binomial, exact (one-sided, against the overall error rate)"
NO_LABELS = "the dataset has no labels"
# What an unlabelled dataset cannot support: (probe, reason, results.json paths left out). Every one
# needs the true emotion of each image; prediction rates, twins, text probes, associations, skew and
# discovery do not, and still run.
LABEL_FREE_SKIPS = (
    ("performance: accuracy, TPR and FPR per group",
     f"{NO_LABELS}, so no prediction can be scored right or wrong; how often each group is given each "
     "emotion (selection rate) is audited instead",
     ["performance.overall", "performance.by_attribute.*.groups.*.accuracy",
      "performance.by_attribute.*.groups.*.tpr", "performance.by_attribute.*.groups.*.fpr"]),
    ("disparities: accuracy difference and ratio, equalized odds, TPR and FPR differences",
     f"{NO_LABELS}; selection-rate differences between groups are tested instead",
     ["disparities.*.accuracy_difference", "disparities.*.accuracy_ratio",
      "disparities.*.equalized_odds_difference", "disparities.*.tpr_difference", "disparities.*.fpr_difference"]),
    ("confusion matrices",
     f"{NO_LABELS}: a confusion matrix crosses true and predicted emotions",
     ["performance.overall.confusion", "performance.by_attribute.*.groups.*.confusion"]),
    ("discovery: error rate, error ratio and SliceLine score per cluster",
     f"{NO_LABELS}, so errors cannot be counted; clusters are still found, named and checked for "
     "over-represented groups",
     ["clusters.items.*.error_rate", "clusters.items.*.error_ratio", "clusters.items.*.sliceline_score",
      "clusters.items.*.p_value", "clusters.points.error"]),
    ("dataset bias: label–attribute association (Cramér's V, NMI, Theil's U)",
     f"{NO_LABELS}: the association is between each attribute and the annotated emotion",
     ["dataset_bias.stereotype"]),
)
BIAS_FRAMEWORK = (
    "The semi-automated bias framework (counterfactual twins and prompt pairs probing the metric space, "
    "discovery by UMAP + clustering with clusters named from the LLM vocabulary, one Benjamini–Hochberg "
    "correction over every test, ranked findings for a person to confirm) is tinyemo-audit's own design. "
    "TinyEmo's paper mentions semi-automated bias detection, but its method is not available."
)


@dataclass
class RunOutcome:
    """What ``run`` did: its folder (written unless ``write=False``), exit code, results and gate outcomes."""

    run_dir: Path
    exit_code: int
    results: dict[str, Any]
    gate_outcomes: list = field(default_factory=list)
    # The per-item scores retrieval skew ranked (an in-memory audit with a skew probe; else None): a
    # before/after comparison tests a skew's change paired on them (mitigate).
    retrieval: Any = None


def default_run_dir(dataset: str, model: str) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{dataset}-{Path(model).name}")
    return PROJECT_DIR / "reports" / f"{safe}-{stamp}"


class _Stages:
    """One stderr line per stage (tqdm bars come from the stages themselves), with timings.

    A stage that reads the user's input is announced only once it has succeeded (``after=True``),
    so that bad input ends the run with the error line alone.
    """

    def __init__(self, total: int, progress: bool):
        self.total, self.progress, self.done = total, progress, 0
        self.timings: dict[str, float] = {}
        self._name, self._start, self._after = None, 0.0, False

    def __call__(self, name: str, *, after: bool = False) -> None:
        self._finish()
        self.done += 1
        self._name, self._start, self._after = name, time.perf_counter(), after
        if not after:
            self._say(name)

    def _say(self, text: str) -> None:
        if self.progress:
            print(f"[{self.done}/{self.total}] {text}", file=sys.stderr, flush=True)

    def _finish(self) -> None:
        if self._name is not None:
            seconds = time.perf_counter() - self._start
            self.timings[self._name] = round(seconds, 3)
            if self._after:
                self._say(f"{self._name} ({seconds:.1f} s)")
            self._name = None

    def close(self) -> dict[str, float]:
        self._finish()
        return self.timings


def _audit_attributes(data) -> tuple[list[str], list[dict[str, Any]]]:
    """The attributes the group probes compare, and a ``run.skipped`` entry for each one left out.

    A dataset may name its protected attributes (``meta["protected_attributes"]``: the faces corpus
    summarises skin_tone's six levels by skin_group); otherwise every attribute column is one.
    """
    from ..data.layout_loader import UNKNOWN_VALUE

    declared = (data.meta or {}).get("protected_attributes")
    names = [a for a in declared if a in data.attributes.columns] if declared else data.attributes.columns
    kept, skipped = [], []
    # Columns the loader left out (a control character in the column name) are named here too.
    for record in (data.meta or {}).get("skipped_attributes", ()):
        skipped.append({"probe": f"group comparisons by attribute {record['attribute']}",
                        "reason": f"{record['reason']}; the column is left out of every group probe",
                        "metrics": []})
    for name in names:
        values = data.attributes[name]
        groups = sorted(values.dropna().astype(str).unique())
        if len(groups) >= MIN_GROUPS:
            kept.append(name)
            continue
        if not groups or groups == [UNKNOWN_VALUE]:
            why = f"attribute {name!r} has no values in the audited items (missing everywhere)"
        else:
            why = f"attribute {name!r} has a single group ({groups[0]!r}) in the audited items"
        skipped.append({
            "probe": f"group comparisons by attribute {name!r}",
            "reason": f"{why}; a comparison needs at least two groups, so it is left out of every group probe",
            "metrics": [f"performance.by_attribute.{name}", f"disparities.{name}", f"text_probes.by_attribute.{name}",
                        f"association[attribute={name}]", f"skew.by_label.*.{name}", f"dataset_bias.*.{name}",
                        f"clusters.points.{name}"],
        })
    return kept, skipped


def run_outputs(run_dir: Path, *, junit: str | Path | None, dataset: str | None, model: str | None,
                config: str | Path | None, gates: str | Path | None, files: tuple = ()) -> OutputPlan:
    """The outputs of ``run`` (the run folder, and ``--junit`` when gates run) and the inputs they must not touch.

    The run folder may be new, empty or a run folder this tool wrote and nobody changed; the rule
    and the up-front checks are :mod:`tinyemo_audit.outputs`. ``files`` are the other inputs as
    ``(path or in-memory object, what)``: the predictions, embeddings, counterfactual manifest and
    baseline; in-memory ones are no files and are left out.
    """
    from ..errors import TinyEmoAuditError
    from ..model.bundle import resolve_bundle_path
    from ..outputs import dataset_inputs

    plan = OutputPlan(cache=True)
    plan.folder(run_dir, "--out")
    if junit is not None and gates is not None and Path(junit).absolute() != (run_dir / "junit.xml").absolute():
        plan.file(junit, "--junit")
    for path, what in dataset_inputs(dataset) if dataset is not None else ():
        plan.input(path, what)
    if model is not None:
        try:
            plan.input(resolve_bundle_path(model), "model bundle")
        except TinyEmoAuditError:
            pass  # an unknown model is reported by load_bundle, in its place among the checks
    for path, what in ((config, "settings file"), (gates, "gate file"), *files):
        if isinstance(path, (str, os.PathLike)):
            plan.input(path, what)
    return plan


def _clusters(preds, true, attributes, space, settings, seed, progress, gathered=None) -> dict[str, Any]:
    """Discovery over the projected embeddings, or over a streamed pass's ``gathered`` subsample rows."""
    from scipy.stats import binomtest

    from ..discovery import discover
    from ..discovery._umap import subsample

    vocabulary = None  # without a label space (a predictions file) clusters are named by their groups alone
    if space is not None:
        words, vectors = space.vocabulary()
        # Names read better from plain lowercase words than from capitalised forms and word pieces.
        keep = np.flatnonzero([w.isalpha() and w.islower() for w in words])
        vocabulary = ([words[i] for i in keep], np.asarray(vectors)[keep].astype(np.float32))
    errors = None if true is None else preds.predicted != true
    n, cap = len(preds.predicted), settings["discovery"]["umap_cap"]
    # The mapped rows are discover's own seeded subsample; a streamed audit gathered exactly those.
    sample = subsample(n, cap, seed) if gathered is not None else np.arange(n)
    result = discover(
        gathered[sample] if gathered is not None else preds.embeddings,
        errors=None if errors is None else errors[sample],
        attributes=attributes.iloc[sample].reset_index(drop=True) if gathered is not None else attributes,
        vocabulary=vocabulary, method=settings["discovery"]["method"], umap_cap=cap,
        min_size=settings["min_group_size"], seed=seed, progress=progress,
    )
    data = result.to_dict()
    if gathered is not None:
        data["params"].update(n_rows=int(n), subsampled=bool(len(sample) < n))
    idx = sample[np.asarray(data["sample_index"], dtype=np.int64)]
    points: dict[str, Any] = {
        "x": np.round(np.asarray(data["coords"])[:, 0], 4).tolist(),
        "y": np.round(np.asarray(data["coords"])[:, 1], 4).tolist(),
        "cluster": [int(c) for c in data["cluster_of"]],
        "item": idx.tolist(),
        "error": None if errors is None else errors[idx].astype(int).tolist(),
        "prediction": [preds.classes[i] for i in preds.predicted[idx]],
        "label": None if true is None else [preds.classes[i] for i in true[idx]],
    }
    for attr in attributes.columns:
        points[attr] = attributes[attr].iloc[idx].to_numpy(str).tolist()
    overall_error = None if errors is None else float(errors.mean())
    items = []
    for cluster in data["clusters"]:
        item = dict(cluster)
        if errors is not None and item.get("error_rate") is not None and 0 < overall_error < 1:
            k = int(round(item["error_rate"] * item["size"]))
            item["p_value"] = float(binomtest(k, item["size"], overall_error, alternative="greater").pvalue)
            item["test"] = CLUSTER_TEST
        items.append(item)
    return {"method": data["method"], "params": data["params"], "points": points, "items": items}


@dataclass
class AuditInputs:
    """What one audit reads: the items, the model's answers about them, and where twins come from.

    Attributes
    ----------
    data : Dataset
        The audited items (their ``counterfactuals`` source, if any, gives the twin sets).
    preds : Predictions or None
        The model's answers; None until a bundle has classified ``data``.
    bundle : Bundle or None
        The model bundle; None for a predictions-only audit (no label space, no encoder).
    score : str
        What ``preds.similarities`` are (a bundle's cosine similarities, a file's scores or probabilities).
    """

    data: Any
    preds: Any
    bundle: Any
    score: str


def _read_inputs(request, *, predictions, embeddings, counterfactuals, seed: int, n: int | None,
                 progress: bool = True) -> AuditInputs:
    """Load the dataset (or read the predictions file) and the counterfactual manifest; subsample to ``n``."""
    from dataclasses import replace

    from ..encoders.engine import engine_dataset
    from ..model.classifier import subset_predictions
    from ._twins import COSINE, PROBABILITY, SCORE

    if predictions is not None:
        from ..data.predictions import read_predictions

        data, preds = read_predictions(predictions, embeddings=embeddings)
        scored = preds.similarities is not None and preds.similarities is not preds.probabilities
        score = SCORE if scored else PROBABILITY
    else:
        # On --engine ray a split of image files is decoded and encoded by the Ray actors, not here.
        data = engine_dataset(lambda: request.bundle.encoder, request.dataset, "test", progress=progress)
        preds, score = None, COSINE
    if n is not None and n < len(data):
        keep = np.sort(np.random.default_rng(seed).choice(len(data), size=n, replace=False))
        data = data.subset(keep)
        preds = None if preds is None else subset_predictions(preds, keep)
    if counterfactuals is not None:
        from ..data.counterfactuals import read_counterfactuals
        from ..data.images import DEFAULT_SIZE

        classes = data.classes or request.bundle.classes
        manifest = read_counterfactuals(
            counterfactuals, classes=classes, cells="items" if predictions is not None else "auto",
            image_size=data.image_size or DEFAULT_SIZE,
            item_ids=data.ids, item_labels=data.labels)
        data = replace(data, counterfactuals=manifest)  # a manifest given replaces the dataset's own sets
    return AuditInputs(data=data, preds=preds, bundle=request.bundle, score=score)


def _counterfactual(inputs: AuditInputs, attributes, references, settings, seed, n_twins, plan, progress):
    """The twin probes over every attribute the dataset's counterfactual source has sets for."""
    from ..data.counterfactuals import counterfactual_counts
    from ._twins import item_twins

    source, bundle = inputs.data.counterfactuals, inputs.bundle
    counterfactual, twin_predictions = {}, {}
    left_out = plan.left_out("counterfactual")
    for attr in source.attributes(list(attributes.columns)):
        twins = source.twin_set(attr, n_identities=n_twins or settings["twins_per_attribute"])
        if twins is None or not len(twins):
            counts = counterfactual_counts(twins) if twins is not None else {}
            why = ", ".join(f"{k} ({v})" for k, v in {**counts.get("skipped_sets", {}),
                                                         **counts.get("skipped_rows", {})}.items())
            left_out.add("no usable counterfactual set" + (f": {why}" if why else ""), attr)
            continue
        if twins.item_ids is not None:
            tp = item_twins(twins, inputs.preds, inputs.data.ids, score=inputs.score)
        else:
            tp = _twins.predict_twins(bundle, twins, progress=progress)
        twin_predictions[attr] = tp
        configured = settings["reference_groups"].get(attr)
        reference = references.get(attr) if attr in references else configured
        counterfactual[attr] = {**_twins.counterfactual_probe(
            tp, reference=reference, temperature=bundle.temperature if bundle is not None else 1.0,
            settings=settings, seed=seed,
        ), "source": source.description, **counterfactual_counts(twins)}
    return counterfactual, twin_predictions


def _stream(inputs: AuditInputs, attributes, references, classes, settings, seed, chunk_size, progress):
    """Classify a features dataset in one chunked pass (:mod:`._streamed`); fills ``inputs.preds``.

    The rows whose embeddings later probes read (discovery's subsample, the iEAT draws) are chosen
    first, with the same seeded draws those probes make.
    """
    from ..discovery._umap import subsample
    from ..model.classifier import Predictions
    from ._streamed import stream_predictions

    data, bundle = inputs.data, inputs.bundle
    label_emb = bundle.embed_classes(classes).numpy().astype(np.float32)
    wanted = [subsample(len(data), settings["discovery"]["umap_cap"], seed)]
    for item in _embedding_probes.association_plan(attributes, tuple(classes), settings, references, seed):
        wanted += [item["xs"], item["ys"]]
    streamed = stream_predictions(bundle, data.features, label_emb, k=settings["skew_k"],
                                  wanted=np.unique(np.concatenate(wanted)), chunk_size=chunk_size, progress=progress)
    inputs.preds = Predictions(classes=tuple(classes), embeddings=None, similarities=None, probabilities=None,
                               predicted=streamed.predicted, confidence=streamed.confidence)
    return streamed


def _label_embeddings(inputs: AuditInputs, classes, true) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Each class's point in the embedding space, and the classes that have one.

    A bundle embeds every class in its label space. Without one (a predictions file with
    embeddings) a class is represented by the mean of the L2-normalised embeddings of its items (by
    true label where there are labels, else by prediction); a class without items has none.
    """
    if inputs.bundle is not None:
        return inputs.bundle.embed_classes(classes).numpy().astype(np.float32), tuple(classes)
    if inputs.preds.embeddings is None:
        return None, ()
    embeddings = inputs.preds.embeddings
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    members = true if true is not None else inputs.preds.predicted
    present = np.unique(members)
    prototypes = np.stack([unit[members == c].mean(axis=0) for c in present]).astype(np.float32)
    return prototypes, tuple(classes[c] for c in present)


def run_audit(
    *,
    dataset: str | None = None,
    model: str | None = None,
    predictions: Any = None,
    embeddings: Any = None,
    counterfactuals: Any = None,
    out: str | Path | None = None,
    seed: int = 0,
    n: int | None = None,
    n_twins: int | None = None,
    config: str | Path | None = None,
    gates: Any = None,
    junit: str | Path | None = None,
    baseline: Any = None,
    progress: bool = True,
    write: bool = True,
    chunk_size: int | None = None,
    device: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    actors: int | None = None,
) -> RunOutcome:
    """Audit a bundle on a dataset, or a predictions file, and write the run folder (see module docstring).

    With ``predictions`` (a CSV/Parquet file or a DataFrame; docs/bring-your-own.md) the audit reads
    the model's answers instead of running a bundle: ``dataset`` and ``model`` must then be None.
    ``counterfactuals`` (a manifest) gives the twin sets; ``baseline`` (a results.json) is what
    gates with ``change: true`` compare against. With ``write=False`` nothing is written (the
    Python API's ``audit`` without ``out``); ``out`` is then ignored.

    A dataset of encoder features (``features:<store>``) audited with a bundle is read in chunks of
    ``chunk_size`` items (:mod:`._streamed`: memory bounded by the chunk, the same results.json
    whatever its size); other inputs are audited in memory. ``device`` (``auto``, ``cpu``,
    ``cuda[:N]``, ``mps``; :mod:`tinyemo_audit.devices`) is where the encoder and projector run.
    ``engine`` (``local`` or ``ray``, with ``ray_address`` and ``actors``;
    :mod:`tinyemo_audit.encoders.engine`) is where the image encoder's forward runs.
    """
    from ..devices import use_device
    from ..encoders.engine import check_engine_inputs, use_engine
    from ..model.classifier import check_chunk_size

    chunk = check_chunk_size(chunk_size)
    check_engine_inputs(engine, datasets=[dataset], predictions=predictions)
    with use_device(device), use_engine(engine, ray_address, actors):
        return _run_audit(dataset=dataset, model=model, predictions=predictions, embeddings=embeddings,
                          counterfactuals=counterfactuals, out=out, seed=seed, n=n, n_twins=n_twins, config=config,
                          gates=gates, junit=junit, baseline=baseline, progress=progress, write=write,
                          chunk_size=chunk)


def _run_audit(*, dataset, model, predictions, embeddings, counterfactuals, out, seed, n, n_twins, config, gates,
               junit, baseline, progress, write, chunk_size) -> RunOutcome:
    from ..schema.run_request import check_against_data, check_run_request

    # Every argument, the settings, the gate file and the bundle: checked before any stage line.
    request = check_run_request(dataset=dataset, model=model, seed=seed, n=n, n_twins=n_twins, config=config,
                                gates=gates, predictions=predictions is not None, embeddings=embeddings is not None,
                                baseline=baseline)
    settings, gate_spec, bundle = request.settings.values, request.gate_spec, request.bundle
    dataset, model = request.dataset, request.model
    from .reasoning import reasoning_status

    # Whether the MM-LLM's reasoning is audited (reasoning.enabled): an impossible `true` is exit 2 here.
    reasoning_skip = reasoning_status(bundle, settings)
    # Every output: writable, and only replacing what this tool wrote (never an input).
    run_dir = Path(out) if out else default_run_dir(dataset or "predictions", model or "file")
    outputs = None
    if write:
        outputs = run_outputs(run_dir, junit=junit, dataset=dataset, model=model, config=config, gates=gates,
                              files=((predictions, "predictions file"), (embeddings, "embeddings file"),
                                     (counterfactuals, "counterfactual manifest"), (baseline, "baseline results")))
        outputs.check()
    explain_examples = bool(settings["example_reasoning"] and bundle is not None and bundle.has_reasoning)
    stages = _Stages(8 + explain_examples + (reasoning_skip is None), progress)
    stages("loading data", after=True)
    inputs = _read_inputs(request, predictions=predictions, embeddings=embeddings, counterfactuals=counterfactuals,
                          seed=request.seed, n=n, progress=progress)
    data = inputs.data
    audited, skipped = _audit_attributes(data)
    attributes = data.attributes[audited]
    skipped_loading = data.skipped_by_reason()
    classes = data.classes or bundle.classes  # a label-free dataset without a taxonomy: the bundle's labels
    # What the probes need of the settings, checked before the next stage line.
    references = check_against_data(request, data.attributes, audited, classes)

    stages("embedding and classifying the test split" if bundle is not None else "reading the predictions")
    streamed = None
    # A bundle with mitigation steps reads each item's attributes as it classifies: the in-memory path.
    if inputs.preds is None and data.features is not None and data.counterfactuals is None and not has_steps(bundle):
        streamed = _stream(inputs, attributes, references, classes, settings, seed, chunk_size, progress)
    elif inputs.preds is None:
        inputs.preds = predict(bundle, data, progress=progress)
    preds = inputs.preds
    labelled = data.has_labels
    true = data.labels if labelled else None
    results: dict[str, Any] = {"schema_version": RESULTS_SCHEMA_VERSION}
    # Every probe below asks the plan first: a probe the data cannot support is listed in run.skipped.
    label_sets, described_sets = label_sets_present(settings, classes)
    source = data.counterfactuals
    plan = ProbePlan(AuditFacts(
        n=len(data), labelled=labelled, labels_present=int(len(np.unique(true))) if labelled else 0,
        n_classes=len(classes), attributes=tuple(attributes.columns),
        distinct_embeddings=(streamed.distinct_embeddings if streamed is not None
                             else distinct_rows(preds.embeddings) if preds.embeddings is not None else None),
        twins=source is not None and bool(source.attributes(list(attributes.columns))),
        label_sets=label_sets, missing_label_sets=described_sets, label_space=bundle is not None,
        embeddings=streamed is not None or preds.embeddings is not None,
        class_scores=streamed is not None or preds.similarities is not None,
        probabilities=streamed is not None or preds.probabilities is not None,
        reasoning=reasoning_skip is None,
    ), skipped)
    no_attributes = attributes.iloc[:, :0]

    stages("group metrics with Wilson CIs, bootstrapped disparities and tests of equal rates")
    grouped = attributes if plan.runs("group_metrics") else no_attributes
    if labelled:
        results["performance"] = _groups.performance(true, preds.predicted, grouped, classes, settings, seed)
        results["disparities"] = _groups.disparities(true, preds.predicted, grouped, classes, settings, seed,
                                                     progress=progress)
    else:
        results["performance"], results["disparities"] = _groups.prediction_rates(
            preds.predicted, grouped, classes, settings, seed
        )
        skipped.extend({"probe": probe, "reason": reason, "metrics": metrics}
                       for probe, reason, metrics in LABEL_FREE_SKIPS)

    stages("counterfactual twins")
    twin_predictions = {}
    if plan.runs("counterfactual"):
        results["counterfactual"], twin_predictions = _counterfactual(
            inputs, attributes, references, settings, seed, n_twins, plan, progress)

    reasoning_evidence = None
    if reasoning_skip is not None:
        skipped.append(skip_entry("reasoning", reasoning_skip))
    else:
        # Counted in the stage total whenever reasoning is on, so announced also when no twins came to explain.
        stages("reasoning: what the MM-LLM writes about the twins")
        if plan.runs("reasoning") and plan.runs("counterfactual"):
            from .reasoning import collect_texts, reasoning_section

            twin_references = {a: references.get(a) if a in references else settings["reference_groups"].get(a)
                               for a in twin_predictions}
            texts = collect_texts(bundle, twin_predictions, settings, twin_references, seed=seed,
                                  progress=progress, skipped=skipped)
            results["reasoning"], reasoning_evidence = reasoning_section(
                texts, settings=settings, references=twin_references, seed=seed, skipped=skipped)

    stages("text probes, associations, retrieval skew, dataset bias")
    space = bundle.label_space() if bundle is not None else None
    label_emb, embedded_classes = _label_embeddings(inputs, classes, true)
    results["text_probes"] = (text_probe(space, label_emb, classes, settings, references, seed,
                                         left_out=plan.left_out("text_probes"))
                              if plan.runs("text_probes") else None)
    projected = streamed.gathered if streamed is not None else preds.embeddings
    results["association"] = (_embedding_probes.association(projected, attributes, label_emb,
                                                            embedded_classes, settings, references, seed,
                                                            left_out=plan.left_out("association"))
                              if plan.runs("association") else [])
    retrieval = None
    if plan.runs("skew"):
        k = min(settings["skew_k"], len(data))
        if streamed is None:
            retrieval = _embedding_probes.RetrievalScores(preds.similarities, attributes, tuple(classes), k, items=data)
        top = streamed.top if streamed is not None else _embedding_probes.top_rows(preds.similarities, k)
        results["skew"] = _embedding_probes.retrieval_skew(top, len(data), attributes, classes,
                                                           left_out=plan.left_out("skew"))
    else:
        results["skew"] = None
    results["dataset_bias"] = _embedding_probes.dataset_bias(
        true if labelled and plan.runs("stereotype") else None,
        attributes if plan.runs("representation") else no_attributes, classes)

    stages("discovery: UMAP, clusters, names")
    results["clusters"] = None
    if plan.runs("discovery"):
        composed = attributes if plan.runs("cluster_composition") else no_attributes
        results["clusters"] = _clusters(preds, true, composed, space, settings, seed, progress,
                                        gathered=streamed.gathered if streamed is not None else None)

    stages("findings")
    _findings.apply_fdr(results, settings["q_max"])
    findings = _findings.rank_findings(results, settings)
    causes = group_causes(findings, results, classes=list(classes), dataset=dataset or "predictions")
    attach_examples(findings, data=data, preds=preds, twin_predictions=twin_predictions,
                    clusters=results["clusters"])
    if reasoning_evidence is not None:
        from .reasoning import attach_reasoning_examples

        attach_reasoning_examples(findings, reasoning_evidence)
    if explain_examples:
        stages("reasoning under the example faces (the bundle's MM-LLM)")
    example_reasoning = attach_example_reasoning(findings, bundle, enabled=explain_examples, progress=progress)
    results["findings"] = [_findings.public(f) for f in findings]
    results["causes"] = causes
    results["findings_count"] = len(findings)
    results["run"] = {
        "tool_version": __version__, "dataset": dataset or "predictions", "split": data.split,
        "model": bundle.name if bundle is not None else "predictions file",
        "model_card": _model_card(bundle) if bundle is not None else "", "classes": list(classes),
        "protected_attributes": list(attributes.columns), "reference_groups": references, "seed": seed,
        "n": int(len(data)), "n_skipped_items": sum(skipped_loading.values()), "skipped_items": skipped_loading,
        "n_boot": settings["n_boot"], "n_perm": settings["n_perm"],
        "q_max": settings["q_max"], "min_group_size": settings["min_group_size"],
        "min_effect": settings["min_effect"], "labelled": labelled, "skipped": skipped,
        "rules": rules(settings),
        "inputs": _inputs_record(data, bundle, predictions, embeddings),
        "example_reasoning": example_reasoning,
    }
    results["methods"] = {"bias_framework": BIAS_FRAMEWORK}

    stages("writing results, report and gates")
    exit_code, gate_status, outcomes = 0, None, []
    if gate_spec is not None:
        from ..gates import evaluate_gates, gates_exit_code, gates_to_json

        outcomes = evaluate_gates(gate_spec, results, baseline=request.baseline)
        exit_code = gates_exit_code(outcomes)
        gate_status = "failed" if exit_code else "passed"
        results["gates"] = gates_to_json(outcomes)
    else:
        results["gates"] = None
    results["verdict"] = verdict(results, causes, gate_status)
    # A NaN here is a probe's bug (exit 3 naming its JSON path, nothing written); user text is made visible.
    ordered = guard_results(_ordered(results))
    if outputs is not None:
        write_run_folder(outputs, run_dir, ordered, outcomes if gate_spec is not None else None, junit=junit,
                         timings=stages.close)
    else:
        stages.close()
    return RunOutcome(run_dir=run_dir, exit_code=exit_code, results=ordered, gate_outcomes=outcomes,
                      retrieval=retrieval)


def write_run_folder(outputs: OutputPlan, run_dir: Path, results: dict[str, Any], outcomes, *, junit=None,
                     timings=None) -> None:
    """Write results.json, report.html, timings.json and, with gate ``outcomes``, junit.xml and summary.md.

    Everything goes through ``outputs`` (checked before any work): the run folder and ``--junit``
    are written together or not at all. ``timings`` is called once the rest is written, so that
    the writing stage is timed too.
    """
    from ..report import write_report

    with outputs.writing() as staged:  # the run folder and --junit: both, or neither
        tmp = staged.path(run_dir)
        atomic_write_json(tmp / "results.json", results)
        write_report(results, tmp / "report.html")
        if outcomes is not None:
            from ..gates import gates_markdown, junit_xml, write_junit

            write_junit(outcomes, tmp / "junit.xml")
            atomic_write_text(tmp / "summary.md", gates_markdown(outcomes))
            if any(not planned.folder for planned in outputs.outputs):
                staged.write_text(junit, junit_xml(outcomes))
        atomic_write_json(tmp / "timings.json", {"stages_seconds": timings() if timings is not None else {}})


def _inputs_record(data, bundle, predictions, embeddings) -> dict[str, Any]:
    """``run.inputs``: what the audit read (a bundle and a dataset, or a predictions file) and its twin source."""
    from ..input_files import shown_path

    def name(value, in_memory: str):
        if value is None:
            return None
        return shown_path(value) if isinstance(value, (str, os.PathLike)) else in_memory

    source = data.counterfactuals
    return {
        "kind": "bundle" if bundle is not None else "predictions",
        "predictions": name(predictions, "<DataFrame>"),
        "embeddings": name(embeddings, "<array>"),
        "counterfactuals": getattr(source, "description", None),
    }


KEY_ORDER = ("schema_version", "run", "verdict", "findings", "causes", "findings_count", "gates", "performance",
             "disparities", "counterfactual", "reasoning", "text_probes", "association", "skew", "dataset_bias",
             "clusters", "methods")


def _ordered(results: dict[str, Any]) -> dict[str, Any]:
    return {k: results[k] for k in KEY_ORDER if k in results}


def _model_card(bundle) -> str:
    from ..input_files import MiB, read_text

    path = bundle.path / "MODEL_CARD.md"
    return read_text(path, what="model card", max_bytes=4 * MiB) if os.path.lexists(path) else ""
