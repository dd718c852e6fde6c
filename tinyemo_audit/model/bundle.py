"""Model bundles: a folder with bundle.json, safetensors weights, MODEL_CARD.md and metrics.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import InputError, UnknownNameError
from ..paths import models_dir

BUNDLE_FORMAT = "tinyemo-audit-bundle"
BUNDLE_VERSION = 1
BUNDLE_FILE = "bundle.json"
PROJECTOR_FILE = "projector.safetensors"
ENCODER_FILE = "encoder.safetensors"
LABELS_FILE = "label_embeddings.safetensors"


def list_bundles() -> list[str]:
    """Names of the bundles in the models folder."""
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / BUNDLE_FILE).is_file())


def resolve_bundle_path(name_or_path: str | Path) -> Path:
    """A bundle folder from a name in models/ or a path; unknown → error listing the bundles."""
    path = Path(name_or_path)
    if (path / BUNDLE_FILE).is_file():
        return path
    named = models_dir() / str(name_or_path)
    if (named / BUNDLE_FILE).is_file():
        return named
    if path.exists():
        raise InputError(f"{path} is not a model bundle (no {BUNDLE_FILE})")
    raise UnknownNameError("model", str(name_or_path), list_bundles() + ["<bundle folder>"])


@dataclass
class Bundle:
    """A loaded bundle. Weights load lazily; ``spec`` is the parsed bundle.json."""

    path: Path
    spec: dict[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.get("name") or self.path.name

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.spec["taxonomy"]["classes"])

    @property
    def temperature(self) -> float:
        return float(self.spec["loss"]["temperature"])

    @cached_property
    def projector(self):
        from .projector import load_projector

        projector = load_projector(self.path / PROJECTOR_FILE)
        projector.eval()
        return projector

    @cached_property
    def label_embeddings(self):
        """[K, D] L2-normalised embeddings of ``classes`` as trained (stored in the bundle)."""
        from safetensors.torch import load_file

        return load_file(self.path / LABELS_FILE)["label_embeddings"]

    @cached_property
    def encoder(self):
        """The vision encoder (only needed for datasets of images)."""
        from ..encoders import resolve_encoder

        enc = self.spec["encoder"]
        weights = self.path / enc["weights"] if enc.get("weights") else None
        return resolve_encoder(enc["spec"], weights=weights)

    def label_space(self):
        """The bundle's label space (loaded once per Bundle: audits and zero-shot eval reuse it)."""
        if "label_space" not in self._cache:
            self._cache["label_space"] = self._load_label_space()
        return self._cache["label_space"]

    def _load_label_space(self):
        from ..label_space import resolve_label_space

        ls = self.spec["label_space"]
        return resolve_label_space(
            ls["spec"], bos=ls.get("bos", False), tokenizer=ls.get("tokenizer"), dtype=ls.get("dtype", "float32"),
            trust_remote_code=ls.get("trust_remote_code", False),
        )

    def embed_classes(self, classes: tuple[str, ...]):
        """Label embeddings for ``classes``: stored ones when they match, else built zero-shot."""
        if tuple(classes) == self.classes:
            return self.label_embeddings
        from ..label_space import label_embeddings

        ls = self.spec["label_space"]
        return label_embeddings(self.label_space(), classes, template=ls.get("template", "{label}"))


def load_bundle(name_or_path: str | Path) -> Bundle:
    """Load a bundle by name (models/<name>) or folder. Never unpickles anything."""
    path = resolve_bundle_path(name_or_path)
    try:
        spec = json.loads((path / BUNDLE_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path / BUNDLE_FILE} is not valid JSON: {err}") from None
    if not isinstance(spec, dict) or spec.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{path / BUNDLE_FILE} is not a {BUNDLE_FORMAT} file")
    if spec.get("version") != BUNDLE_VERSION:
        raise InputError(f"{path} has bundle version {spec.get('version')}; this tool reads {BUNDLE_VERSION}")
    for key in ("encoder", "label_space", "taxonomy", "projector", "loss"):
        if key not in spec:
            raise InputError(f"{path / BUNDLE_FILE} lacks the key {key!r}")
    for name in (PROJECTOR_FILE, LABELS_FILE):
        if not (path / name).is_file():
            raise InputError(f"bundle {path} lacks {name}")
    return Bundle(path=path, spec=spec)
