"""Joint training data: several datasets on one shared label vocabulary (TinyEmo's joint strategy).

TinyEmo trained one projector on EmoSet (Mikels 8) + WEBEmo (Parrott 25) (+ EmotionROI, Ekman 6).
Its label space is open-vocabulary: a label is a word embedded in the LLM's token space, so the
shared label set is simply the **union of the class names**. A name that several taxonomies share
("sadness" in Ekman, Mikels and Parrott) is one label; names that differ stay separate labels
("anger" and "angry" are two words, two embeddings). Taxonomy *mappings* are not applied while
training: they collapse classes (Mikels' amusement, contentment and excitement all map to Ekman's
joy) and would throw away the finer labels the data carries. Each item keeps its own label name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.dataset import Dataset
from ..errors import InputError

SPLITS = ("train", "val", "test")
MSG_DIMS = (
    "datasets disagree on feature dimension ({dims}); joint training needs features from one encoder"
)


def union_classes(class_lists: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The shared label vocabulary: every class name once, in order of first appearance.

    Examples
    --------
    >>> union_classes([("anger", "joy"), ("amusement", "anger")])
    ('anger', 'joy', 'amusement')
    """
    return tuple(dict.fromkeys(name for classes in class_lists for name in classes))


def shared_labels(labels: np.ndarray, own_classes: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Re-index ``labels`` (indices into ``own_classes``) into the shared vocabulary ``classes``."""
    position = {name: i for i, name in enumerate(classes)}
    missing = [name for name in own_classes if name not in position]
    if missing:
        raise InputError(f"classes {missing} are not in the shared label space")
    lookup = np.asarray([position[name] for name in own_classes], dtype=np.int64)
    return lookup[np.asarray(labels, dtype=np.int64)]


def match_taxonomy(classes: Sequence[str]) -> str | None:
    """The shipped taxonomy whose class set equals ``classes`` (any order), or None.

    Feature folders list their classes sorted, so the set, not the order, identifies a taxonomy.

    Examples
    --------
    >>> match_taxonomy(["anger", "disgust", "fear", "joy", "sadness", "surprise"])
    'ekman6'
    """
    from ..taxonomy import get_taxonomy, list_taxonomies

    wanted = set(classes)
    for name in list_taxonomies():
        if set(get_taxonomy(name).classes) == wanted:
            return name
    return None


def dataset_key(spec: str) -> str:
    """A spec normalised for comparison: ``scheme:<absolute path>`` when it names a local folder/file.

    ``features:data/x`` and ``features:/work/data/x`` then compare equal, so that a bundle's record
    of its training data recognises the same dataset however the user spells it.
    """
    scheme, sep, rest = spec.partition(":")
    if sep and rest and Path(rest).exists():
        return f"{scheme}:{Path(rest).resolve()}"
    return spec


def dataset_label(spec: str) -> str:
    """A short column name for a spec: the folder name for ``scheme:<path>``, else the spec."""
    scheme, sep, rest = spec.partition(":")
    if sep and rest:
        return Path(rest.rstrip("/")).name or spec
    return spec


def short_labels(specs: Sequence[str]) -> dict[str, str]:
    """Distinct short names for ``specs`` (the full spec wherever two short names would clash)."""
    short = {spec: dataset_label(spec) for spec in specs}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {spec: (name if counts[name] == 1 else spec) for spec, name in short.items()}


@dataclass(frozen=True)
class JointData:
    """Several datasets' splits with their features, on one shared label vocabulary.

    Attributes
    ----------
    parts : mapping spec -> split -> Dataset
        Each dataset as loaded, with its own taxonomy.
    features : mapping spec -> split -> ndarray float32 [N, D]
        Encoder features per dataset and split (one ``D`` for all).
    classes : tuple of str
        The shared label vocabulary (:func:`union_classes` of the datasets' taxonomies).
    """

    parts: Mapping[str, Mapping[str, Dataset]]
    features: Mapping[str, Mapping[str, np.ndarray]]
    classes: tuple[str, ...]

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(self.parts)

    @property
    def dim(self) -> int:
        first = self.features[self.specs[0]]["train"]
        return int(first.shape[1])

    def stacked_features(self, split: str) -> np.ndarray:
        """Every dataset's ``split`` features, concatenated in dataset order."""
        return np.concatenate([np.asarray(self.features[s][split], dtype=np.float32) for s in self.specs])

    def stacked_labels(self, split: str, *, true: bool = False) -> np.ndarray:
        """Labels of ``split`` in the shared vocabulary; ``true=True`` prefers a dataset's true labels.

        (The faces corpus can carry planted annotation biases in its training labels; evaluation
        uses ``meta["true_labels"]`` where present.)
        """
        out = []
        for spec in self.specs:
            data = self.parts[spec][split]
            labels = data.meta.get("true_labels", data.labels) if true else data.labels
            out.append(shared_labels(np.asarray(labels), data.classes, self.classes))
        return np.concatenate(out)


def check_feature_dims(features: Mapping[str, Mapping[str, np.ndarray]]) -> int:
    """The one feature dimension all datasets share; InputError (one line) naming each otherwise."""
    dims = {spec: int(np.asarray(splits["train"]).shape[1]) for spec, splits in features.items()}
    if len(set(dims.values())) > 1:
        raise InputError(MSG_DIMS.format(dims=", ".join(f"{s}: {d}" for s, d in dims.items())))
    return next(iter(dims.values()))


def dataset_records(data: JointData) -> list[dict[str, Any]]:
    """What bundle.json records about each training dataset (spec, taxonomy, classes, sizes)."""
    records = []
    for spec in data.specs:
        own = data.parts[spec]["train"].classes
        records.append({
            "spec": spec,
            "key": dataset_key(spec),
            "taxonomy": match_taxonomy(own),
            "classes": list(own),
            "n": {split: int(len(data.parts[spec][split])) for split in SPLITS},
        })
    return records


def merged_synonyms(class_lists: Iterable[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Synonym lists for the union vocabulary, from each dataset's matching shipped taxonomy.

    A class name found in several taxonomies takes the synonyms of the first one that has it;
    classes of datasets that match no shipped taxonomy use their own name only.
    """
    from ..taxonomy import get_taxonomy

    synonyms: dict[str, tuple[str, ...]] = {}
    for classes in class_lists:
        name = match_taxonomy(classes)
        if name is None:
            continue
        for label, words in get_taxonomy(name).synonyms.items():
            synonyms.setdefault(label, tuple(words))
    return synonyms
