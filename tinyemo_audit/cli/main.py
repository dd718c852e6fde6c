"""The ``tinyemo-audit`` command line: train, eval and run, plus small helper groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import report_errors
from .datasets import datasets_app
from .embed import embed as embed_command
from .import_projector import import_tinyemo
from .models_catalog import models_list as models_catalog_list
from .validate import validate as validate_command

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
app.add_typer(datasets_app, name="datasets")
app.command("embed")(embed_command)
app.command("import-tinyemo")(import_tinyemo)
app.command("validate")(validate_command)
models_app.command("list")(models_catalog_list)


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
    dataset: Annotated[str, typer.Option(help="Dataset spec: 'faces', 'features:<root>', 'csv:<manifest>', 'imagefolder:<root>' or a named layout ('webemo:<root>', ...; see `datasets list`).")] = "faces",
    split: Annotated[str, typer.Option(help="Split to evaluate: train, val or test.")] = "test",
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Evaluate a bundle: accuracy, per-class accuracy, confusion matrix and n.

    Candidate labels are the dataset's whole taxonomy, not only the labels present.
    """
    import json

    from ..data.registry import check_dataset_spec, load_dataset
    from ..model.bundle import load_bundle
    from ..model.evaluate import evaluate_bundle, format_evaluation

    check_dataset_spec(dataset, split)
    bundle = load_bundle(model)
    data = load_dataset(dataset, split)
    result = evaluate_bundle(bundle, data)
    typer.echo(json.dumps(result) if json_output else format_evaluation(result))


@app.command()
@report_errors
def run(
    dataset: Annotated[str, typer.Option(help="Dataset to audit: 'faces' (the embedded default), 'features:<root>', 'csv:<manifest>', 'imagefolder:<root>' or a named layout such as 'fairface:<root>' (see `datasets list`).")] = "faces",
    model: Annotated[str, typer.Option(help="Bundle name (in models/) or bundle folder.")] = "tinyemo-faces-mini",
    out: Annotated[Optional[Path], typer.Option(help="Run folder (default reports/<dataset>-<model>-<UTC time>).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for every bootstrap, permutation and subsample draw.")] = 0,
    n: Annotated[Optional[int], typer.Option(help="Audit at most this many test items (default: all).")] = None,
    n_twins: Annotated[Optional[int], typer.Option(help="Identities per counterfactual twin set (default from the config).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Audit settings YAML overriding configs/audit/default.yaml.")] = None,
    gates: Annotated[Optional[Path], typer.Option(help="Gate file (configs/gates/*.yaml); a failed gate exits 1.")] = None,
    junit: Annotated[Optional[Path], typer.Option(help="Also write the gates' JUnit XML here (default: <run>/junit.xml).")] = None,
) -> None:
    """Audit a bundle on a dataset: results.json, report.html, and gates if asked.

    Probes: group metrics with bootstrap CIs and permutation tests, counterfactual image twins,
    counterfactual text prompts, iEAT associations, retrieval skew, dataset bias and discovery
    (UMAP + clusters named from the LLM vocabulary). Every p-value of the audit goes through one
    Benjamini-Hochberg correction; flagged results become ranked findings for a person to confirm.
    """
    from ..audit.runner import run_audit

    outcome = run_audit(dataset=dataset, model=model, out=out, seed=seed, n=n, n_twins=n_twins,
                        config=config, gates=gates, junit=junit)
    verdict = outcome.results["verdict"]
    typer.echo(verdict["headline"])
    typer.echo(f"wrote {outcome.run_dir / 'results.json'}")
    typer.echo(f"wrote {outcome.run_dir / 'report.html'}")
    raise typer.Exit(outcome.exit_code)


@app.command()
@report_errors
def report(
    results: Annotated[Path, typer.Argument(help="A results.json written by `run`.")],
    out: Annotated[Optional[Path], typer.Option(help="HTML file to write (default: report.html beside results.json).")] = None,
) -> None:
    """Re-render report.html from results.json without recomputing anything."""
    from ..audit.results import read_results
    from ..report import write_report

    data = read_results(results)
    path = write_report(data, out or results.with_name("report.html"))
    typer.echo(f"wrote {path}")


@app.command()
@report_errors
def gate(
    results: Annotated[Path, typer.Argument(help="A results.json written by `run`.")],
    gates: Annotated[Path, typer.Option(help="Gate file (configs/gates/strict.yaml, lenient.yaml or your own).")],
    junit: Annotated[Optional[Path], typer.Option(help="JUnit XML path (default: junit.xml beside results.json).")] = None,
    summary: Annotated[Optional[Path], typer.Option(help="Markdown summary path (default: summary.md beside results.json).")] = None,
) -> None:
    """Check fairness gates against results.json: exit 0 all pass, 1 a gate failed, 2 bad input."""
    from .._io import atomic_write_text
    from ..audit.results import read_results
    from ..gates import evaluate_gates, gates_exit_code, gates_markdown, load_gates, write_junit

    spec = load_gates(gates)
    data = read_results(results)
    outcomes = evaluate_gates(spec, data)
    write_junit(outcomes, junit or results.with_name("junit.xml"))
    text = gates_markdown(outcomes)
    atomic_write_text(summary or results.with_name("summary.md"), text)
    typer.echo(text)
    raise typer.Exit(gates_exit_code(outcomes))


@faces_app.command("preview")
@report_errors
def faces_preview(
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("docs/faces-preview.png"),
    seed: Annotated[int, typer.Option(help="Seed of the faces shown.")] = 0,
) -> None:
    """Write a contact sheet of the faces corpus: expressions x demographic attributes."""
    from ..data.faces import write_preview

    typer.echo(f"wrote {write_preview(out, seed=seed)}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="tinyemo-audit")


if __name__ == "__main__":
    main()
