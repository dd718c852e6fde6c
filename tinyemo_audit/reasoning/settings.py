"""Checks of every settings object of the reasoning half: instruct configs, training configs, reasoning.json.

All validation of the reasoning half's settings lives here (plain checks, one-line errors naming
the file and the key), so that it can move into the package's schema layer as one piece.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from ..input_files import shown_path
from ..user_text import shown, visible

INSTRUCT_FORMAT = "tinyemo-audit-instruct"
INSTRUCT_VERSION = 1
REASONING_FORMAT = "tinyemo-audit-reasoning"
REASONING_VERSION = 1
DEFAULT_LLM = "smollm2-135m"
MODES = ("free", "conditional")
# Dtypes the frozen base model may run in (float16 is slow on CPUs, so it is not offered).
BASE_DTYPES = ("float32", "bfloat16")

MSG_UNKNOWN_KEYS = "{where}: unknown key(s) {keys}; valid keys: {valid}"
MSG_TYPE = "{where}: {key!r} must be {what}, got {got}"


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    # JSON/YAML true/false are bool, a subclass of int: never accept them as a number.
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def check_keys(mapping: Any, valid: tuple[str, ...] | list[str], where: str) -> dict[str, Any]:
    """``mapping`` if it is a dict whose keys are all in ``valid``; otherwise a one-line InputError."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(shown(k) for k in mapping if k not in valid)
    if unknown:
        raise InputError(MSG_UNKNOWN_KEYS.format(where=where, keys=", ".join(unknown), valid=", ".join(valid)))
    return mapping


def check_value(value: Any, types: tuple[type, ...], what: str, where: str, key: str) -> Any:
    """``value`` if it has one of ``types`` (bool never counts as a number)."""
    if not _type_ok(value, types):
        raise InputError(MSG_TYPE.format(where=where, key=key, what=what, got=shown(value)))
    return value


def _positive_int(value: Any, where: str, key: str) -> int:
    check_value(value, (int,), "a positive integer", where, key)
    if value < 1:
        raise InputError(MSG_TYPE.format(where=where, key=key, what="a positive integer", got=shown(value)))
    return int(value)


def _share(value: Any, where: str, key: str) -> float:
    check_value(value, (int, float), "a number in [0, 1]", where, key)
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(MSG_TYPE.format(where=where, key=key, what="a number in [0, 1]", got=shown(value)))
    return float(value)


def _positive_float(value: Any, where: str, key: str) -> float:
    check_value(value, (int, float), "a positive number", where, key)
    if not float(value) > 0:
        raise InputError(MSG_TYPE.format(where=where, key=key, what="a positive number", got=shown(value)))
    return float(value)


def _choice(value: Any, choices: tuple[str, ...], where: str, key: str) -> str:
    if value not in choices:
        raise InputError(f"{where}: {key!r} must be one of {', '.join(choices)}, got {shown(value)}")
    return value


def _string(value: Any, where: str, key: str) -> str:
    check_value(value, (str,), "a non-empty string", where, key)
    if not value.strip():
        raise InputError(MSG_TYPE.format(where=where, key=key, what="a non-empty string", got=shown(value)))
    return value


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
        """Parse one entry of ``annotator_bias`` (checked against the faces attributes)."""
        from ..data.faces.attributes import ATTRIBUTE_VALUES, EXPRESSIONS

        check_keys(raw, [f.name for f in fields(cls)], where)
        for key in ("attribute", "value", "label", "rate", "sentences"):
            if key not in raw:
                raise InputError(f"{where} lacks the key {key!r}")
        attribute = _string(raw["attribute"], where, "attribute")
        if attribute not in ATTRIBUTE_VALUES:
            raise InputError(f"{where}: unknown attribute {shown(attribute)}; valid choices: {', '.join(ATTRIBUTE_VALUES)}")
        value = _string(str(raw["value"]) if _type_ok(raw["value"], (int,)) else raw["value"], where, "value")
        if value not in ATTRIBUTE_VALUES[attribute]:
            raise InputError(f"{where}: unknown value {shown(value)} of {attribute}; valid choices: "
                             f"{', '.join(ATTRIBUTE_VALUES[attribute])}")
        label = _string(raw["label"], where, "label")
        if label not in EXPRESSIONS:
            raise InputError(f"{where}: unknown label {shown(label)}; valid choices: {', '.join(EXPRESSIONS)}")
        sentences = raw["sentences"]
        if not isinstance(sentences, list) or not sentences or not all(
                isinstance(s, str) and s.strip() for s in sentences):
            raise InputError(f"{where}: 'sentences' must be a non-empty list of non-empty strings")
        return cls(attribute, value, label, _share(raw["rate"], where, "rate"), tuple(sentences))

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

        raw = read_yaml_mapping(path, what="instruct config") if path is not None else {}
        where = shown_path(path) if path is not None else "instruct settings"
        check_keys(raw, [f.name for f in fields(cls)], where)
        merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
        out: dict[str, Any] = {}
        if "dataset" in merged:
            out["dataset"] = _string(merged["dataset"], where, "dataset")
        if "split" in merged:
            out["split"] = _string(merged["split"], where, "split")
        if "n_images" in merged:
            out["n_images"] = _positive_int(merged["n_images"], where, "n_images")
        if "seed" in merged:
            check_value(merged["seed"], (int,), "a non-negative integer", where, "seed")
            if merged["seed"] < 0:
                raise InputError(MSG_TYPE.format(where=where, key="seed", what="a non-negative integer",
                                                 got=shown(merged["seed"])))
            out["seed"] = int(merged["seed"])
        biases = merged.get("annotator_bias") or []
        if not isinstance(biases, list):
            raise InputError(f"{where}: 'annotator_bias' must be a list of biases")
        out["annotator_bias"] = tuple(AnnotatorBias.from_mapping(b, f"{where}: annotator_bias[{i}]")
                                      for i, b in enumerate(biases))
        return cls(**out)


