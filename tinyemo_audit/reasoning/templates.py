"""The instruct templates (data in ``resources/instruct_templates.yaml``) and the words they fill in."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import InputError
from ..paths import RESOURCES_DIR

TEMPLATES_FILE = RESOURCES_DIR / "instruct_templates.yaml"
IMAGE_PLACEHOLDER = "<image>"
_TOP_KEYS = ("version", "system", "plain_chat", "finetune", "pretrain", "labels")
_FINETUNE_KEYS = ("hint_share", "prompts", "hint", "answer", "cue_sentences", "closings", "faint", "neutral",
                  "label_only")
_PRETRAIN_KEYS = ("mix", "caption_prompts", "caption", "caption_neutral", "caption_faint", "caption_label_only",
                  "glasses", "background", "vqa", "yes_no", "sentiment_prompts", "sentiment", "emotion_prompts",
                  "emotion")


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Any]:
    """The shipped instruct templates, with their structure checked."""
    from .._yaml import read_yaml_mapping
    from .settings import check_keys

    where = str(TEMPLATES_FILE)
    raw = check_keys(read_yaml_mapping(TEMPLATES_FILE, what="instruct templates"), _TOP_KEYS, where)
    check_keys(raw.get("finetune"), _FINETUNE_KEYS, f"{where}: finetune")
    check_keys(raw.get("pretrain"), _PRETRAIN_KEYS, f"{where}: pretrain")
    for key in ("prompts", "cue_sentences", "closings", "faint", "neutral", "label_only"):
        if not raw["finetune"].get(key):
            raise InputError(f"{where}: finetune.{key} must be a non-empty list")
    if not all(IMAGE_PLACEHOLDER in p for p in raw["finetune"]["prompts"]):
        raise InputError(f"{where}: every finetune prompt must contain {IMAGE_PLACEHOLDER}")
    return raw


def label_words(label: str) -> dict[str, str]:
    """The noun, adjective and sentiment templates use for ``label`` (the label itself when unknown)."""
    known = load_templates()["labels"].get(label)
    return dict(known) if known else {"noun": label, "adjective": label, "sentiment": "neutral"}


def join_phrases(phrases: list[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``.

    Examples
    --------
    >>> join_phrases(["raised cheeks", "lip corners pulled up"])
    'raised cheeks and lip corners pulled up'
    """
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def compose_prompt(prompt: str, hint: str, label: str | None) -> str:
    """The user turn: ``prompt``, plus the hint sentence on its own line when a label is given.

    The one place a hinted prompt is composed: the instruct builder writes it, ``explain`` asks it.
    """
    return prompt if label is None else f"{prompt}\n{hint.format(label=label)}"


def inference_templates() -> dict[str, str]:
    """The templates a trained reasoning part keeps in reasoning.json (the canonical prompt)."""
    raw = load_templates()
    return {
        "system": raw["system"],
        "plain_chat": raw["plain_chat"],
        "prompt": raw["finetune"]["prompts"][0],
        "hint": raw["finetune"]["hint"],
        "answer": raw["finetune"]["answer"],
    }
