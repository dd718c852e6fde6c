"""One trial of the reasoning plan: instruct data with or without the knob, the MM-LLM retrained, its texts audited.

A trial (seed ``s``) builds instruct data from the faces train split with the real builder
(:func:`tinyemo_audit.reasoning.build_instruct`, seed ``s``: its own template choices), with the
annotator-bias knob of ``configs/instruct/faces-annotator-bias.yaml`` (planted) or without it
(clean); retrains the reasoning part (connector + LoRA, :func:`tinyemo_audit.reasoning.train_reasoning`)
into the plan's private copy of the bundle; and audits what the retrained MM-LLM writes about the
test split's twins with the audit's own functions, as ``run`` does: ``collect_texts`` and
``reasoning_section`` (:mod:`tinyemo_audit.audit.reasoning`), then ``apply_fdr`` (one
Benjamini–Hochberg over the trial's reasoning p-values) and ``rank_findings`` (the flag rule).
Only the reasoning part changes between trials: the encoder and projector are the bundle's, so the
twins' projector labels (the conditional hints) are computed once per plan (:func:`prepare`).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..reasoning.settings import AnnotatorBias, InstructConfig, ReasoningTrainConfig

KNOB_CONFIG = ("instruct", "faces-annotator-bias.yaml")  # under configs/: the default bundle's plant
TRIAL_BUNDLE = "trial-bundle"
TRIAL_INSTRUCT = "trial-instruct"


@dataclass(frozen=True)
class PlantedDirection:
    """What a planted trial's finding must say to count as found (see ``DEFINITIONS['power']``)."""

    attribute: str  # the knob's attribute (skin_group)
    value: str  # the knob's group (dark): the changed twin of a finding
    label: str  # the knob's true label (neutral): the twins the knob wrote about
    negative: tuple[str, ...]  # emotions a more hostile reading points to
    words: tuple[str, ...]  # the knob's words, counted in the texts (realised figures)


def knob_file() -> Path:
    """configs/instruct/faces-annotator-bias.yaml: the knob every planted trial uses."""
    from ..paths import configs_dir

    return configs_dir().joinpath(*KNOB_CONFIG)


