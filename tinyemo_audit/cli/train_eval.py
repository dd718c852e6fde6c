"""The ``train`` and ``eval`` commands: (joint) training, evaluation, zero-shot evaluation, Table VIII."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ..user_text import visible
from ._scale_options import ACTORS_HELP, CHUNK_HELP, DEVICE_HELP, ENGINE_HELP, RAY_ADDRESS_HELP

DATASET_HELP = (
    "Dataset spec: 'faces', 'features:<root>', 'csv:<manifest>', 'imagefolder:<root>' or a named layout "
    "('webemo:<root>', ...; see `datasets list`)."
)


def train(
    config: Annotated[Optional[Path], typer.Option(help="Training config YAML (configs/models/*.yaml); flags override it.")] = None,
    dataset: Annotated[Optional[list[str]], typer.Option(help="Dataset spec ('faces', 'features:<root>', ...). Repeat it to train jointly on several datasets with one shared label space (the union of their class names); they must share the encoder.")] = None,
    label_space: Annotated[Optional[str], typer.Option(help="Label space: 'smollm2-135m', 'minilm' or 'llm:<hf-id-or-path>'.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Tokenizer override for llm: label spaces (OpenELM: a Llama-2 tokenizer folder or id).")] = None,
    bos: Annotated[Optional[bool], typer.Option("--bos/--no-bos", help="Include the BOS embedding in every label mean, as TinyEmo did (LLM label spaces; default off).")] = None,
    dtype: Annotated[Optional[str], typer.Option(help="Label-space table dtype for LLM label spaces: float32 (default), float16 or bfloat16.")] = None,
    encoder: Annotated[Optional[str], typer.Option(help="Vision encoder: 'faces-mini' (trained here) or 'open_clip:<arch>/<tag-or-path>'. For features: datasets, the encoder that made the features.")] = None,
    loss: Annotated[Optional[str], typer.Option(help="Metric loss: infonce, cosine or ntxent.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Projector training epochs.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for every random choice.")] = None,
    template: Annotated[Optional[str], typer.Option(help="Label prompt template, e.g. 'a face showing {label}'.")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a Hugging Face model's own code to run (off unless asked).")] = False,
    out: Annotated[Path, typer.Option(help="Bundle folder to write (replaced atomically).")] = Path("models/my-bundle"),
    device: Annotated[Optional[str], typer.Option(help=DEVICE_HELP)] = None,
) -> None:
    """Train a Metric Projector (and, for faces, the faces-mini encoder) and write a bundle.

    With several --dataset (or `datasets:` in the YAML) the projector is trained jointly, as
    TinyEmo was: features are concatenated and the labels are the union of the datasets' class
    names. The bundle records the datasets it was trained on; `eval` marks the others zero-shot.
    """
    from ..devices import use_device
    from ..model.config import TrainConfig
    from ..model.train import train_bundle

    with use_device(device):
        _train(config, dataset, label_space, tokenizer, bos, dtype, encoder, loss, epochs, seed, template,
               trust_remote_code, out)


def _train(config, dataset, label_space, tokenizer, bos, dtype, encoder, loss, epochs, seed, template,
           trust_remote_code, out) -> None:
    from ..model.config import TrainConfig
    from ..model.train import train_bundle

    cfg = TrainConfig.from_sources(
        config,
        datasets=list(dataset) if dataset else None,
        label_space=label_space,
        tokenizer=tokenizer,
        bos=bos,
        dtype=dtype,
        encoder=encoder,
        loss=loss,
        epochs=epochs,
        seed=seed,
        template=template,
        trust_remote_code=trust_remote_code or None,
    )
    bundle_dir = train_bundle(cfg, out, config_file=config)
    typer.echo(f"wrote bundle {visible(str(bundle_dir), one_line=True)}")


def _eval_outputs(models: list[str], datasets: list[str], table_out: Optional[Path]):
    """``--table-out`` checked before any evaluation: its suffix, and the output rules of tinyemo_audit.outputs."""
    from ..errors import TinyEmoAuditError
    from ..model.bundle import resolve_bundle_path
    from ..model.results_table import table_kind
    from ..outputs import OutputPlan, dataset_inputs

    plan = OutputPlan(cache=True)
    if table_out is not None:
        table_kind(table_out)
        plan.file(table_out, "--table-out")
    for spec in datasets:
        for path, what in dataset_inputs(spec):
            plan.input(path, what)
    for name in models:
        try:
            plan.input(resolve_bundle_path(name), "model bundle")
        except TinyEmoAuditError:
            pass  # reported by the evaluation itself, with the valid choices
    plan.check()
    return plan


def evaluate(
    model: Annotated[Optional[list[str]], typer.Option(help="Bundle name (in models/) or bundle folder; repeat it to compare bundles (default tinyemo-faces-mini).")] = None,
    dataset: Annotated[Optional[list[str]], typer.Option(help=DATASET_HELP + " Repeat it for a table over several datasets (default faces).")] = None,
    split: Annotated[str, typer.Option(help="Split to evaluate: train, val or test.")] = "test",
    zero_shot: Annotated[bool, typer.Option("--zero-shot", help="Evaluate only on datasets the bundle(s) were not trained on; a trained-on dataset is refused (exit 2).")] = False,
    table: Annotated[bool, typer.Option("--table", help="Show the Table VIII view even for one model and one dataset.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the results table as markdown.")] = False,
    table_out: Annotated[Optional[Path], typer.Option(help="Also write the results table to this file (.md, .csv or .json), atomically.")] = None,
    reasoning: Annotated[bool, typer.Option("--reasoning", help="Evaluate the bundle's reasoning part (MM-LLM) instead: label_accuracy, projector_agreement, hint_following, cue_precision/recall, parse_failures, tokens_per_second, n (docs/reasoning.md).")] = False,
    n: Annotated[Optional[int], typer.Option(help="With --reasoning: evaluate the first N items (default 500).")] = None,
    device: Annotated[Optional[str], typer.Option(help=DEVICE_HELP)] = None,
    chunk_size: Annotated[Optional[int], typer.Option(help=CHUNK_HELP)] = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help=RAY_ADDRESS_HELP)] = None,
    actors: Annotated[Optional[int], typer.Option(help=ACTORS_HELP)] = None,
) -> None:
    """Evaluate bundles: accuracy, per-class accuracy, confusion matrix and n; or a Table VIII.

    Candidate labels are each dataset's whole taxonomy, not only the labels present; a bundle's
    projector is reused for any taxonomy (its label space embeds the new class names). Each
    dataset is marked "trained on" or "zero-shot" from the bundle's record of its training data.

    One model and one dataset print the full evaluation. Several models or datasets (or --table,
    --markdown, --table-out) print a TinyEmo Table VIII: rows = models with their training data,
    columns = datasets, cells = top-1 accuracy in %, zero-shot cells marked with *.

    Items a dataset loader leaves out (unreadable images, unknown labels, ...) are counted: `n_skipped`
    and `skipped_items` (per reason) in --json, a note after n in the text, n_skipped per column in the table.
    """
    import json
    import sys

    from ..model.evaluate import format_evaluation
    from ..model.results_table import format_table_text, results_table, table_markdown, table_text
    from ..model.zero_shot import evaluate_grid

    if json_output and markdown:
        raise UsageError("choose one of --json and --markdown")
    from ..devices import use_device
    from ..encoders.engine import check_engine_inputs, use_engine

    models = list(model or ["tinyemo-faces-mini"])
    datasets = list(dataset or ["faces"])
    check_engine_inputs(engine, datasets=datasets)
    if reasoning or n is not None:
        from .reasoning import reasoning_eval

        if not reasoning:
            raise UsageError("--n is for --reasoning")
        if chunk_size is not None:
            raise UsageError("--chunk-size is for the classifier's eval, not eval --reasoning")
        with use_device(device), use_engine(engine, ray_address, actors):
            return reasoning_eval(models, datasets, split, n, json_output)
    from ..model.classifier import check_chunk_size

    chunk = check_chunk_size(chunk_size)
    plan = _eval_outputs(models, datasets, table_out)
    with use_device(device), use_engine(engine, ray_address, actors):
        results = evaluate_grid(models, datasets, split=split, zero_shot=zero_shot, chunk_size=chunk)
    as_table = table or markdown or table_out is not None or len(results) > 1
    if not as_table:
        (result,) = results
        typer.echo(json.dumps(result) if json_output else format_evaluation(result))
        return
    grid = results_table(results)
    if table_out is not None:
        text = table_text(grid, table_out)
        with plan.writing() as staged:
            staged.write_text(table_out, text)
        print(f"wrote {visible(str(table_out), one_line=True)}", file=sys.stderr)
    if json_output:
        typer.echo(json.dumps(grid.to_dict()))
    elif markdown:
        typer.echo(table_markdown(grid), nl=False)
    else:
        typer.echo(format_table_text(grid))
