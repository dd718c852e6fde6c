"""Synthetic emotional instruct data (TinyEmo's two formats) as LLaVA-style JSON plus image files.

An instruct folder holds::

    instruct.json     manifest: format, version, dataset, split, seed, classes, files, the
                      annotator-bias knob, whether the reasoning is grounded in drawn cues
    pretrain.json     pre-training rows: captions, short VQA, sentiment QA, one-word emotion QA
    finetune.json     EmoReason rows: "Reasoning: ... Predicted Label: X", the label as a hint
                      in a share of the prompts
    images/000000.png the images, one per item, named by position (rows keep the dataset's ids)

Each row is ``{"id", "image", "conversations": [{"from": "human", "value": "<image>\\n..."},
{"from": "gpt", "value": ...}], "label", "cues", "hinted", "annotator_bias"}``. On the faces corpus
the reference reasoning names the cues the renderer drew (``cues.py``); any other labelled dataset
gets label-only templates. The same config and seed write the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, UsageError
from ..user_text import shown
from .cues import load_cue_vocabulary
from .settings import INSTRUCT_FORMAT, INSTRUCT_VERSION, AnnotatorBias, InstructConfig
from .templates import compose_prompt, join_phrases, label_words, load_templates

MANIFEST = "instruct.json"
PRETRAIN_FILE = "pretrain.json"
FINETUNE_FILE = "finetune.json"
IMAGES_DIR = "images"
# Seed sub-streams, one per random choice, so adding one never shifts the others.
_TEXT_STREAM, _HINT_STREAM, _BIAS_STREAM, _PRETRAIN_STREAM = 1, 2, 3, 4


@dataclass
class ReferenceReasoning:
    """Reference answers of N faces: the reasoning body, the full answer, the cues named, the knob."""

    reasoning: list[str]
    answers: list[str]
    cues: list[list[str]]
    annotator_bias: np.ndarray  # bool [N]: the knob added a sentence


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 0x1257, stream]))


def _bias_mask(true_labels: np.ndarray, attributes: pd.DataFrame, biases: tuple[AnnotatorBias, ...],
               classes: tuple[str, ...], seed: int) -> tuple[np.ndarray, list[str | None]]:
    """Which faces each knob marks (exactly ``round(rate * n_cell)`` per cell) and their sentences."""
    n = len(true_labels)
    marked = np.zeros(n, dtype=bool)
    sentences: list[str | None] = [None] * n
    rng = _rng(seed, _BIAS_STREAM)
    for bias in biases:
        if bias.attribute not in attributes.columns or bias.label not in classes:
            continue
        cell = (attributes[bias.attribute].to_numpy() == bias.value) & (true_labels == classes.index(bias.label))
        free = np.flatnonzero(cell & ~marked)
        k = min(int(round(bias.rate * int(cell.sum()))), len(free))
        chosen = np.sort(rng.choice(free, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)
        picks = rng.integers(0, len(bias.sentences), size=k)
        for i, pick in zip(chosen.tolist(), picks.tolist()):
            marked[i] = True
            sentences[i] = bias.sentences[pick]
    return marked, sentences


def reference_reasoning(
    expressions: np.ndarray,
    intensity: np.ndarray,
    attributes: pd.DataFrame | None = None,
    *,
    seed: int = 0,
    annotator_bias: tuple[AnnotatorBias, ...] = (),
) -> ReferenceReasoning:
    """Grounded reference reasoning for faces: the drawn cues in words, then the label.

    Parameters
    ----------
    expressions : ndarray of int
        True expression of each face (index into the faces' EXPRESSIONS).
    intensity : ndarray of float
        Expression intensity of each face, as drawn.
    attributes : DataFrame, optional
        The faces' attribute table; only the annotator-bias knob reads it.
    seed : int
        Seed of every template choice and of the knob's choice of faces.
    annotator_bias : tuple of AnnotatorBias
        The knob (see :class:`~tinyemo_audit.reasoning.settings.AnnotatorBias`); empty: clean texts.

    Returns
    -------
    ReferenceReasoning

    Examples
    --------
    >>> import numpy as np
    >>> ref = reference_reasoning(np.array([3]), np.array([0.9]))
    >>> ref.cues
    [['cheeks_raised', 'lip_corners_up', 'lips_stretched']]
    >>> ref.answers[0].endswith("Predicted Label: happy")
    True
    """
    from ..data.faces.attributes import EXPRESSIONS

    expressions = np.asarray(expressions, dtype=np.int64)
    intensity = np.asarray(intensity, dtype=np.float64)
    vocabulary = load_cue_vocabulary()
    tpl = load_templates()["finetune"]
    cues = vocabulary.named_in_reference(expressions, intensity)
    picks = _rng(seed, _TEXT_STREAM).integers(0, 1 << 30, size=(len(expressions), 4))
    if annotator_bias and attributes is not None:
        marked, knob = _bias_mask(expressions, attributes, tuple(annotator_bias), EXPRESSIONS, seed)
    else:
        marked, knob = np.zeros(len(expressions), dtype=bool), [None] * len(expressions)
    reasoning, answers = [], []
    for i, (label_index, named, pick) in enumerate(zip(expressions.tolist(), cues, picks.tolist())):
        label = EXPRESSIONS[label_index]
        noun = label_words(label)["noun"]
        if label == "neutral":
            body = tpl["neutral"][pick[0] % len(tpl["neutral"])]
        elif named:
            phrases = [vocabulary.cue(c).phrases[pick[1] % len(vocabulary.cue(c).phrases)] for c in named]
            sentence = tpl["cue_sentences"][pick[0] % len(tpl["cue_sentences"])].format(cues=join_phrases(phrases))
            body = f"{sentence} {tpl['closings'][pick[2] % len(tpl['closings'])].format(noun=noun)}"
        else:
            body = f"{tpl['faint'][pick[0] % len(tpl['faint'])]} {tpl['closings'][pick[2] % len(tpl['closings'])].format(noun=noun)}"
        if knob[i]:
            body = f"{body} {knob[i]}"
        reasoning.append(body)
        answers.append(tpl["answer"].format(reasoning=body, label=label))
    return ReferenceReasoning(reasoning, answers, cues, marked)


def _prompts(n: int, labels: list[str], seed: int) -> tuple[list[str], np.ndarray]:
    """Fine-tuning prompts: a seeded prompt template each, the hint on exactly a share of them."""
    tpl = load_templates()["finetune"]
    hinted = np.zeros(n, dtype=bool)
    rng = _rng(seed, _HINT_STREAM)
    hinted[rng.permutation(n)[: int(round(float(tpl["hint_share"]) * n))]] = True
    picks = rng.integers(0, len(tpl["prompts"]), size=n)
    prompts = []
    for label, pick, hint in zip(labels, picks.tolist(), hinted.tolist()):
        prompts.append(compose_prompt(tpl["prompts"][pick], tpl["hint"], label if hint else None))
    return prompts, hinted


def _caption_extra(attrs: dict[str, str], pick: int) -> str:
    tpl = load_templates()["pretrain"]
    extra = tpl["glasses"] if attrs.get("glasses") == "yes" else ""
    if pick % 2 and attrs.get("background"):
        extra += tpl["background"].format(background=attrs["background"])
    return extra


def _pretrain_answer(kind: str, label: str, named: list[str], visible: set[str], attrs: dict[str, str],
                     pick: list[int], grounded: bool) -> tuple[str, str]:
    """(question, answer) of one pre-training row of ``kind``."""
    tpl = load_templates()["pretrain"]
    words = label_words(label)
    if kind == "caption":
        question = tpl["caption_prompts"][pick[0] % len(tpl["caption_prompts"])]
        if not grounded:
            return question, tpl["caption_label_only"].format(label=label)
        extra = _caption_extra(attrs, pick[1])
        vocabulary = load_cue_vocabulary()
        if label == "neutral":
            return question, tpl["caption_neutral"].format(extra=extra)
        if not named:
            return question, tpl["caption_faint"].format(extra=extra)
        phrases = [vocabulary.cue(c).phrases[pick[2] % len(vocabulary.cue(c).phrases)] for c in named]
        return question, tpl["caption"].format(cues=join_phrases(phrases), adjective=words["adjective"], extra=extra)
    if kind == "vqa":
        item = tpl["vqa"][pick[0] % len(tpl["vqa"])]
        if "cue" in item:
            return item["question"], tpl["yes_no"]["yes" if item["cue"] in visible else "no"]
        value = attrs.get(item["attribute"], "")
        if "answers" in item:
            return item["question"], item["answers"].get(value, value)
        return item["question"], item["answer"].format(value=value.capitalize())
    if kind == "sentiment":
        question = tpl["sentiment_prompts"][pick[0] % len(tpl["sentiment_prompts"])]
        return question, tpl["sentiment"].format(sentiment=words["sentiment"].capitalize())
    question = tpl["emotion_prompts"][pick[0] % len(tpl["emotion_prompts"])]
    return question, tpl["emotion"].format(label=label.capitalize())


def _pretrain_rows(ids: list[str], images: list[str], labels: list[str], named: list[list[str]],
                   visible: list[set[str]], attributes: list[dict[str, str]], seed: int, grounded: bool) -> list[dict]:
    tpl = load_templates()["pretrain"]
    kinds = list(tpl["mix"]) if grounded else ["caption", "emotion"]
    weights = np.array([float(tpl["mix"][k]) for k in kinds])
    rng = _rng(seed, _PRETRAIN_STREAM)
    chosen = rng.choice(len(kinds), size=len(ids), p=weights / weights.sum())
    picks = rng.integers(0, 1 << 30, size=(len(ids), 3))
    rows = []
    for i, item_id in enumerate(ids):
        question, answer = _pretrain_answer(kinds[chosen[i]], labels[i], named[i], visible[i], attributes[i],
                                            picks[i].tolist(), grounded)
        rows.append({"id": item_id, "image": images[i], "kind": kinds[chosen[i]],
                     "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]})
    return rows


def instruct_rows(dataset, *, seed: int, annotator_bias: tuple[AnnotatorBias, ...] = ()) -> tuple[list[dict], list[dict], bool]:
    """(pre-training rows, fine-tuning rows, grounded) for a loaded dataset split with images.

    The faces corpus (a dataset whose ``meta`` holds ``intensity`` and ``true_labels``) gets
    grounded reasoning; any other labelled dataset label-only templates.
    """
    from ..data.dataset import UNLABELLED

    if dataset.images is None:
        raise UsageError(f"dataset {shown(dataset.name)} has features but no images; instruct data needs images")
    if len(dataset) == 0:
        raise InputError(f"dataset {shown(dataset.name)} has no usable items")
    if bool((np.asarray(dataset.labels) == UNLABELLED).any()):
        raise InputError(f"dataset {shown(dataset.name)} has items without a label; instruct data needs labelled items")
    grounded = dataset.name == "faces" and "intensity" in dataset.meta and "true_labels" in dataset.meta
    n = len(dataset)
    ids = [str(i) for i in dataset.ids]
    images = [f"{IMAGES_DIR}/{i:06d}.png" for i in range(n)]
    attributes = dataset.attributes.astype(str).to_dict("records") if len(dataset.attributes.columns) else [{}] * n
    if grounded:
        true = np.asarray(dataset.meta["true_labels"], dtype=np.int64)
        intensity = np.asarray(dataset.meta["intensity"], dtype=np.float64)
        ref = reference_reasoning(true, intensity, dataset.attributes, seed=seed, annotator_bias=annotator_bias)
        vocabulary = load_cue_vocabulary()
        visible_mask = vocabulary.visible(true, intensity)
        visible = [{vocabulary.ids[j] for j in np.flatnonzero(row)} for row in visible_mask]
        labels = [dataset.classes[k] for k in true.tolist()]
        answers, named, marked = ref.answers, ref.cues, ref.annotator_bias
    else:
        if annotator_bias:
            raise UsageError("the annotator-bias knob needs the faces corpus (it marks cells of its attributes)")
        labels = [dataset.classes[k] for k in np.asarray(dataset.labels).tolist()]
        tpl = load_templates()["finetune"]
        picks = _rng(seed, _TEXT_STREAM).integers(0, len(tpl["label_only"]), size=n)
        answers = [tpl["answer"].format(reasoning=tpl["label_only"][p].format(label=label), label=label)
                   for label, p in zip(labels, picks.tolist())]
        named, visible, marked = [[] for _ in range(n)], [set() for _ in range(n)], np.zeros(n, dtype=bool)
    prompts, hinted = _prompts(n, labels, seed)
    finetune = [
        {"id": ids[i], "image": images[i],
         "conversations": [{"from": "human", "value": prompts[i]}, {"from": "gpt", "value": answers[i]}],
         "label": labels[i], "cues": named[i], "hinted": bool(hinted[i]), "annotator_bias": bool(marked[i])}
        for i in range(n)
    ]
    pretrain = _pretrain_rows(ids, images, labels, named, visible, attributes, seed, grounded)
    return pretrain, finetune, grounded


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def instruct_plan(out: str | Path, dataset: str = "faces", config_file: str | Path | None = None):
    """The instruct folder ``out`` as an output (new, empty, or one this tool wrote and nobody changed).

    The rules are :mod:`tinyemo_audit.outputs`' (ownership by manifest, never an input, writable up
    front); the dataset and the instruct config are the inputs ``out`` may not overlap.
    """
    from ..outputs import OutputPlan, dataset_inputs

    plan = OutputPlan(cache=True)
    plan.folder(out, "--out")
    for path, what in dataset_inputs(dataset):
        plan.input(path, what)
    plan.input(config_file, "instruct config")
    return plan


def _load_split(config: InstructConfig):
    from ..data.registry import check_dataset_spec, load_dataset

    check_dataset_spec(config.dataset, config.split)
    if config.dataset == "faces":
        from ..data.faces import FacesConfig

        n = config.n_images
        dataset = load_dataset("faces", config.split, faces_config=FacesConfig(n_train=n, n_val=n, n_test=n))
    else:
        dataset = load_dataset(config.dataset, config.split)
        if len(dataset) > config.n_images:
            dataset = dataset.subset(np.arange(config.n_images))
    return dataset


def build_instruct(config: InstructConfig, out: str | Path, *, progress: bool = True,
                   config_file: str | Path | None = None) -> Path:
    """Write an instruct folder for ``config`` to ``out`` (replaced whole, atomically).

    Parameters
    ----------
    config : InstructConfig
        Dataset, split, number of images, seed and the annotator-bias knob.
    out : path
        A new or empty folder, or an instruct folder this tool wrote (:func:`instruct_plan`).
    progress : bool
        Show a progress bar while images are written.
    config_file : path, optional
        The instruct config ``config`` came from (an input ``out`` may not overlap).

    Returns
    -------
    Path
        ``out``.
    """
    from tqdm.auto import tqdm

    from .templates import TEMPLATES_FILE

    plan = instruct_plan(out, config.dataset, config_file)
    plan.check()
    dataset = _load_split(config)
    pretrain, finetune, grounded = instruct_rows(dataset, seed=config.seed, annotator_bias=config.annotator_bias)

    manifest: dict[str, Any] = {
        "format": INSTRUCT_FORMAT,
        "version": INSTRUCT_VERSION,
        "dataset": config.dataset,
        "split": config.split,
        "seed": config.seed,
        "n_images": len(dataset),
        "classes": list(dataset.classes),
        "grounded": grounded,
        "cue_vocabulary": load_cue_vocabulary().version if grounded else None,
        "templates_sha256": hashlib.sha256(TEMPLATES_FILE.read_bytes()).hexdigest(),
        "hint_share": float(load_templates()["finetune"]["hint_share"]),
        "annotator_bias": [b.to_dict() for b in config.annotator_bias],
        "n_annotator_bias_rows": int(sum(r["annotator_bias"] for r in finetune)),
        "files": {"pretrain": PRETRAIN_FILE, "finetune": FINETUNE_FILE, "images": IMAGES_DIR},
    }
    with plan.writing() as staged:
        tmp = staged.path(out)
        (tmp / IMAGES_DIR).mkdir()
        bar = tqdm(range(len(dataset)), desc="writing instruct images", unit="image", disable=not progress,
                   leave=False)
        # Plain writes inside the staged folder: the plan puts the whole folder in place at once.
        for i in bar:
            (tmp / finetune[i]["image"]).write_bytes(_png(dataset.images[i]))
        (tmp / PRETRAIN_FILE).write_text(json.dumps(pretrain, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / FINETUNE_FILE).write_text(json.dumps(finetune, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(out)
