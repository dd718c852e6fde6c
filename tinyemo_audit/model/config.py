"""Training configuration: a YAML file in configs/models/, overridden by command-line flags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..input_files import shown_path

WHAT = "training config file"
MSG_NOT_MAPPING = "{source}: expected a mapping of settings, got {kind}"


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
        """Build from a mapping, checked by :class:`~tinyemo_audit.schema.train_config.TrainConfigFile`.

        Unknown keys (with the valid ones listed), wrong types and out-of-range values are one
        InputError line naming ``source`` and the key.
        """
        from ..schema._errors import validate
        from ..schema.train_config import TrainConfigFile

        if not isinstance(data, dict):
            raise InputError(MSG_NOT_MAPPING.format(source=source, kind=type(data).__name__))
        checked = validate(TrainConfigFile, data, source=source)
        values = {key: getattr(checked, key) for key in data}
        if "faces" in values:
            values["faces"] = {} if checked.faces is None else checked.faces.model_dump(exclude_unset=True)
        if values.get("description", "") is None:
            values["description"] = ""
        datasets = list(values.get("datasets") or [])
        if datasets:  # `dataset` always names the first one; a list of one is the single-dataset form
            values["dataset"] = datasets[0]
        values["datasets"] = datasets if len(datasets) > 1 else []
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        from .._yaml import read_yaml_mapping

        data = read_yaml_mapping(path, what=WHAT)
        config = cls.from_dict(data, source=str(path))  # types first: `datasets` may be anything here
        if data.get("datasets") and "dataset" in data and [data["dataset"]] != list(data["datasets"]):
            raise InputError(f"{shown_path(path)}: give either dataset (one) or datasets (several), not both")
        return config

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
        """Every field as plain data (what bundle.json records as ``training.config``)."""
        return dataclasses.asdict(self)

    def faces_config(self):
        """The FacesConfig this training run uses (annotation biases included)."""
        from ..data.faces import AnnotationBias, FacesConfig

        options = {k: v for k, v in self.faces.items() if k != "biases"}
        biases = tuple(AnnotationBias(**b) for b in self.faces.get("biases") or [])
        return FacesConfig(**options, biases=biases)