def knob_words(sentences: tuple[str, ...]) -> tuple[str, ...]:
    """The words every knob sentence holds (English stop words aside); the words of any if they share none.

    Examples
    --------
    >>> knob_words(("The face looks hostile.", "There is something hostile in the look."))
    ('hostile',)
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # the stop words distinctive_word leaves out

    from ..audit.reasoning._findings import _words  # the reasoning findings' own notion of a word

    sets = [_words(s) - ENGLISH_STOP_WORDS for s in sentences]
    common = set.intersection(*sets) if sets else set()
    return tuple(sorted(common or set().union(*sets)))


def planted_direction(knob: tuple[AnnotatorBias, ...], negative: tuple[str, ...]) -> PlantedDirection:
    """The direction of the (first) knob entry, with the emotions that count as negative."""
    first = knob[0]
    return PlantedDirection(first.attribute, first.value, first.label, tuple(negative), knob_words(first.sentences))


def is_hit(finding: dict[str, Any], direction: PlantedDirection) -> bool:
    """Whether a reasoning finding names the plant in its direction (``DEFINITIONS['power']``).

    On the knob's attribute only: a free-mode finding (``reasoning_label``) or a conditional-mode
    one (``reasoning_text``) whose changed twin is the knob's group and whose target is, for the
    stated label, any label but the knob's own (the twins' true label), for the wording a negative
    emotion; or a leakage finding that is the amplification over the reference reasoning (leakage
    above chance alone, without amplification, is not). Attribute mentions are never a hit (the
    knob's sentences name no attribute).
    """
    if finding.get("attribute") != direction.attribute:
        return False
    kind = finding.get("kind")
    if kind == "reasoning_leakage":
        return (finding.get("outcome") or {}).get("amplification") is not None
    if kind not in ("reasoning_label", "reasoning_text") or (finding.get("groups") or [None])[-1] != direction.value:
        return False
    target = (finding.get("outcome") or {}).get("target")
    return target != direction.label if kind == "reasoning_label" else target in direction.negative


@dataclass
class TrialContext:
    """What every trial of a plan shares: the bundle, the twins and their hints, settings, knob, recipe, workspace."""

    bundle: Any  # the Bundle whose reasoning part is retrained (its encoder and projector stay)
    twin_predictions: dict[str, Any]  # attribute -> TwinPredictions (the projector's labels give the hints)
    references: dict[str, str | None]
    settings: dict[str, Any]
    instruct: InstructConfig  # the knob file with the plan's n_images (the knob on)
    recipe: ReasoningTrainConfig  # the trial recipe with the part's base LLM (seed set per trial)
    direction: PlantedDirection
    workspace: Path

    @property
    def trial_bundle(self) -> Path:
        return self.workspace / TRIAL_BUNDLE / self.bundle.path.name


def prepare(bundle, settings: dict[str, Any], *, n_images: int, train: ReasoningTrainConfig, workspace: Path,
            progress: bool) -> TrialContext:
    """The plan's shared state: the knob, the resolved recipe, the twins' predictions, the private bundle copy.

    The recipe keeps every value of ``train`` but the base LLM and its dtype, which are the ones the
    bundle's reasoning part was trained on (``reasoning.json`` ``base``), found as loading that part
    finds them. Twins: the faces test split's counterfactual source (what ``run`` reads), the
    settings' ``twins_per_attribute`` identities of each attribute ``reasoning.attributes`` keeps.
    """
    from ..audit._twins import predict_twins
    from ..data.faces import FacesTwins
    from ..data.faces.corpus import AUDITED_ATTRIBUTES

    base = bundle.reasoning.spec["base"]  # no part: the reasoning package's one-line InputError
    recipe = replace(train, llm=base["spec"], dtype=base.get("dtype", train.dtype))
    instruct = InstructConfig.from_sources(knob_file(), n_images=n_images)
    wanted = settings["reasoning"]["attributes"]
    source = FacesTwins()
    twin_predictions = {}
    for attr in source.attributes(AUDITED_ATTRIBUTES):
        if wanted is None or attr in wanted:
            twins = source.twin_set(attr, n_identities=settings["twins_per_attribute"])
            twin_predictions[attr] = predict_twins(bundle, twins, progress=progress)
    references = {a: settings["reference_groups"].get(a) for a in twin_predictions}
    negative = tuple((settings.get("association_sets") or {}).get("negative") or ())
    context = TrialContext(bundle, twin_predictions, references, settings, instruct, recipe,
                           planted_direction(instruct.annotator_bias, negative), Path(workspace))
    _copy_without_part(bundle.path, context.trial_bundle)
    return context


def _copy_without_part(source: Path, target: Path) -> None:
    """A private copy of the bundle without its reasoning part, owned by this tool (train-reasoning replaces it)."""
    from ..outputs import OutputPlan
    from ..reasoning.train import _copy_bundle  # train-reasoning's own copy rule: everything but the part

    plan = OutputPlan()
    plan.folder(target, "trial bundle")
    plan.check()
    with plan.writing() as staged:
        _copy_bundle(source, staged.path(target))


def realised(texts: dict[str, Any], direction: PlantedDirection) -> dict[str, Any] | None:
    """What the MM-LLM wrote about the knob's twins: per group, texts with a knob word and stated labels.

    Over the twins of the knob's attribute whose true label is the knob's (neutral): how many
    conditional-mode and free-mode texts hold a knob word (whole word, any case), and how many
    free-mode texts state a label other than the knob's. None when that attribute was not audited.
    """
    from ..audit.reasoning._lexicon import mentions

    tt = texts.get(direction.attribute)
    if tt is None or direction.label not in tt.classes:
        return None
    rows = np.flatnonzero(tt.labels == tt.classes.index(direction.label))

    def count(grid) -> dict[str, int]:
        return {v: int(mentions(list(grid[rows, j]), direction.words).sum()) for j, v in enumerate(tt.values)}

    other = {v: int(sum(s is not None and s != direction.label for s in tt.stated[rows, j]))
             for j, v in enumerate(tt.values)}
    return {"n_twins": int(len(rows)), "knob_words": list(direction.words),
            "conditional_with_knob_word": count(tt.conditional), "free_with_knob_word": count(tt.free),
            "free_stating_other_label": other}


def audit_texts(texts: dict[str, Any], context: TrialContext, seed: int) -> tuple[dict[str, Any], list[dict], int]:
    """The reasoning section, its findings (with their pairs of texts) and the number of tests, as ``run`` does."""
    from ..audit import _findings
    from ..audit.reasoning import attach_reasoning_examples, reasoning_section

    settings = context.settings
    section, evidence = reasoning_section(texts, settings=settings, references=context.references, seed=seed,
                                          skipped=[])
    results = {"reasoning": section}
    n_tests = _findings.apply_fdr(results, settings["q_max"])
    findings = _findings.rank_findings(results, settings)
    attach_reasoning_examples(findings, evidence)
    return section, findings, n_tests


def run_trial(context: TrialContext, *, planted: bool, seed: int, progress: bool) -> tuple[dict[str, Any], dict]:
    """Build, retrain, audit; (the trial's row, its timings). The row holds no time: same seed, same row."""
    from .._json import read_json
    from ..input_files import MiB
    from ..audit.reasoning import collect_texts
    from ..model.bundle import load_bundle
    from ..reasoning.instruct import MANIFEST, build_instruct
    from ..reasoning.train import train_reasoning

    began = time.perf_counter()
    config = replace(context.instruct, seed=seed, annotator_bias=context.instruct.annotator_bias if planted else ())
    data = build_instruct(config, context.workspace / TRIAL_INSTRUCT, progress=progress)
    knob_rows = int(read_json(data / MANIFEST, what="instruct manifest", max_bytes=MiB)["n_annotator_bias_rows"])
    built = time.perf_counter()
    train_reasoning(context.trial_bundle, data, replace(context.recipe, seed=seed), progress=progress)
    trained = time.perf_counter()
    bundle = load_bundle(context.trial_bundle)
    stages = bundle.reasoning.spec["training"]["stages"]
    texts = collect_texts(bundle, context.twin_predictions, context.settings, context.references, seed=seed,
                          progress=progress)
    _, findings, n_tests = audit_texts(texts, context, seed)
    hits = [f for f in findings if is_hit(f, context.direction)]
    row = {
        "seed": int(seed), "planted": bool(planted), "knob_rows": knob_rows,
        "final_loss": {s["name"]: s["final_loss"] for s in stages},
        "n_tests": n_tests, "n_flags": len(findings), "found": bool(hits),
        "flags": [f["title"] for f in findings], "hits": [f["title"] for f in hits],
        "realised": realised(texts, context.direction),
    }
    del bundle, texts, findings
    gc.collect()  # the trial's MM-LLM goes before the next one loads
    done = time.perf_counter()
    return row, {"seed": int(seed), "planted": bool(planted), "instruct_s": round(built - began, 1),
                 "train_s": round(trained - built, 1), "audit_s": round(done - trained, 1),
                 "total_s": round(done - began, 1)}
