"""Turns a released TinyEmo projector (``.bin`` state dict) plus encoder and label-space specs into a bundle."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_write_json, atomic_write_text
from ..errors import InputError, UsageError, WeightsUnavailableError
from ..paths import configs_dir
from ..user_text import visible
from .bundle import BUNDLE_FILE, BUNDLE_FORMAT, BUNDLE_VERSION, LABELS_FILE, PROJECTOR_FILE

SCHEME = "tinyemo"
PUBLISHED_DIR = "tinyemo-published"
LOSSES = ("infonce", "cosine", "ntxent")
MSG_IN = (
    "TinyEmo projector {source} takes {d_in}-d image features (model.0.weight {w0}) but encoder "
    "{encoder} gives {enc_dim}-d features"
)
MSG_OUT = (
    "TinyEmo projector {source} maps into {d_out}-d embeddings (model.4.weight {w4}) but label "
    "space {space} has {space_dim}-d token embeddings"
)


@dataclass(frozen=True)
class TinyEmoImport:
    """Everything that turns a released TinyEmo projector into a bundle (a published-variant config).

    ``projector`` is ``tinyemo:<file>`` or ``tinyemo:<owner>/<repo>/<file>`` (a Hugging Face
    file read from the local cache only).
    """

    name: str
    projector: str | None = None
    encoder: str = "hf:openai/clip-vit-large-patch14"
    encoder_dim: int | None = None
    label_space: str = ""
    label_space_dim: int | None = None  # the LLM's hidden size, checked before the LLM is loaded
    tokenizer: str | None = None
    bos: bool = False
    dtype: str = "float32"
    trust_remote_code: bool = False
    taxonomy: str = "ekman6"
    template: str = "{label}"
    synonyms: bool = False
    loss: str = "infonce"
    temperature: float = 0.1
    description: str = ""

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TinyEmoImport:
        """Read a ``configs/models/tinyemo-published/*.yaml`` file (unknown keys are refused)."""
        from .._yaml import read_yaml_mapping
        from ..schema._errors import validate
        from ..schema.train_config import ImportConfigFile

        path = Path(path)
        data = read_yaml_mapping(path, what="import config")
        checked = validate(ImportConfigFile, data, source=path)
        return cls(**{key: getattr(checked, key) for key in data if getattr(checked, key) is not None})


def published_configs() -> dict[str, Path]:
    """The shipped published-variant configs: name (file stem) → path."""
    folder = configs_dir() / "models" / PUBLISHED_DIR
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_import_config(name_or_path: str | os.PathLike) -> TinyEmoImport:
    """A published-variant config by name (``openelm-270m``) or YAML path."""
    from ..errors import UnknownNameError

    path = Path(name_or_path)
    if path.is_file():
        return TinyEmoImport.from_yaml(path)
    configs = published_configs()
    if str(name_or_path) in configs:
        return TinyEmoImport.from_yaml(configs[str(name_or_path)])
    raise UnknownNameError("TinyEmo published variant", str(name_or_path), [*configs, "<config.yaml>"])


def locate_projector(source: str | os.PathLike) -> Path:
    """The local file a ``tinyemo:`` projector source names.

    Parameters
    ----------
    source : str or path
        ``tinyemo:<file>``, a plain file path, or ``tinyemo:<owner>/<repo>/<file>`` looked up in
        the local Hugging Face cache (never downloaded).

    Raises
    ------
    WeightsUnavailableError
        When the file is not on this machine.
    """
    text = str(source)
    if text.startswith(f"{SCHEME}:"):
        text = text[len(SCHEME) + 1:]
    if not text:
        raise UsageError("tinyemo: needs a projector file, e.g. tinyemo:/data/TinyEmo-CLIP-Phi-2.bin")
    path = Path(text).expanduser()
    if path.is_file():
        return path
    parts = text.split("/")
    if not path.is_absolute() and not text.startswith(".") and len(parts) >= 3:
        from .._hub import locate_file

        repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
        found = locate_file(repo, filename)
        if found is not None:
            return found
        raise WeightsUnavailableError(
            f"TinyEmo projector {filename} of {repo} is not in the Hugging Face cache and downloads are "
            f"off; put the file on disk and pass --projector tinyemo:<path>"
        )
    raise WeightsUnavailableError(f"TinyEmo projector file not found: {text}")


def _encoder_dim(encoder: str, encoder_dim: int | None, trust_remote_code: bool) -> int:
    if encoder_dim is not None:
        return int(encoder_dim)
    from ..encoders.known import known_encoders

    for entry in known_encoders():
        if entry.spec == encoder:
            return entry.dim
    # An encoder outside the catalogue: build it to measure its dimension.
    from ..encoders import resolve_encoder

    return int(resolve_encoder(encoder, trust_remote_code=trust_remote_code).dim)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _classes(taxonomy: str | Sequence[str]) -> tuple[str, tuple[str, ...], Any]:
    if isinstance(taxonomy, str):
        from ..taxonomy import get_taxonomy

        tax = get_taxonomy(taxonomy)
        return tax.name, tuple(tax.classes), tax.synonyms
    classes = tuple(taxonomy)
    if not classes:
        raise UsageError("taxonomy needs at least one class")
    return "custom", classes, None


def _model_card(spec: dict[str, Any]) -> str:
    src = spec["training"]
    lines = [
        f"# Model card: {spec['name']}",
        "",
        spec.get("description") or "A released TinyEmo Metric Projector, imported into a tinyemo-audit bundle.",
        "",
        "## Architecture",
        f"- Vision encoder: `{spec['encoder']['spec']}` ({spec['encoder']['dim']}-d features, frozen)",
        f"- Metric Projector: Linear({spec['projector']['d_in']}→{spec['projector']['d_out']}) → BatchNorm1d → "
        f"GELU → Dropout → Linear({spec['projector']['d_out']}→{spec['projector']['d_out']})",
        f"- Label space: `{spec['label_space']['spec']}` input-token embeddings ({spec['label_space']['dim']}-d)"
        + (f", tokenizer `{spec['label_space']['tokenizer']}`" if spec["label_space"].get("tokenizer") else "")
        + f", template `{spec['label_space']['template']}`, BOS {'included' if spec['label_space']['bos'] else 'excluded'}",
        f"- Classes ({len(spec['taxonomy']['classes'])}, {spec['taxonomy']['name']}): "
        + ", ".join(spec["taxonomy"]["classes"]),
        "",
        "## Provenance",
        f"- Weights: `{src['checkpoint']}` (sha256 `{src['sha256']}`), read with torch.load(weights_only=True)",
        "- Trained by the TinyEmo authors (arXiv 2410.07062), not by tinyemo-audit; this bundle only",
        "  re-packages the projector and embeds the labels. Training data, splits and selection are",
        "  theirs; evaluate it with `tinyemo-audit eval` before relying on any number.",
        "",
        "## Intended use and limits",
        "- Auditing and reproducing the published TinyEmo projectors.",
        "- The projector expects features of exactly the encoder named above; other encoders give",
        "  meaningless predictions even when the dimensions agree.",
        "",
    ]
    return visible("\n".join(lines))  # names, specs and classes come from the user


def import_tinyemo_projector(
    path: str | os.PathLike,
    *,
    encoder: str,
    label_space: str,
    taxonomy: str | Sequence[str] = "ekman6",
    out: str | os.PathLike,
    tokenizer: str | None = None,
    bos: bool = False,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    encoder_dim: int | None = None,
    label_space_dim: int | None = None,
    template: str = "{label}",
    synonyms: bool = False,
    loss: str = "infonce",
    temperature: float = 0.1,
    name: str | None = None,
    description: str = "",
) -> Path:
    """Write a bundle folder from a released TinyEmo projector.

    Parameters
    ----------
    path : str or path
        The projector: ``tinyemo:<file.bin>``, a plain path, or ``tinyemo:<owner>/<repo>/<file>``
        in the local HF cache. Read with ``torch.load(weights_only=True)``; keys ``model.0.*``
        (Linear), ``model.1.*`` (BatchNorm1d with running stats), ``model.4.*`` (Linear).
    encoder : str
        The encoder spec whose features the projector was trained on.
    label_space : str
        Label-space spec, usually ``llm:<hf-id-or-folder>``.
    taxonomy : str or sequence of str
        A taxonomy name (``ekman6``, ``mikels8``, ...) or an explicit class list.
    out : path
        Bundle folder to write (replaced atomically).
    tokenizer : str, optional
        Tokenizer override for ``llm:`` (OpenELM uses Llama-2's).
    bos : bool
        Include the BOS embedding in every label mean (TinyEmo's Llama-tokenizer models did).
    dtype : {"float32", "float16", "bfloat16"}
        Dtype the label-space table is read in.
    trust_remote_code : bool
        Forwarded to transformers only when True.
    encoder_dim : int, optional
        The encoder's feature dimension; by default from the encoder catalogue, else measured by
        building the encoder.
    label_space_dim : int, optional
        The label space's expected width, checked before the LLM is loaded (a fast, clear
        failure for a projector of another variant).
    template : str
        Label prompt template.
    synonyms : bool
        Average each class over its taxonomy synonyms.
    loss : {"infonce", "cosine", "ntxent"}
        The loss the projector was trained with (recorded; sets how probabilities are read).
    temperature : float
        Softmax temperature over cosine similarities.
    name, description : str
        Bundle name (default: the folder name) and description.

    Returns
    -------
    Path
        The bundle folder.

    Raises
    ------
    InputError
        When the checkpoint is not a TinyEmo projector, or its dimensions disagree with the
        encoder or the label space (the message names both shapes).
    WeightsUnavailableError
        When the projector or the label-space weights are not on this machine.
    """
    import torch
    from safetensors.torch import save_file

    from ..label_space import label_embeddings, resolve_label_space
    from ..schema.bundle import DIM_MAX
    from ..schema.run_request import check_count
    from .projector import load_foreign_checkpoint, projector_from_state_dict, save_projector

    check_count(encoder_dim, "--encoder-dim", low=1, high=DIM_MAX)
    check_count(label_space_dim, "label_space_dim", low=1, high=DIM_MAX)
    if loss not in LOSSES:
        from ..errors import UnknownNameError

        raise UnknownNameError("loss", loss, LOSSES)
    from ..outputs import bundle_plan

    out = Path(out)
    file = locate_projector(path)
    outputs = bundle_plan(out, specs=(encoder, label_space, tokenizer), files=((file, "projector file"),))
    outputs.check()
    state = load_foreign_checkpoint(file)
    first, last = state.get("model.0.weight"), state.get("model.4.weight")
    if not isinstance(first, torch.Tensor) or first.ndim != 2 or not isinstance(last, torch.Tensor):
        raise InputError(f"{file} is not a TinyEmo projector (needs model.0.weight and model.4.weight)")
    d_out, d_in = (int(n) for n in first.shape)
    enc_dim = _encoder_dim(encoder, encoder_dim, trust_remote_code)
    if d_in != enc_dim:
        raise InputError(MSG_IN.format(source=file.name, d_in=d_in, w0=list(first.shape), encoder=encoder,
                                       enc_dim=enc_dim))
    if label_space_dim is not None and d_out != label_space_dim:
        raise InputError(MSG_OUT.format(source=file.name, d_out=d_out, w4=list(last.shape), space=label_space,
                                        space_dim=label_space_dim))
    space = resolve_label_space(label_space, trust_remote_code=trust_remote_code, tokenizer=tokenizer,
                                bos=bos, dtype=dtype)
    if d_out != space.dim:
        raise InputError(MSG_OUT.format(source=file.name, d_out=d_out, w4=list(last.shape), space=label_space,
                                        space_dim=space.dim))
    try:
        projector = projector_from_state_dict(state, expected_in=enc_dim, expected_out=space.dim)
    except InputError as err:
        raise InputError(f"{file}: {err}") from None
    tax_name, classes, tax_synonyms = _classes(taxonomy)
    table = label_embeddings(space, classes, template=template, synonyms=tax_synonyms if synonyms else None)

    spec = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "name": name or out.name,
        "description": description,
        "encoder": {"spec": encoder, "weights": None, "dim": enc_dim},
        "label_space": {
            "spec": label_space,
            "dim": int(space.dim),
            "template": template,
            "synonyms": bool(synonyms),
            "bos": bool(bos),
            "tokenizer": tokenizer,
            "dtype": dtype,
            "trust_remote_code": bool(trust_remote_code),
            "fingerprint": space.fingerprint(),
        },
        "taxonomy": {"name": tax_name, "classes": list(classes)},
        "projector": {"d_in": d_in, "d_out": d_out, "dropout": projector.dropout, "weights": PROJECTOR_FILE},
        "loss": {"name": loss, "temperature": float(temperature)},
        "training": {
            "source": "TinyEmo release (arXiv 2410.07062)",
            "checkpoint": f"{SCHEME}:{file}",
            "sha256": _sha256(file),
        },
        "metrics": {},
    }
    with outputs.writing() as staged:
        workdir = staged.path(out)
        save_projector(projector, workdir / PROJECTOR_FILE)
        save_file({"label_embeddings": table.contiguous()}, str(workdir / LABELS_FILE))
        atomic_write_json(workdir / BUNDLE_FILE, spec)
        atomic_write_text(workdir / "MODEL_CARD.md", _model_card(spec))
    return out


def import_published(
    variant: str | os.PathLike,
    out: str | os.PathLike,
    *,
    projector: str | os.PathLike | None = None,
    **overrides: Any,
) -> Path:
    """Import one of the four published variants (or any TinyEmoImport YAML) as a bundle.

    Parameters
    ----------
    variant : str or path
        ``openelm-270m``, ``openelm-450m``, ``tinyllama-1.1b``, ``phi-2`` or a config path.
    out : path
        Bundle folder to write.
    projector : str or path, optional
        Projector file overriding the config's (``tinyemo:<path>``).
    **overrides
        Non-None values replace the config's fields (e.g. ``taxonomy="mikels8"``).
    """
    config = resolve_import_config(variant)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "label_space" in changes and "label_space_dim" not in changes:
        changes["label_space_dim"] = None  # the config's width belongs to its own LLM
    if "encoder" in changes and "encoder_dim" not in changes:
        changes["encoder_dim"] = None
    config = dataclasses.replace(config, **changes)
    source = projector or config.projector
    if source is None:
        raise UsageError(f"variant {config.name} names no projector file; pass --projector tinyemo:<path>")
    return import_tinyemo_projector(
        source, encoder=config.encoder, label_space=config.label_space, taxonomy=config.taxonomy, out=out,
        tokenizer=config.tokenizer, bos=config.bos, dtype=config.dtype,
        trust_remote_code=config.trust_remote_code, encoder_dim=config.encoder_dim,
        label_space_dim=config.label_space_dim, template=config.template,
        synonyms=config.synonyms, loss=config.loss, temperature=config.temperature, name=config.name,
        description=config.description,
    )
