"""The ``import-tinyemo`` command: a released TinyEmo projector (.bin) becomes a normal bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..user_text import visible


def import_tinyemo(
    out: Annotated[Path, typer.Option(help="Bundle folder to write (replaced atomically).")],
    projector: Annotated[Optional[str], typer.Option(help="Projector weights: 'tinyemo:<file.bin>' or 'tinyemo:<owner>/<repo>/<file>' in the local HF cache.")] = None,
    variant: Annotated[Optional[str], typer.Option(help="Published variant (openelm-270m, openelm-450m, tinyllama-1.1b, phi-2) or an import config YAML; flags override it.")] = None,
    encoder: Annotated[Optional[str], typer.Option(help="Encoder spec the projector was trained on, e.g. 'hf:openai/clip-vit-large-patch14'.")] = None,
    encoder_dim: Annotated[Optional[int], typer.Option(help="The encoder's feature dimension (default: from the encoder catalogue, else measured).")] = None,
    label_space: Annotated[Optional[str], typer.Option(help="Label space, e.g. 'llm:apple/OpenELM-270M-Instruct' or a model folder as 'llm:<folder>'.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer override for llm: label spaces (OpenELM: meta-llama/Llama-2-7b-hf).")] = None,
    bos: Annotated[Optional[bool], typer.Option("--bos/--no-bos", help="Include the BOS embedding in every label mean (TinyEmo did with Llama tokenizers).")] = None,
    dtype: Annotated[Optional[str], typer.Option(help="Label-space table dtype: float32, float16 or bfloat16.")] = None,
    taxonomy: Annotated[Optional[str], typer.Option(help="Taxonomy name (ekman6, mikels8, parrott25, ...) or comma-separated classes.")] = None,
    template: Annotated[Optional[str], typer.Option(help="Label prompt template, e.g. '{label}'.")] = None,
    loss: Annotated[Optional[str], typer.Option(help="Loss the projector was trained with: infonce, cosine or ntxent.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Bundle name (default: the variant's, else the folder name).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a Hugging Face model's own code to run (off unless asked).")] = False,
) -> None:
    """Import a released TinyEmo Metric Projector as a bundle, checking its dimensions.

    The .bin is read with torch.load(weights_only=True); its input must match the encoder's
    feature dimension and its output the label space's width, else exit 2 naming both shapes.
    """
    from ..model.tinyemo_import import import_published, import_tinyemo_projector

    classes = taxonomy
    if taxonomy is not None and "," in taxonomy:
        classes = tuple(c.strip() for c in taxonomy.split(",") if c.strip())
    options = dict(encoder=encoder, encoder_dim=encoder_dim, label_space=label_space, tokenizer=tokenizer,
                   bos=bos, dtype=dtype, taxonomy=classes, template=template, loss=loss, name=name,
                   trust_remote_code=trust_remote_code or None)
    if variant is not None:
        path = import_published(variant, out, projector=projector, **options)
    else:
        if projector is None or encoder is None or label_space is None:
            raise UsageError("import-tinyemo needs --variant, or all of --projector, --encoder and --label-space")
        given = {k: v for k, v in options.items() if v is not None}
        path = import_tinyemo_projector(projector, out=out, **given)
    typer.echo(f"wrote bundle {visible(str(path), one_line=True)}")
