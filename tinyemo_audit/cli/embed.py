"""The ``embed`` command: precompute a dataset's encoder features into a resumable feature cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..user_text import visible
from ._scale_options import ACTORS_HELP, DEVICE_HELP, ENGINE_HELP, RAY_ADDRESS_HELP


def embed(
    encoder: Annotated[str, typer.Option(help="Encoder spec: 'open_clip:<arch>/<tag-or-path>', 'hf:<id-or-folder>' or 'faces-mini' (with --weights).")],
    dataset: Annotated[str, typer.Option(help="Dataset spec whose splits hold images, e.g. 'faces'.")],
    out: Annotated[Path, typer.Option(help="Feature-cache folder to write; read it back as 'features:<out>'.")],
    split: Annotated[Optional[list[str]], typer.Option(help="Split to encode (repeatable; default train, val and test).")] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass (progress is saved after each).")] = 256,
    weights: Annotated[Optional[Path], typer.Option(help="Encoder weights file or folder, for specs that take one.")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a Hugging Face model's own code to run (off unless asked).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a cache made by another encoder or dataset.")] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help=RAY_ADDRESS_HELP)] = None,
    actors: Annotated[Optional[int], typer.Option(help=ACTORS_HELP)] = None,
    device: Annotated[Optional[str], typer.Option(help=DEVICE_HELP)] = None,
) -> None:
    """Encode a dataset's images once: features.npy + manifest.json per split, resumable.

    Rerun the same command after an interruption: finished batches are kept, finished splits
    are skipped. With --engine ray the encoder runs on Ray Data actors (a local Ray, or the
    cluster at --ray-address); the store and its resume are the same (docs/scale.md).
    """
    from ..encoders.embed import DEFAULT_SPLITS
    from ..encoders.embed import embed as run_embed

    folders = run_embed(encoder, dataset, out, splits=tuple(split or DEFAULT_SPLITS), batch_size=batch_size,
                        weights=weights, trust_remote_code=trust_remote_code, overwrite=overwrite, engine=engine,
                        ray_address=ray_address, actors=actors, device=device)
    for folder in folders:
        typer.echo(f"wrote {visible(str(folder), one_line=True)}")
    typer.echo(f"read it back with --dataset features:{visible(str(out), one_line=True)}")
