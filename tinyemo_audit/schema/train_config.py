"""The schema of training configs (configs/models/*.yaml, ``train --config``, and ``train``'s flags).

Types and ranges of every :class:`~tinyemo_audit.model.config.TrainConfig` field live here; names
that resolve through a registry (dataset, encoder, label space, loss, dtype) are checked by the
registries themselves before training starts (``model.train._check_names``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..user_text import shown
from ._base import Finite, FreeText, Name, Seed, Section, no_control, problem
from .bundle import DIM_MAX

EPOCHS_MAX = 1_000
BATCH_MAX = 65_536
SPLIT_MAX = 10_000_000  # items per faces split (each one is rendered)
# null means something for these (no weights to reuse, the default tokenizer, the loss's own
# temperature, ...) or an empty value; any other key set to null is an error, not a silent default.
NULLABLE = frozenset({"encoder_weights", "tokenizer", "taxonomy", "temperature", "name", "description",
                      "datasets", "faces"})

# A spec or a path: one line, bounded, never empty.
Spec = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(no_control)]
Epochs = Annotated[int, Field(ge=1, le=EPOCHS_MAX)]


class AnnotationBiasEntry(Section):
    """One planted annotation bias of the faces corpus (names are checked against the corpus)."""

    attribute: Name
    value: Name
    from_label: Name
    to_label: Name
    rate: Annotated[Finite, Field(ge=0, le=1)]

    @model_validator(mode="after")
    def _corpus_names(self) -> AnnotationBiasEntry:
        from ..data.faces.attributes import ATTRIBUTE_VALUES, EXPRESSIONS

        if self.attribute not in ATTRIBUTE_VALUES:
            raise problem(f"unknown bias attribute {shown(self.attribute)}; valid: {', '.join(ATTRIBUTE_VALUES)}")
        if self.value not in ATTRIBUTE_VALUES[self.attribute]:
            raise problem(f"{shown(self.value)} is not a value of {self.attribute}; valid: "
                          f"{', '.join(ATTRIBUTE_VALUES[self.attribute])}")
        for label in (self.from_label, self.to_label):
            if label not in EXPRESSIONS:
                raise problem(f"unknown expression label {shown(label)}; valid: {', '.join(EXPRESSIONS)}")
        return self


class FacesSection(Section):
    n_train: Annotated[int, Field(ge=0, le=SPLIT_MAX)] | None = None
    n_val: Annotated[int, Field(ge=0, le=SPLIT_MAX)] | None = None
    n_test: Annotated[int, Field(ge=0, le=SPLIT_MAX)] | None = None
    image_size: Annotated[int, Field(ge=16, le=512)] | None = None
    seed: Seed | None = None
    biases: Annotated[list[AnnotationBiasEntry], Field(max_length=100)] | None = None


class TrainConfigFile(Section):
    """Every key of a training config; absent keys keep TrainConfig's defaults."""

    dataset: Spec | None = None
    datasets: Annotated[list[Spec], Field(max_length=100)] | None = None
    encoder: Spec | None = None
    encoder_weights: Spec | None = None
    encoder_epochs: Epochs | None = None
    label_space: Spec | None = None
    tokenizer: Spec | None = None
    bos: bool | None = None
    dtype: Name | None = None
    template: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    synonyms: bool | None = None
    taxonomy: Name | None = None
    loss: Name | None = None
    temperature: Annotated[Finite, Field(gt=0, le=100)] | None = None
    epochs: Epochs | None = None
    batch_size: Annotated[int, Field(ge=2, le=BATCH_MAX)] | None = None  # BatchNorm needs 2 rows
    max_lr: Annotated[Finite, Field(gt=0, le=1)] | None = None
    weight_decay: Annotated[Finite, Field(ge=0, le=1)] | None = None
    dropout: Annotated[Finite, Field(ge=0, lt=1)] | None = None
    seed: Seed | None = None
    trust_remote_code: bool | None = None
    name: Name | None = None
    description: FreeText | None = None
    faces: FacesSection | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_only_where_meaningful(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in NULLABLE:
                    raise problem(f"{key}: must not be null (leave the key out to keep its default)")
        return data

    @field_validator("datasets")
    @classmethod
    def _distinct(cls, specs: list[str] | None) -> list[str] | None:
        if specs and len(set(specs)) != len(specs):
            twice = next(s for i, s in enumerate(specs) if s in specs[:i])
            raise problem(f"lists the dataset {shown(twice)} twice")
        return specs


class ImportConfigFile(Section):
    """A published-variant config for ``import-tinyemo`` (configs/models/tinyemo-published/*.yaml)."""

    name: Name
    label_space: Spec
    projector: Spec | None = None
    encoder: Spec | None = None
    encoder_dim: Annotated[int, Field(ge=1, le=DIM_MAX)] | None = None
    label_space_dim: Annotated[int, Field(ge=1, le=DIM_MAX)] | None = None
    tokenizer: Spec | None = None
    bos: bool | None = None
    dtype: Name | None = None
    trust_remote_code: bool | None = None
    taxonomy: Name | None = None
    template: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    synonyms: bool | None = None
    loss: Name | None = None
    temperature: Annotated[Finite, Field(gt=0, le=100)] | None = None
    description: FreeText | None = None
