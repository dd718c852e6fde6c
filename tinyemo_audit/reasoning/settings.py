"""The reasoning half's settings objects: instruct configs, training configs, generation settings, reasoning.json.

Their files are checked by the schema layer (:mod:`tinyemo_audit.schema.reasoning`: the rules of
every file the tool reads, one line naming the file and the key); this module turns a checked file
into the frozen objects the code uses. ``check_keys`` serves the package's own resource files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from ..user_text import shown

INSTRUCT_FORMAT = "tinyemo-audit-instruct"
INSTRUCT_VERSION = 1
DEFAULT_LLM = "smollm2-135m"
MODES = ("free", "conditional")

MSG_UNKNOWN_KEYS = "{where}: unknown key(s) {keys}; valid keys: {valid}"


def check_keys(mapping: Any, valid: tuple[str, ...] | list[str], where: str) -> dict[str, Any]:
    """``mapping`` if it is a dict whose keys are all in ``valid``; otherwise a one-line InputError."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(shown(k) for k in mapping if k not in valid)
    if unknown:
        raise InputError(MSG_UNKNOWN_KEYS.format(where=where, keys=", ".join(unknown), valid=", ".join(valid)))
    return mapping


# ---------------------------------------------------------------------------------------------
# The annotator-bias knob and instruct configs


@dataclass(frozen=True)
class AnnotatorBias:
    """Plant attribute-linked wording in a share of one cell's reference reasoning.

    Among faces with ``attributes[attribute] == value`` and true label ``label``, exactly
    ``round(rate * n_cell)`` faces (chosen with the builder's seed) get one of ``sentences``
    (seeded pick) added to their reference reasoning, before the predicted label. The label itself
    is not changed. This is the one way attribute-linked words enter instruct data; the bias is
    recorded in instruct.json and in each row (``annotator_bias``).
    """

    attribute: str
    value: str
    label: str
    rate: float
    sentences: tuple[str, ...]

    @classmethod
    def from_mapping(cls, raw: Any, where: str) -> AnnotatorBias:
        """Parse one entry of ``annotator_bias`` (checked against the faces attributes by the schema)."""
        from ..schema import validate
        from ..schema.reasoning import AnnotatorBiasEntry

        return cls.from_entry(validate(AnnotatorBiasEntry, raw, source=where))

    @classmethod
    def from_entry(cls, entry) -> AnnotatorBias:
        """From a checked :class:`~tinyemo_audit.schema.reasoning.AnnotatorBiasEntry`."""
        return cls(entry.attribute, str(entry.value), entry.label, float(entry.rate), tuple(entry.sentences))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sentences"] = list(self.sentences)
        return out


@dataclass(frozen=True)
class InstructConfig:
    """What ``instruct build`` writes: dataset, split, how many images, seed and the bias knob."""

    dataset: str = "faces"
    split: str = "train"
    n_images: int = 4000
    seed: int = 0
    annotator_bias: tuple[AnnotatorBias, ...] = field(default_factory=tuple)

    @classmethod
    def from_sources(cls, path: str | Path | None = None, **overrides: Any) -> InstructConfig:
        """A config from an optional YAML file, with non-None ``overrides`` (CLI flags) on top."""
        from .._yaml import read_yaml_mapping
        from ..schema import validate
        from ..schema.reasoning import InstructConfigFile

        raw = read_yaml_mapping(path, what="instruct config") if path is not None else {}
        where = path if path is not None else "instruct settings"
        validate(InstructConfigFile, raw, source=where)  # the file alone first: its own keys are named
        merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
        checked = validate(InstructConfigFile, merged, source=where)
        return cls(dataset=checked.dataset, split=checked.split, n_images=checked.n_images, seed=checked.seed,
                   annotator_bias=tuple(AnnotatorBias.from_entry(e) for e in checked.annotator_bias or ()))


# ---------------------------------------------------------------------------------------------
# Training configs


@dataclass(frozen=True)
class ReasoningTrainConfig:
    """Hyper-parameters of ``train-reasoning`` (TinyLLaVA's two stages, scaled to a CPU)."""

    llm: str = DEFAULT_LLM
    dtype: str = "bfloat16"
    visual_tokens: int = 4
    stage1_steps: int = 40
    stage1_lr: float = 1e-3
    stage2_steps: int = 160
    stage2_lr: float = 1e-3
    batch_size: int = 16
    warmup_share: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    max_new_tokens: int = 64
    seed: int = 0
    threads: int = 2
    trust_remote_code: bool = False

    @classmethod
    def from_sources(cls, path: str | Path | None = None, **overrides: Any) -> ReasoningTrainConfig:
        """A config from an optional YAML file, with non-None ``overrides`` (CLI flags) on top."""
        from .._yaml import read_yaml_mapping

        raw = read_yaml_mapping(path, what="reasoning training config") if path is not None else {}
        where = path if path is not None else "train-reasoning settings"
        cls.from_mapping(raw, where)  # the file alone first: its own keys are named
        return cls.from_mapping({**raw, **{k: v for k, v in overrides.items() if v is not None}}, where)

    @classmethod
    def from_mapping(cls, raw: Any, where: Any) -> ReasoningTrainConfig:
        """Check and convert a mapping of hyper-parameters (every key optional; the schema's rules)."""
        from ..schema import validate
        from ..schema.reasoning import ReasoningTrainConfigFile

        checked = validate(ReasoningTrainConfigFile, raw, source=where).model_dump()
        checked["lora_targets"] = tuple(checked["lora_targets"])
        return cls(**checked)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["lora_targets"] = list(self.lora_targets)
        return out


# ---------------------------------------------------------------------------------------------
# Generation settings and reasoning.json


@dataclass(frozen=True)
class GenerationSettings:
    """How ``explain`` generates: greedy by default (deterministic), batched, with the KV cache."""

    max_new_tokens: int = 64
    batch_size: int = 32
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0

    @classmethod
    def from_mapping(cls, raw: Any, where: Any) -> GenerationSettings:
        """Check and convert generation settings (the schema's rules)."""
        from ..schema import validate
        from ..schema.reasoning import GenerationSection

        return cls(**validate(GenerationSection, raw, source=where).model_dump())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_reasoning_spec(spec: Any, where: Any) -> dict[str, Any]:
    """Check a parsed reasoning.json against :class:`~tinyemo_audit.schema.reasoning.ReasoningFile`; returns it.

    Every problem is a one-line InputError naming the file and the key.
    """
    from ..schema import validate
    from ..schema.reasoning import ReasoningFile

    validate(ReasoningFile, spec, source=where)
    return spec


def check_mode(mode: str) -> str:
    """``mode`` if it is ``free`` or ``conditional``; otherwise a UsageError listing both."""
    if mode not in MODES:
        raise UsageError(f"unknown reasoning mode {shown(mode)}; valid choices: {', '.join(MODES)}")
    return mode
