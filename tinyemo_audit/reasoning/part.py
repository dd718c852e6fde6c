"""A bundle's ``reasoning/`` part: reading, checking and writing it, and loading the MM-LLM it describes.

Layout (inside the bundle folder)::

    reasoning/reasoning.json         base model (spec, sha256 digest), encoder it was trained on,
                                     connector and adapter shapes and file digests, prompt
                                     templates, generation settings, classes, training record
    reasoning/connector.safetensors  the connector's weights
    reasoning/adapter.safetensors    the LoRA adapter weights (peft's state dict)

The base model's weights are never in the bundle: the part names the base by spec and digest, and
loading refuses a base whose digest differs, a connector whose shapes do not fit the encoder or
the base, and weight files whose sha256 differs from the record. Nothing is unpickled.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_directory
from .._json import read_json
from ..errors import InputError
from ..input_files import MiB, file_sha256, shown_path
from ..user_text import shown
from .settings import GenerationSettings, check_reasoning_spec

PART_DIR = "reasoning"
SPEC_FILE = "reasoning.json"
CONNECTOR_FILE = "connector.safetensors"
ADAPTER_FILE = "adapter.safetensors"
MSG_NO_PART = ("bundle {bundle} has no reasoning part ({part}/{spec} is missing); add one with "
               "`tinyemo-audit train-reasoning --model {bundle} --data <instruct folder>`")
MSG_OTHER_BASE = ("the reasoning part of {bundle} was trained on base {spec} with sha256 {want:.12}..., but the base "
                  "found here has sha256 {got:.12}...; install the base it was trained on or retrain with train-reasoning")
MSG_OTHER_ENCODER = ("the reasoning part of {bundle} was trained on another encoder ({what}); "
                     "retrain it with `tinyemo-audit train-reasoning --model {bundle}`")


@dataclass
class ReasoningPart:
    """A checked ``reasoning.json`` and where its files are (no weights loaded)."""

    path: Path
    spec: dict[str, Any]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.spec["classes"])

    @property
    def generation(self) -> GenerationSettings:
        return GenerationSettings.from_mapping(self.spec["generation"], str(self.path / SPEC_FILE))


def has_part(bundle_path: Path) -> bool:
    """Whether a bundle folder has a reasoning part (its reasoning.json exists)."""
    return (Path(bundle_path) / PART_DIR / SPEC_FILE).is_file()


def read_part(bundle_path: Path, bundle_name: str) -> ReasoningPart:
    """Read and check ``reasoning/reasoning.json`` of a bundle folder.

    Raises
    ------
    InputError
        No part (the message says how to add one), or a damaged or invalid reasoning.json.
    """
    folder = Path(bundle_path) / PART_DIR
    file = folder / SPEC_FILE
    if not file.exists():
        raise InputError(MSG_NO_PART.format(bundle=shown(bundle_name), part=PART_DIR, spec=SPEC_FILE))
    spec = read_json(file, what="reasoning spec", max_bytes=16 * MiB)
    return ReasoningPart(folder, check_reasoning_spec(spec, str(file)))


def _read_tensors(path: Path, sha256: str, what: str) -> dict[str, Any]:
    from safetensors.torch import load_file

    if file_sha256(path, what=what) != sha256:
        raise InputError(f"{what} {shown_path(path)} does not match the sha256 in {SPEC_FILE} (damaged or replaced); "
                         "retrain the reasoning part with train-reasoning")
    try:
        return load_file(str(path))
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for a damaged file
        raise InputError(f"cannot read {what} {shown_path(path)}: {' '.join(str(err).split())[:120]}") from None


def _check_encoder(bundle, spec: dict[str, Any]) -> None:
    recorded = spec["encoder"]
    enc = bundle.spec["encoder"]
    if recorded.get("spec") is not None and recorded.get("spec") != enc.get("spec"):
        raise InputError(MSG_OTHER_ENCODER.format(bundle=shown(bundle.name), what=f"spec {shown(recorded.get('spec'))}"))
    weights = enc.get("weights")
    if recorded.get("weights_sha256") and weights:
        got = file_sha256(bundle.path / weights, what="encoder weights")
        if got != recorded["weights_sha256"]:
            raise InputError(MSG_OTHER_ENCODER.format(bundle=shown(bundle.name), what="its weights differ"))


def encoder_record(bundle) -> dict[str, Any]:
    """What a reasoning part records about the encoder it was trained on."""
    enc = bundle.spec["encoder"]
    weights = enc.get("weights")
    return {"spec": enc.get("spec"), "dim": enc.get("dim"),
            "weights_sha256": file_sha256(bundle.path / weights, what="encoder weights") if weights else None}


def load_reasoning_model(bundle, *, trust_remote_code: bool = False):
    """The bundle's MM-LLM, ready to generate (base loaded and digest-checked, adapters attached).

    Parameters
    ----------
    bundle : Bundle
        A loaded bundle with a reasoning part.
    trust_remote_code : bool
        Let an ``llm:`` base's own code run (only when asked).

    Returns
    -------
    ReasoningModel

    Raises
    ------
    InputError
        No reasoning part; another encoder or base (digest mismatch); shapes that do not fit;
        damaged weight files.
    WeightsUnavailableError
        The base model is not on this machine.
    """
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    from .base_llm import load_base
    from .generation_cache import part_identity
    from .mmllm import PromptFormat, ReasoningModel, build_connector

    part = bundle.reasoning
    spec = part.spec
    where = str(part.path / SPEC_FILE)
    _check_encoder(bundle, spec)
    connector_spec, adapter_spec, base_spec = spec["connector"], spec["adapter"], spec["base"]
    encoder_dim = bundle.spec["encoder"].get("dim")
    if encoder_dim is not None and encoder_dim != connector_spec["d_in"]:
        raise InputError(f"{where}: the connector takes {connector_spec['d_in']}-d features but the bundle's "
                         f"encoder gives {encoder_dim}-d; retrain with train-reasoning")
    connector_state = _read_tensors(part.path / connector_spec["file"], connector_spec["sha256"], "reasoning connector")
    adapter_state = _read_tensors(part.path / adapter_spec["file"], adapter_spec["sha256"], "reasoning adapter")
    base = load_base(base_spec["spec"], trust_remote_code=trust_remote_code, dtype=base_spec.get("dtype", "float32"))
    if base.sha256 != base_spec["sha256"]:
        raise InputError(MSG_OTHER_BASE.format(bundle=shown(bundle.name), spec=shown(base_spec["spec"]), want=base_spec["sha256"],
                                               got=base.sha256))
    if base.hidden_size != connector_spec["d_llm"]:
        raise InputError(f"{where}: the connector writes {connector_spec['d_llm']}-d tokens but base "
                         f"{shown(base_spec['spec'])} takes {base.hidden_size}-d inputs")
    connector = build_connector(connector_spec["d_in"], connector_spec["d_llm"], connector_spec["visual_tokens"])
    expected = {k: tuple(v.shape) for k, v in connector.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in connector_state.items()}
    if expected != found:
        raise InputError(f"{shown_path(part.path / connector_spec['file'])} holds tensors {found}, expected {expected} "
                         f"for a {connector_spec['d_in']}→{connector_spec['d_llm']}×{connector_spec['visual_tokens']} "
                         "connector")
    connector.load_state_dict(connector_state)
    lora = LoraConfig(r=adapter_spec["r"], lora_alpha=adapter_spec["alpha"], lora_dropout=0.0,
                      target_modules=list(adapter_spec["targets"]), task_type="CAUSAL_LM")
    try:
        with warnings.catch_warnings():  # peft calls a transformers API that warns of its own rename
            warnings.simplefilter("ignore", FutureWarning)
            llm = get_peft_model(base.model, lora)
    except ValueError as err:
        raise InputError(f"{where}: adapter targets {shown(adapter_spec['targets'])} do not fit base "
                         f"{shown(base_spec['spec'])} ({' '.join(str(err).split())[:120]})") from None
    _load_adapter(llm, adapter_state, set_peft_model_state_dict, part.path / adapter_spec["file"])
    llm.eval()
    connector.eval()
    model = ReasoningModel(llm, base.tokenizer, connector, PromptFormat(**spec["templates"]), part.classes,
                           part.generation)
    model.identity = part_identity(part.path / SPEC_FILE)  # what the audit's kept generations are keyed by
    return model


def _load_adapter(llm, state: dict[str, Any], set_state, file: Path) -> None:
    from peft import get_peft_model_state_dict

    expected = {k: tuple(v.shape) for k, v in get_peft_model_state_dict(llm).items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        missing = sorted(set(expected) - set(found))[:2]
        wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])[:2]
        raise InputError(f"{shown_path(file)} does not fit the base model (missing {missing or 'none'}, "
                         f"wrong shapes {wrong or 'none'}); retrain with train-reasoning")
    set_state(llm, state)


def write_part(bundle_path: Path, spec: dict[str, Any], connector_state: dict[str, Any],
               adapter_state: dict[str, Any]) -> Path:
    """Write ``reasoning/`` into a bundle folder being staged (the output plan puts the bundle in place).

    The file digests are filled into ``spec`` here, from the bytes written.
    """
    from safetensors.torch import save_file

    folder = Path(bundle_path) / PART_DIR
    with atomic_directory(folder) as tmp:  # a part of its own even inside the staged bundle: all or nothing
        save_file({k: v.detach().contiguous() for k, v in connector_state.items()}, str(tmp / CONNECTOR_FILE))
        save_file({k: v.detach().contiguous() for k, v in adapter_state.items()}, str(tmp / ADAPTER_FILE))
        spec["connector"].update(file=CONNECTOR_FILE, sha256=file_sha256(tmp / CONNECTOR_FILE, what="connector"))
        spec["adapter"].update(file=ADAPTER_FILE, sha256=file_sha256(tmp / ADAPTER_FILE, what="adapter"))
        check_reasoning_spec(spec, SPEC_FILE)
        (tmp / SPEC_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder
