"""Emotion taxonomies (class lists, synonyms, cross-taxonomy mappings) loaded from package data."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from .errors import InputError, UnknownNameError
from .paths import RESOURCES_DIR

TAXONOMIES_FILE = RESOURCES_DIR / "taxonomies.yaml"


@dataclasses.dataclass(frozen=True)
class Taxonomy:
    """One emotion taxonomy.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"fer7"``.
    classes : tuple of str
        Class names in index order.
    synonyms : Mapping[str, tuple of str]
        Per-class word lists for label prompts; every class has one, its own name first.
    mappings : Mapping[str, Mapping[str, str]]
        ``target taxonomy -> {class: target class}``; partial where a class has no counterpart.
    description : str
        One line saying where the taxonomy comes from.
    """

    name: str
    classes: tuple[str, ...]
    synonyms: Mapping[str, tuple[str, ...]] = dataclasses.field(hash=False)
    mappings: Mapping[str, Mapping[str, str]] = dataclasses.field(hash=False)
    description: str = ""

    def index(self, label: str) -> int:
        """Position of ``label`` in :attr:`classes` (raises UnknownNameError)."""
        try:
            return self.classes.index(label)
        except ValueError:
            raise UnknownNameError(f"{self.name} class", label, self.classes) from None

    def map_to(self, target: str) -> Mapping[str, str]:
        """The mapping of this taxonomy's classes onto taxonomy ``target``.

        Raises
        ------
        UnknownNameError
            If no mapping to ``target`` is defined; the message lists the defined ones.
        """
        if target not in self.mappings:
            raise UnknownNameError(f"mapping from {self.name}", target, self.mappings)
        return self.mappings[target]


def _freeze(name: str, raw: Mapping) -> Taxonomy:
    where = f"{TAXONOMIES_FILE.name}: taxonomy {name!r}"
    classes = tuple(str(c) for c in raw.get("classes") or ())
    if not classes or len(set(classes)) != len(classes):
        raise InputError(f"{where} needs a non-empty list of distinct classes")
    raw_synonyms = raw.get("synonyms") or {}
    unknown = set(raw_synonyms) - set(classes)
    if unknown:
        raise InputError(f"{where} has synonyms for unknown classes {sorted(unknown)}")
    synonyms = {}
    for label in classes:
        words = tuple(str(w) for w in raw_synonyms.get(label) or (label,))
        if label not in words:
            words = (label, *words)
        synonyms[label] = words
    mappings = {
        str(target): MappingProxyType({str(k): str(v) for k, v in (pairs or {}).items()})
        for target, pairs in (raw.get("mappings") or {}).items()
    }
    for target, pairs in mappings.items():
        unknown = set(pairs) - set(classes)
        if unknown:
            raise InputError(f"{where} maps unknown classes {sorted(unknown)} to {target!r}")
    return Taxonomy(
        name=name,
        classes=classes,
        synonyms=MappingProxyType(synonyms),
        mappings=MappingProxyType(mappings),
        description=str(raw.get("description", "")),
    )


@lru_cache(maxsize=1)
def _load_all() -> dict[str, Taxonomy]:
    import yaml

    raw = yaml.safe_load(TAXONOMIES_FILE.read_text(encoding="utf-8")) or {}
    taxonomies = {str(name): _freeze(str(name), spec) for name, spec in raw.items()}
    for taxonomy in taxonomies.values():
        for target, pairs in taxonomy.mappings.items():
            if target not in taxonomies:
                raise InputError(
                    f"{TAXONOMIES_FILE.name}: {taxonomy.name!r} maps to unknown taxonomy {target!r}"
                )
            stray = set(pairs.values()) - set(taxonomies[target].classes)
            if stray:
                raise InputError(
                    f"{TAXONOMIES_FILE.name}: {taxonomy.name!r}->{target!r} targets unknown "
                    f"classes {sorted(stray)}"
                )
    return taxonomies


def list_taxonomies() -> list[str]:
    """Names of the shipped taxonomies, sorted."""
    return sorted(_load_all())


def get_taxonomy(name: str) -> Taxonomy:
    """Return the taxonomy called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_taxonomies`, e.g. ``"fer7"``, ``"mikels8"``, ``"parrott25"``.

    Raises
    ------
    UnknownNameError
        If ``name`` is not a shipped taxonomy; the message lists the valid names.

    Examples
    --------
    >>> get_taxonomy("fer7").classes[:3]
    ('angry', 'disgust', 'fear')
    """
    taxonomies = _load_all()
    if name not in taxonomies:
        raise UnknownNameError("taxonomy", name, taxonomies)
    return taxonomies[name]


def taxonomy_of(names) -> Taxonomy | None:
    """The smallest shipped taxonomy whose classes include every one of ``names``; None if none does.

    Class names that a user's table writes as free text are then ordered as a known taxonomy
    orders them (:mod:`tinyemo_audit.data.predictions` keeps only the classes its rows name: a
    class no row names has no rate to compare).

    Examples
    --------
    >>> taxonomy_of(["happy", "sad"]).name
    'fer7'
    >>> taxonomy_of(["happy", "joyous-ish"]) is None
    True
    """
    wanted = set(names)
    if not wanted:
        return None
    fitting = [t for t in _load_all().values() if wanted <= set(t.classes)]
    return min(fitting, key=lambda t: len(t.classes)) if fitting else None
