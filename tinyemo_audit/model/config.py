"""Training configuration: a YAML file in configs/models/, overridden by command-line flags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

FACES_KEYS = ("n_train", "n_val", "n_test", "image_size", "seed", "biases")
BIAS_KEYS = ("attribute", "value", "from_label", "to_label", "rate")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained bundle (with the seed, the same bundle)."""

    dataset: str = "faces"
    datasets: list[str] = field(default_factory=list)  # joint training: several specs, one label space
    encoder: str = "faces-mini"
    encoder_weights: str | None = None  # reuse a trained faces-mini instead of training one
    encoder_epochs: int = 8
    label_space: str = "smollm2-135m"
    tokenizer: str | None = None  # llm: label spaces only (e.g. OpenELM with the Llama-2 tokenizer)
    bos: bool = False  # add the BOS embedding to every label mean, as TinyEmo did (LLM spaces)
    dtype: str = "float32"  # the label-space table's dtype (LLM spaces)
    template: str = "{label}"
    synonyms: bool = False  # mean over the taxonomy's synonym prompts
    taxonomy: str | None = None  # by default the dataset's own class list
    loss: str = "infonce"
    temperature: float | None = None  # None: the loss's default (InfoNCE 0.1, NT-Xent 0.07)
    epochs: int = 5
    batch_size: int = 32
    max_lr: float = 5e-4
    weight_decay: float = 0.01
    dropout: float = 0.2
    seed: int = 0
    trust_remote_code: bool = False
    name: str | None = None
    description: str = ""
    faces: dict[str, Any] = field(default_factory=dict)  # FacesConfig fields, biases as dicts

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> TrainConfig:
        """Build from a mapping, rejecting unknown keys and wrong types with one clear line."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InputError(
                f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(fields))}"
            )
        defaults = cls()
        for key, value in data.items():
            expected = type(getattr(defaults, key))
            if value is None or getattr(defaults, key) is None:
                continue
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                raise InputError(
                    f"{source}: {key} must be {expected.__name__}, got {type(value).__name__} ({value!r})"
                )
        faces = data.get("faces") or {}
        bad = sorted(set(faces) - set(FACES_KEYS))
        if bad:
            raise InputError(f"{source}: unknown faces key(s) {', '.join(bad)}; valid: {', '.join(FACES_KEYS)}")
        for bias in faces.get("biases") or []:
            if not isinstance(bias, dict) or set(bias) != set(BIAS_KEYS):
                raise InputError(f"{source}: each faces bias needs exactly the keys {', '.join(BIAS_KEYS)}")
        if "epochs" in data and data["epochs"] < 1:
            raise InputError(f"{source}: epochs must be at least 1")
        if data.get("tokenizer") is not None and not isinstance(data["tokenizer"], str):
            raise InputError(f"{source}: tokenizer must be str, got {type(data['tokenizer']).__name__}")
        datasets = data.get("datasets") or []
        if not all(isinstance(spec, str) and spec for spec in datasets):
            raise InputError(f"{source}: datasets must be a list of dataset specs (strings)")
        if len(set(datasets)) != len(datasets):
            raise InputError(f"{source}: datasets lists a dataset twice")
        datasets = list(datasets)
        if datasets:  # `dataset` always names the first one; a list of one is the single-dataset form
            data = {**data, "dataset": datasets[0]}
        return cls(**{**data, "datasets": datasets if len(datasets) > 1 else []})

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        from .._yaml import read_yaml_mapping

        data = read_yaml_mapping(path)
        if data.get("datasets") and "dataset" in data and [data["dataset"]] != list(data["datasets"]):
            raise InputError(f"{path}: give either dataset (one) or datasets (several), not both")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_sources(cls, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
        """A YAML file (optional) with the non-None ``overrides`` on top.

        A ``dataset`` or ``datasets`` override replaces the file's datasets as a whole: one spec
        becomes ``dataset``, several become ``datasets`` (joint training).
        """
        base = cls.from_yaml(path) if path else cls()
        changes = {k: v for k, v in overrides.items() if v is not None}
        specs = list(changes.pop("datasets", None) or []) or ([changes["dataset"]] if "dataset" in changes else [])
        if specs:
            changes["dataset"] = specs[0]
            changes["datasets"] = specs if len(specs) > 1 else []
        return cls.from_dict({**dataclasses.asdict(base), **changes})

    @property
    def dataset_specs(self) -> tuple[str, ...]:
        """The datasets this run trains on: ``datasets`` when given, else the single ``dataset``."""
        return tuple(self.datasets) or (self.dataset,)

    @property
    def is_joint(self) -> bool:
        """True when several datasets share one label space (TinyEmo's joint strategy)."""
        return len(self.dataset_specs) > 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def faces_config(self):
        """The FacesConfig this training run uses (annotation biases included)."""
        from ..data.faces import AnnotationBias, FacesConfig

        options = {k: v for k, v in self.faces.items() if k != "biases"}
        biases = tuple(AnnotationBias(**b) for b in self.faces.get("biases") or [])
        return FacesConfig(**options, biases=biases)