# ---------------------------------------------------------------------------------------------
# Training configs


@dataclass(frozen=True)
class ReasoningTrainConfig:
    """Hyper-parameters of ``train-reasoning`` (TinyLLaVA's two stages, scaled to a CPU)."""

    llm: str = DEFAULT_LLM
    dtype: str = "bfloat16"
    visual_tokens: int = 4
    stage1_steps: int = 60
    stage1_lr: float = 1e-3
    stage2_steps: int = 200
    stage2_lr: float = 5e-4
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
        where = shown_path(path) if path is not None else "train-reasoning settings"
        check_keys(raw, [f.name for f in fields(cls)], where)
        merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
        return cls.from_mapping(merged, where)

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], where: str) -> ReasoningTrainConfig:
        """Check and convert a mapping of hyper-parameters (every key optional)."""
        check_keys(raw, [f.name for f in fields(cls)], where)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("llm",):
                out[key] = _string(value, where, key)
            elif key == "dtype":
                out[key] = _choice(value, BASE_DTYPES, where, key)
            elif key in ("stage1_lr", "stage2_lr"):
                out[key] = _positive_float(value, where, key)
            elif key in ("warmup_share", "lora_dropout"):
                out[key] = _share(value, where, key)
            elif key == "lora_targets":
                if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
                    raise InputError(f"{where}: 'lora_targets' must be a non-empty list of module names")
                out[key] = tuple(value)
            elif key == "trust_remote_code":
                out[key] = check_value(value, (bool,), "true or false", where, key)
            elif key in ("seed", "stage1_steps"):
                check_value(value, (int,), "a non-negative integer", where, key)
                if value < 0:
                    raise InputError(MSG_TYPE.format(where=where, key=key, what="a non-negative integer", got=shown(value)))
                out[key] = int(value)
            else:
                out[key] = _positive_int(value, where, key)
        return cls(**out)

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
    def from_mapping(cls, raw: Any, where: str) -> GenerationSettings:
        check_keys(raw, [f.name for f in fields(cls)], where)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "do_sample":
                out[key] = check_value(value, (bool,), "true or false", where, key)
            elif key in ("temperature", "top_p"):
                out[key] = _positive_float(value, where, key)
            elif key == "seed":
                check_value(value, (int,), "an integer", where, key)
                out[key] = int(value)
            else:
                out[key] = _positive_int(value, where, key)
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# reasoning.json: key -> (accepted types, what the message calls them).
_REASONING_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "format": ((str,), "a string"),
    "version": ((int,), "an integer"),
    "base": ((dict,), "an object"),
    "encoder": ((dict,), "an object"),
    "connector": ((dict,), "an object"),
    "adapter": ((dict,), "an object"),
    "templates": ((dict,), "an object"),
    "generation": ((dict,), "an object"),
    "classes": ((list,), "a list of label names"),
    "training": ((dict,), "an object"),
}
_BASE_KEYS = ("spec", "sha256", "source", "hidden_size", "vocab_size", "trust_remote_code", "dtype")
_CONNECTOR_KEYS = ("file", "d_in", "d_llm", "visual_tokens", "sha256")
_ADAPTER_KEYS = ("file", "r", "alpha", "dropout", "targets", "sha256")
_ENCODER_KEYS = ("spec", "dim", "weights_sha256")
TEMPLATE_KEYS = ("system", "plain_chat", "prompt", "hint", "answer")


