"""Label prompts as data (templates from prompts.yaml) and TinyEmo's per-class label embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import InputError, UnknownNameError, UsageError
from ..paths import RESOURCES_DIR
from .base import LabelSpace

if TYPE_CHECKING:
    import torch

PROMPTS_FILE = RESOURCES_DIR / "prompts.yaml"
PLACEHOLDER = "{label}"


@lru_cache(maxsize=1)
def _prompts() -> dict:
    import yaml

    raw = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8")) or {}
    templates = {str(k): str(v) for k, v in (raw.get("templates") or {}).items()}
    for name, text in templates.items():
        if PLACEHOLDER not in text:
            raise InputError(f"{PROMPTS_FILE.name}: template {name!r} lacks {PLACEHOLDER}")
    defaults = {str(k): str(v) for k, v in (raw.get("defaults") or {}).items()}
    stray = set(defaults.values()) - set(templates)
    if stray:
        raise InputError(f"{PROMPTS_FILE.name}: defaults name unknown templates {sorted(stray)}")
    return {"templates": templates, "defaults": defaults}


def list_templates() -> list[str]:
    """Names of the shipped prompt templates."""
    return sorted(_prompts()["templates"])


def get_template(name: str) -> str:
    """Resolve a template: a registered name, or a literal string containing ``{label}``.

    Raises
    ------
    UnknownNameError
        If ``name`` is neither; the message lists the registered names.
    """
    if PLACEHOLDER in name:
        return name
    templates = _prompts()["templates"]
    if name not in templates:
        raise UnknownNameError("prompt template", name, templates)
    return templates[name]


def default_template(taxonomy: str) -> str:
    """The template text a taxonomy uses by default (``{label}`` if it names none)."""
    name = _prompts()["defaults"].get(taxonomy)
    return get_template(name) if name else PLACEHOLDER


def render(template: str, label: str) -> str:
    """Fill ``{label}``; other braces in the template are left alone (no ``str.format``)."""
    return template.replace(PLACEHOLDER, label)


def label_embeddings(
    space: LabelSpace,
    classes: Sequence[str],
    *,
    template: str = PLACEHOLDER,
    synonyms: Mapping[str, Sequence[str]] | None = None,
) -> torch.Tensor:
    """One L2-normalised embedding per class, TinyEmo style.

    Each class's words (its synonyms if given, else the class name) are put into ``template``,
    embedded by ``space``, averaged, and the mean is L2-normalised.

    Parameters
    ----------
    space : LabelSpace
        Where labels live.
    classes : sequence of str
        Class names in index order (distinct).
    template : str
        A literal containing ``{label}`` (e.g. ``"a scene evoking {label} to viewers"``) or the
        name of a template in prompts.yaml.
    synonyms : mapping of class -> sequence of str, optional
        Word lists per class (e.g. ``get_taxonomy("fer7").synonyms``); classes absent use their
        own name.

    Returns
    -------
    torch.Tensor
        float32 ``[len(classes), space.dim]``.

    Examples
    --------
    >>> emb = label_embeddings(space, ["angry", "happy"], template="scene")  # doctest: +SKIP
    """
    import torch

    classes = list(classes)
    if not classes:
        raise UsageError("label_embeddings needs at least one class")
    if len(set(classes)) != len(classes):
        raise UsageError("label_embeddings: classes must be distinct")
    text = get_template(template)
    synonyms = synonyms or {}
    words = [list(synonyms.get(label, (label,))) for label in classes]
    empty = [label for label, group in zip(classes, words) if not group]
    if empty:
        raise UsageError(f"label_embeddings: empty synonym list for {empty}")
    prompts = [render(text, w) for group in words for w in group]
    per_prompt = space.embed_texts(prompts)
    owner = torch.repeat_interleave(torch.arange(len(classes)), torch.tensor([len(g) for g in words]))
    sums = torch.zeros(len(classes), per_prompt.shape[1], dtype=per_prompt.dtype)
    sums.index_add_(0, owner, per_prompt)
    return torch.nn.functional.normalize(sums, dim=1)
