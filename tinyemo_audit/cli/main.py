"""The ``tinyemo-audit`` command line: train, eval and run, plus small helper groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import report_errors

app = typer.Typer(
    name="tinyemo-audit",
    help=(
        "Audit TinyEmo-style emotion classifiers (vision encoder -> Metric Projector -> LLM "
        "token-embedding space -> nearest emotion label) for bias.\n\n"
        "Exit codes: 0 done (all gates passed), 1 a gate failed, 2 bad usage or bad input."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
faces_app = typer.Typer(help="The embedded procedural faces corpus.", no_args_is_help=True)
models_app = typer.Typer(help="Model bundles (models/ and any bundle folder).", no_args_is_help=True)
app.add_typer(faces_app, name="faces")
app.add_typer(models_app, name="models")


@app.command()
@report_errors
def train(
    config: Annotated[Optional[Path], typer.Option(help="Training config YAML (configs/models/*.yaml); flags override it.")] = None,
    dataset: Annotated[Optional[str], typer.Option(help="Dataset spec: 'faces' or 'features:<root>' (TinyEmo per-image .pt layout).")] = None,
    label_space: Annotated[Optional[str], typer.Option(help="Label space: 'smollm2-135m', 'minilm' or 'llm:<hf-id-or-path>'.")] = None,
    encoder: Annotated[Optional[str], typer.Option(help="Vision encoder: 'faces-mini' (trained here) or 'open_clip:<arch>/<tag-or-path>'. For features: datasets, the encoder that made the features.")] = None,
    loss: Annotated[Optional[str], typer.Option(help="Metric loss: infonce, cosine or ntxent.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Projector training epochs.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for every random choice.")] = None,
    template: Annotated[Optional[str], typer.Option(help="Label prompt template, e.g. 'a face showing {label}'.")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a Hugging Face model's own code to run (off unless asked).")] = False,
    out: Annotated[Path, typer.Option(help="Bundle folder to write (replaced atomically).")] = Path("models/my-bundle"),
) -> None:
    """Train a Metric Projector (and, for faces, the faces-mini encoder) and write a bundle."""
    from ..model.config import TrainConfig
    from ..model.train import train_bundle

    cfg = TrainConfig.from_sources(
        config,
        dataset=dataset,
        label_space=label_space,
        encoder=encoder,
        loss=loss,
        epochs=epochs,
        seed=seed,
        template=template,
        trust_remote_code=trust_remote_code or None,
    )
    bundle_dir = train_bundle(cfg, out)
    typer.echo(f"wrote bundle {bundle_dir}")


@app.command("eval")
@report_errors
def evaluate(
    model: Annotated[str, typer.Option(help="Bundle name (in models/) or bundle folder.")] = "tinyemo-faces-mini",
    dataset: Annotated[str, typer.Option(help="Dataset spec: 'faces' or 'features:<root>'.")] = "faces",
    split: Annotated[str, typer.Option(help="Split to evaluate: train, val or test.")] = "test",
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Evaluate a bundle: accuracy, per-class accuracy, confusion matrix and n.

    Candidate labels are the dataset's whole taxonomy, not only the labels present.
    """
    import json

    from ..data.registry import load_dataset
    from ..model.bundle import load_bundle
    from ..model.evaluate import evaluate_bundle, format_evaluation

    bundle = load_bundle(model)
    data = load_dataset(dataset, split)
    result = evaluate_bundle(bundle, data)
    typer.echo(json.dumps(result) if json_output else format_evaluation(result))


@app.command()
@report_errors
def run(
    dataset: Annotated[str, typer.Option(help="Dataset to audit: 'faces' (the embedded default).")] = "faces",
    model: Annotated[str, typer.Option(help="Bundle name (in models/) or bundle folder.")] = "tinyemo-faces-mini",
    out: Annotated[Optional[Path], typer.Option(help="Run folder (default reports/<dataset>-<model>-<UTC time>).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for bootstrap and permutation draws.")] = 0,
    n: Annotated[Optional[int], typer.Option(help="Audit at most this many test items (default: all).")] = None,
    n_twins: Annotated[int, typer.Option(help="Identities per counterfactual twin set.")] = 300,
) -> None:
    """Audit a bundle on a dataset and write <run>/results.json."""
    from ..audit.first_run import run_audit

    run_dir = run_audit(dataset=dataset, model=model, out=out, seed=seed, n=n, n_twins=n_twins)
    typer.echo(f"wrote {run_dir / 'results.json'}")


@faces_app.command("preview")
@report_errors
def faces_preview(
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("docs/faces-preview.png"),
    seed: Annotated[int, typer.Option(help="Seed of the faces shown.")] = 0,
) -> None:
    """Write a contact sheet of the faces corpus: expressions x demographic attributes."""
    from ..data.faces import write_preview

    typer.echo(f"wrote {write_preview(out, seed=seed)}")


@models_app.command("list")
@report_errors
def models_list() -> None:
    """List the bundles in the models folder."""
    from ..model.bundle import list_bundles

    for name in list_bundles():
        typer.echo(name)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="tinyemo-audit")


if __name__ == "__main__":
    main()