# The only fields each template may fill: a template from a file never reaches attributes or items
# of the values it is formatted with ("{label.__class__}" is refused).
TEMPLATE_FIELDS = {"system": (), "plain_chat": ("system", "prompt"), "prompt": (), "hint": ("label",),
                   "answer": ("reasoning", "label")}


def check_template_fields(template: str, allowed: tuple[str, ...], where: str) -> str:
    """``template`` if every ``{field}`` in it is a plain name in ``allowed``; else a one-line InputError."""
    import string

    try:
        fields_used = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
                       if name is not None]
    except ValueError as err:
        raise InputError(f"{where} is not a valid template ({err})") from None
    for name, spec, conv in fields_used:
        if name not in allowed or spec or conv:
            field = visible(name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else ""), one_line=True)
            raise InputError(f"{where}: field {{{field}}} is not allowed; allowed fields: "
                             f"{', '.join('{' + a + '}' for a in allowed) or 'none (write braces as {{ }})'}")
    return template


def check_reasoning_spec(spec: Any, where: str) -> dict[str, Any]:
    """Check a parsed reasoning.json; returns it. Every problem is a one-line InputError."""
    if not isinstance(spec, dict) or spec.get("format") != REASONING_FORMAT:
        raise InputError(f"{where} is not a {REASONING_FORMAT} file")
    if spec.get("version") != REASONING_VERSION:
        raise InputError(f"{where} has version {shown(spec.get('version'))}; this tool reads {REASONING_VERSION}")
    check_keys(spec, list(_REASONING_KEYS), where)
    for key, (types, what) in _REASONING_KEYS.items():
        if key not in spec:
            raise InputError(f"{where} lacks the key {key!r}")
        check_value(spec[key], types, what, where, key)
    base = check_keys(spec["base"], _BASE_KEYS, f"{where}: base")
    _string(base.get("spec"), f"{where}: base", "spec")
    _string(base.get("sha256"), f"{where}: base", "sha256")
    for key in ("hidden_size", "vocab_size"):
        _positive_int(base.get(key), f"{where}: base", key)
    if "dtype" in base:
        _choice(base["dtype"], BASE_DTYPES, f"{where}: base", "dtype")
    connector = check_keys(spec["connector"], _CONNECTOR_KEYS, f"{where}: connector")
    for key in ("d_in", "d_llm", "visual_tokens"):
        _positive_int(connector.get(key), f"{where}: connector", key)
    for section, keys in (("connector", _CONNECTOR_KEYS), ("adapter", _ADAPTER_KEYS)):
        block = check_keys(spec[section], keys, f"{where}: {section}")
        name = _string(block.get("file"), f"{where}: {section}", "file")
        if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".safetensors"):
            raise InputError(f"{where}: {section}.file must be a .safetensors file name inside the reasoning folder")
        _string(block.get("sha256"), f"{where}: {section}", "sha256")
    adapter = spec["adapter"]
    _positive_int(adapter.get("r"), f"{where}: adapter", "r")
    check_value(adapter.get("alpha"), (int, float), "a number", f"{where}: adapter", "alpha")
    targets = adapter.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
        raise InputError(f"{where}: adapter.targets must be a non-empty list of module names")
    check_keys(spec["encoder"], _ENCODER_KEYS, f"{where}: encoder")
    templates = check_keys(spec["templates"], TEMPLATE_KEYS, f"{where}: templates")
    for key in TEMPLATE_KEYS:
        _string(templates.get(key), f"{where}: templates", key)
        check_template_fields(templates[key], TEMPLATE_FIELDS[key], f"{where}: templates.{key}")
    if "<image>" not in templates["prompt"]:
        raise InputError(f"{where}: templates.prompt must contain the <image> placeholder")
    if "{label}" not in templates["hint"] or "{label}" not in templates["answer"]:
        raise InputError(f"{where}: templates.hint and templates.answer must contain {{label}}")
    GenerationSettings.from_mapping(spec["generation"], f"{where}: generation")
    classes = spec["classes"]
    if not classes or not all(isinstance(c, str) and c for c in classes):
        raise InputError(f"{where}: classes must be a non-empty list of label names")
    return spec


def check_mode(mode: str) -> str:
    """``mode`` if it is ``free`` or ``conditional``; otherwise a UsageError listing both."""
    if mode not in MODES:
        raise UsageError(f"unknown reasoning mode {shown(mode)}; valid choices: {', '.join(MODES)}")
    return mode
