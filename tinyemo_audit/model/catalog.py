"""What ``models list`` shows: local bundles, the published TinyEmo variants and known encoders, with availability."""

from __future__ import annotations

from typing import Any

from ..user_text import visible

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")


def _llm_ref(spec: str) -> str | None:
    scheme, sep, rest = spec.partition(":")
    return rest if sep and scheme == "llm" else None


def _published_rows(check_weights: bool) -> list[dict[str, Any]]:
    from .._hub import locate_file
    from ..encoders.hf import hf_weights_available
    from ..errors import TinyEmoAuditError
    from .tinyemo_import import TinyEmoImport, locate_projector, published_configs

    rows = []
    for variant, path in published_configs().items():
        config = TinyEmoImport.from_yaml(path)
        row: dict[str, Any] = {
            "variant": variant,
            "name": config.name,
            "projector": config.projector,
            "encoder": config.encoder,
            "label_space": config.label_space,
            "tokenizer": config.tokenizer,
            "dims": f"{config.encoder_dim}->{config.label_space_dim}",
            "available": None,
            "missing": [],
        }
        if check_weights:
            missing = []
            try:
                if config.projector is None:
                    raise TinyEmoAuditError("no projector named")
                locate_projector(config.projector)
            except TinyEmoAuditError:
                missing.append("projector")
            ref = _llm_ref(config.label_space)
            if ref is not None and not hf_weights_available(ref):
                missing.append("label-space LLM")
            tokenizer_ref = config.tokenizer or ref
            if tokenizer_ref and not any(locate_file(tokenizer_ref, f) for f in TOKENIZER_FILES):
                missing.append("tokenizer")
            row["missing"], row["available"] = missing, not missing
        rows.append(row)
    return rows


def model_catalog(*, check_weights: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Everything ``models list`` reports.

    Parameters
    ----------
    check_weights : bool
        Look on this machine (folders and the Hugging Face cache; nothing is downloaded or
        loaded) for the weights each published variant and known encoder needs.

    Returns
    -------
    dict
        ``bundles`` (name per bundle in the models folder), ``published`` (the TinyEmo
        variants, with ``available`` and ``missing``) and ``encoders`` (the catalogue with
        ``available``).
    """
    from ..encoders.known import list_known_encoders
    from .bundle import list_bundles

    return {
        "bundles": [{"name": name} for name in list_bundles()],
        "published": _published_rows(check_weights),
        "encoders": list_known_encoders(check_weights=check_weights),
    }


def _mark(available: bool | None) -> str:
    return {True: "yes", False: "no", None: "?"}[available]


def format_catalog(catalog: dict[str, list[dict[str, Any]]]) -> str:
    """Plain-text tables of :func:`model_catalog` for the terminal."""
    lines = ["bundles (models/):"]
    lines += [f"  {row['name']}" for row in catalog["bundles"]] or ["  (none)"]
    lines += ["", "published TinyEmo projectors (tinyemo-audit import-tinyemo --variant NAME --out DIR):"]
    for row in catalog["published"]:
        missing = f"  missing: {', '.join(row['missing'])}" if row["missing"] else ""
        lines.append(f"  {row['variant']:<16} {row['dims']:<10} {row['label_space']:<40} "
                     f"weights here: {_mark(row['available'])}{missing}")
    lines += ["", "known encoders (--encoder SPEC):"]
    for row in catalog["encoders"]:
        lines.append(f"  {row['name']:<18} {row['spec']:<40} {row['dim']:>5}-d  {row['image_size']:>3}px  "
                     f"weights here: {_mark(row['available'])}")
    return visible("\n".join(lines))  # bundle names are folder names
