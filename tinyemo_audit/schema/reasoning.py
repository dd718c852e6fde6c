"""The schema of the reasoning half's files: instruct configs, train-reasoning configs and a bundle's reasoning.json.

The same rules as every other file the tool reads (:mod:`._base`): closed sections list their valid
keys, types are strict (``true`` is never 1, ``"3"`` never 3), names are bounded single-line strings
without control characters, free text is bounded and folded onto one line. Annotator-bias sentences
are planted into reference texts, so they obey the free-text rule too. reasoning.json is written by
this tool: its sections are typed and extra keys of a newer 1.x writer are kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..user_text import shown
from ._base import Finite, FreeText, Name, OpenSection, Section, Seed, no_control, placeholders, problem

REASONING_FORMAT = "tinyemo-audit-reasoning"
REASONING_VERSION = 1
BASE_DTYPES = ("float32", "bfloat16")  # float16 is slow on CPUs, so it is not offered
STEPS_MAX = 1_000_000
BATCH_MAX = 65_536
TOKENS_MAX = 4_096  # visual tokens, new tokens per answer
RANK_MAX = 4_096
THREADS_MAX = 1_024
IMAGES_MAX = 10_000_000
DIM_MAX = 1 << 20
VOCAB_MAX = 1 << 24
LIST_MAX = 1_000

def _base_dtype(value: str) -> str:
    if value not in BASE_DTYPES:
        raise problem(f"must be one of {', '.join(BASE_DTYPES)}; got {shown(value)}")
    return value


BaseDtype = Annotated[str, AfterValidator(_base_dtype)]
Share = Annotated[Finite, Field(ge=0, le=1)]
Rate = Annotated[Finite, Field(gt=0, le=10)]
Spec = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(no_control)]
ModuleNames = Annotated[list[Name], Field(min_length=1, max_length=LIST_MAX)]
Sentence = Annotated[FreeText, Field(min_length=1)]

# The only fields each template may fill: a template from a file never reaches attributes or items
# of the values it is formatted with ("{label.__class__}" is refused).
TEMPLATE_FIELDS = {"system": (), "plain_chat": ("system", "prompt"), "prompt": (), "hint": ("label",),
                   "answer": ("reasoning", "label")}
TEMPLATE_NEEDS = {"prompt": "<image>", "hint": "{label}", "answer": "{label}"}


class AnnotatorBiasEntry(Section):
    """One entry of ``annotator_bias``: a share of one cell's reference reasoning gets attribute-linked wording."""

    attribute: Name
    value: Name | int
    label: Name
    rate: Share
    sentences: Annotated[list[Sentence], Field(min_length=1, max_length=LIST_MAX)]

    @model_validator(mode="after")
    def _corpus_names(self) -> AnnotatorBiasEntry:
        from ..data.faces.attributes import ATTRIBUTE_VALUES, EXPRESSIONS

        if self.attribute not in ATTRIBUTE_VALUES:
            raise problem(f"unknown attribute {shown(self.attribute)}; valid choices: {', '.join(ATTRIBUTE_VALUES)}")
        if str(self.value) not in ATTRIBUTE_VALUES[self.attribute]:
            raise problem(f"unknown value {shown(self.value)} of {self.attribute}; valid choices: "
                          f"{', '.join(ATTRIBUTE_VALUES[self.attribute])}")
        if self.label not in EXPRESSIONS:
            raise problem(f"unknown label {shown(self.label)}; valid choices: {', '.join(EXPRESSIONS)}")
        return self


class InstructConfigFile(Section):
    """An instruct config (configs/instruct/*.yaml) with ``instruct build``'s flags on top."""

    dataset: Spec = "faces"
    split: Name = "train"
    n_images: Annotated[int, Field(ge=1, le=IMAGES_MAX)] = 4000
    seed: Seed = 0
    annotator_bias: Annotated[list[AnnotatorBiasEntry], Field(max_length=LIST_MAX)] | None = None


class ReasoningTrainConfigFile(Section):
    """A train-reasoning config (configs/reasoning/*.yaml) with the command's flags on top."""

    llm: Spec = "smollm2-135m"
    dtype: BaseDtype = "bfloat16"
    visual_tokens: Annotated[int, Field(ge=1, le=TOKENS_MAX)] = 4
    stage1_steps: Annotated[int, Field(ge=0, le=STEPS_MAX)] = 40
    stage1_lr: Rate = 1e-3
    stage2_steps: Annotated[int, Field(ge=1, le=STEPS_MAX)] = 160
    stage2_lr: Rate = 1e-3
    batch_size: Annotated[int, Field(ge=1, le=BATCH_MAX)] = 16
    warmup_share: Share = 0.1
    lora_r: Annotated[int, Field(ge=1, le=RANK_MAX)] = 8
    lora_alpha: Annotated[int, Field(ge=1, le=1 << 16)] = 16
    lora_dropout: Annotated[Finite, Field(ge=0, lt=1)] = 0.05
    lora_targets: ModuleNames = ["q_proj", "v_proj"]
    max_new_tokens: Annotated[int, Field(ge=1, le=TOKENS_MAX)] = 64
    seed: Seed = 0
    threads: Annotated[int, Field(ge=1, le=THREADS_MAX)] = 2
    trust_remote_code: bool = False


class GenerationSection(Section):
    """How ``explain`` generates: greedy by default (deterministic), batched, with the KV cache."""

    max_new_tokens: Annotated[int, Field(ge=1, le=TOKENS_MAX)] = 64
    batch_size: Annotated[int, Field(ge=1, le=BATCH_MAX)] = 32
    do_sample: bool = False
    temperature: Annotated[Finite, Field(gt=0, le=100)] = 1.0
    top_p: Annotated[Finite, Field(gt=0, le=1)] = 1.0
    seed: Seed = 0


class TemplatesSection(Section):
    """The conversation around the visual tokens; each template fills only its own plain fields."""

    system: FreeText
    plain_chat: Annotated[str, Field(max_length=2_000)]
    prompt: Annotated[str, Field(max_length=2_000)]
    hint: FreeText
    answer: FreeText

    @model_validator(mode="after")
    def _fields(self) -> TemplatesSection:
        for key, allowed in TEMPLATE_FIELDS.items():
            template = getattr(self, key)
            for name in placeholders(template):
                if name not in allowed:
                    listed = ", ".join("{" + a + "}" for a in allowed) or "none (write braces as {{ }})"
                    raise problem(f"{key}: field {{{shown(name, limit=40)}}} is not allowed; allowed fields: {listed}")
        for key, needed in TEMPLATE_NEEDS.items():
            if needed not in getattr(self, key):
                raise problem(f"{key} must contain {needed}")
        return self


def _file_name(value: str) -> str:
    if "/" in value or "\\" in value or value.startswith(".") or not value.endswith(".safetensors"):
        raise problem(f"must be a .safetensors file name inside the reasoning folder; got {shown(value)}")
    return value


class BaseSection(OpenSection):
    spec: Spec
    sha256: Annotated[str, Field(min_length=1, max_length=128)]
    source: str | None = None
    hidden_size: Annotated[int, Field(ge=1, le=DIM_MAX)]
    vocab_size: Annotated[int, Field(ge=1, le=VOCAB_MAX)]
    trust_remote_code: bool = False
    dtype: BaseDtype = "float32"


class EncoderRecord(OpenSection):
    spec: str | None = None
    dim: Annotated[int, Field(ge=1, le=DIM_MAX)] | None = None
    weights_sha256: str | None = None


class WeightsFile(OpenSection):
    file: str
    sha256: Annotated[str, Field(min_length=1, max_length=128)]

    @field_validator("file")
    @classmethod
    def _inside(cls, value: str) -> str:
        return _file_name(value)


class ConnectorSection(WeightsFile):
    d_in: Annotated[int, Field(ge=1, le=DIM_MAX)]
    d_llm: Annotated[int, Field(ge=1, le=DIM_MAX)]
    visual_tokens: Annotated[int, Field(ge=1, le=TOKENS_MAX)]


class AdapterSection(WeightsFile):
    r: Annotated[int, Field(ge=1, le=RANK_MAX)]
    alpha: Annotated[Finite, Field(gt=0)] | Annotated[int, Field(ge=1)]
    dropout: Annotated[Finite, Field(ge=0, lt=1)] = 0.0
    targets: ModuleNames


class ReasoningFile(OpenSection):
    """A whole reasoning.json (a bundle's ``reasoning/`` part)."""

    format: str
    version: int
    base: BaseSection
    encoder: EncoderRecord
    connector: ConnectorSection
    adapter: AdapterSection
    templates: TemplatesSection
    generation: GenerationSection
    classes: Annotated[list[Name], Field(min_length=1, max_length=10_000)]
    training: dict[str, Any]

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value != REASONING_FORMAT:
            raise problem(f"must be {REASONING_FORMAT!r}; got {shown(value)}")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != REASONING_VERSION:
            raise problem(f"is {value}; this tool reads version {REASONING_VERSION}")
        return value
