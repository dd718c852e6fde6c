"""The ``tinyemo-audit`` command line: train, eval and run, plus small helper groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..user_text import visible
from ._errors import DEBUG_OPTION, EXIT_CODES_HELP, AuditGroup, gates_exit
from ._scale_options import ACTORS_HELP, CHUNK_HELP, DEVICE_HELP, ENGINE_HELP, RAY_ADDRESS_HELP
from .cache import cache_app
from .datasets import datasets_app
from .embed import embed as embed_command
from .import_projector import import_tinyemo
from .mitigate import mitigate as mitigate_command
from .models_catalog import models_list as models_catalog_list
from .reasoning import explain as explain_command
from .reasoning import instruct_app
from .reasoning import train_reasoning as train_reasoning_command
from .train_eval import evaluate as evaluate_command
from .train_eval import train as train_command
from .validate import validate as validate_command

app = typer.Typer(
    name="tinyemo-audit",
    help=(
        "Audit TinyEmo-style emotion classifiers (vision encoder -> Metric Projector -> LLM "
        "token-embedding space -> nearest emotion label) for bias.\n\n" + EXIT_CODES_HELP
    ),
    cls=AuditGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Sub-groups carry the boundary too, so that invoking one on its own (as tests do) keeps the contract;
# under `app` only the root group's main runs.
faces_app = typer.Typer(help="The embedded procedural faces corpus.", no_args_is_help=True, cls=AuditGroup)
models_app = typer.Typer(help="Model bundles (models/ and any bundle folder).", no_args_is_help=True,
                         cls=AuditGroup)
app.add_typer(faces_app, name="faces")
app.add_typer(models_app, name="models")
app.add_typer(datasets_app, name="datasets")
app.add_typer(cache_app, name="cache")
app.command("embed")(embed_command)
app.command("import-tinyemo")(import_tinyemo)
app.command("validate")(validate_command)
app.command("mitigate")(mitigate_command)
models_app.command("list")(models_catalog_list)
app.add_typer(instruct_app, name="instruct")
app.command("train-reasoning")(train_reasoning_command)
app.command("explain")(explain_command)


app.command("train")(train_command)
app.command("eval")(evaluate_command)


@app.callback()
def options(
    debug: Annotated[bool, typer.Option(DEBUG_OPTION, help="Show tracebacks, warnings and library messages on stderr (or set TINYEMO_AUDIT_DEBUG=1).")] = False,
) -> None:
    """Options for every command (the error boundary in cli/_errors.py reads --debug itself)."""


@app.command()
def run(
    dataset: Annotated[Optional[str], typer.Option(help="Dataset to audit: 'faces' (the embedded default), 'features:<root>', 'csv:<manifest>', 'imagefolder:<root>' or a named layout such as 'fairface:<root>' (see `datasets list`).")] = None,
    model: Annotated[Optional[str], typer.Option(help="Bundle name (in models/) or bundle folder (default tinyemo-faces-mini).")] = None,
    predictions: Annotated[Optional[Path], typer.Option(help="Audit a model from its predictions instead of a bundle: a CSV or Parquet table with id, prediction, optional label, prob_<class> and score_<class> columns, and attribute columns (docs/bring-your-own.md). Not with --dataset or --model.")] = None,
    embeddings: Annotated[Optional[Path], typer.Option(help="With --predictions: an [N, D] .npy array aligned with its rows (or a Parquet file with an id column); enables associations and discovery.")] = None,
    counterfactuals: Annotated[Optional[Path], typer.Option(help="A counterfactual manifest (CSV or Parquet: set_id, attribute, value, path or id): sets of the same person with one attribute changed, for the twin probes.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run folder (default reports/<dataset>-<model>-<UTC time>). It may be new, empty or a run folder this tool wrote and nobody changed (its .tinyemo-audit-outputs.json lists every file), which is replaced whole; anything else is refused (exit 2) before any work.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for every bootstrap, permutation and subsample draw.")] = 0,
    n: Annotated[Optional[int], typer.Option(help="Audit at most this many test items (default: all).")] = None,
    n_twins: Annotated[Optional[int], typer.Option(help="Identities per rendered twin set (default from the config).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Audit settings YAML overriding configs/audit/default.yaml.")] = None,
    gates: Annotated[Optional[Path], typer.Option(help="Gate file (configs/gates/*.yaml); a failed gate exits 1.")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="A baseline run's results.json for gates with change: true (overrides the gate file's baseline).")] = None,
    junit: Annotated[Optional[Path], typer.Option(help="Also write the gates' JUnit XML here (default: <run>/junit.xml).")] = None,
    chunk_size: Annotated[Optional[int], typer.Option(help=CHUNK_HELP)] = None,
    device: Annotated[Optional[str], typer.Option(help=DEVICE_HELP)] = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help=RAY_ADDRESS_HELP)] = None,
    actors: Annotated[Optional[int], typer.Option(help=ACTORS_HELP)] = None,
) -> None:
    """Audit a bundle on a dataset, or a model's predictions: results.json, report.html, and gates if asked.

    Probes: group metrics with bootstrap CIs and permutation tests, counterfactual image twins,
    counterfactual text prompts, iEAT associations, retrieval skew, dataset bias and discovery
    (UMAP + clusters named from the LLM vocabulary). Every p-value of the audit goes through one
    Benjamini-Hochberg correction; flagged results become ranked findings for a person to confirm.
    Every probe the inputs cannot support is listed in run.skipped with the reason.

    Dataset items that cannot be used (unreadable images, control characters, unknown labels, ...)
    are left out and counted in results.json (run.n_skipped_items, run.skipped_items) and the
    report; attributes with fewer than two groups are listed in run.skipped.
    """
    from ..api import audit_model
    from ..audit.runner import default_run_dir

    out = out or default_run_dir(dataset or ("faces" if predictions is None else "predictions"),
                                 model or ("tinyemo-faces-mini" if predictions is None else "file"))
    result = audit_model(dataset=dataset, model=model, predictions=predictions, embeddings=embeddings,
                   counterfactuals=counterfactuals, out=out, seed=seed, n=n, n_twins=n_twins, config=config,
                   gates=gates, baseline=baseline, junit=junit, progress=True, chunk_size=chunk_size, device=device,
                   engine=engine, ray_address=ray_address, actors=actors)
    typer.echo(visible(result.verdict["headline"], one_line=True))  # it names groups and labels from the data
    typer.echo(f"wrote {visible(str(result.run_dir / 'results.json'), one_line=True)}")
    typer.echo(f"wrote {visible(str(result.run_dir / 'report.html'), one_line=True)}")
    raise gates_exit(result.exit_code)


@app.command()
def compare(
    base: Annotated[Path, typer.Argument(help="The baseline run's results.json (e.g. the main branch's).")],
    new: Annotated[Path, typer.Argument(help="The new run's results.json.")],
    out: Annotated[Optional[Path], typer.Option(help="Folder for comparison.json and comparison.html (default reports/compare-<UTC time>); new, empty or one this tool wrote.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap draws of the changes' CIs.")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="Print comparison.json on stdout instead of the summary.")] = False,
) -> None:
    """Compare two audits: findings and causes new, gone or changed, every metric's change (with a CI where both runs carry the counts).

    Both runs must be of the same dataset and results schema version (exit 2 otherwise). Writes
    comparison.json and a self-contained comparison.html; gate a regression with `gate --baseline`
    or `run --baseline` and gates that say `change: true` (docs/gates.md).
    """
    from .._io import resolve_replaced
    from ..api import compare as compare_runs
    from ..audit.runner import default_run_dir
    from ..comparison import render_comparison
    from ..outputs import OutputPlan

    base, new = resolve_replaced(base), resolve_replaced(new)
    out = out or default_run_dir("compare", "runs")
    plan = OutputPlan()
    plan.input(base, "baseline results")
    plan.input(new, "new results")
    plan.folder(out, "--out")
    plan.check()
    comparison = compare_runs(base, new, seed=seed)
    text = comparison.to_json()
    with plan.writing() as staged:
        folder = staged.path(out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "comparison.json").write_text(text, encoding="utf-8")
        (folder / "comparison.html").write_text(render_comparison(comparison.data), encoding="utf-8")
    if json_:
        typer.echo(text)
        return
    counts = comparison.data["summary"]["findings"]
    typer.echo(f"findings: {counts['new']} new, {counts['gone']} gone, {counts['changed']} changed, "
               f"{counts['persists']} persist")
    for finding in comparison.new + comparison.gone + comparison.changed:
        typer.echo(visible(f"  {finding['status']}: {finding['title']}", one_line=True))
    typer.echo(f"wrote {visible(str(Path(out) / 'comparison.json'), one_line=True)}")
    typer.echo(f"wrote {visible(str(Path(out) / 'comparison.html'), one_line=True)}")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A results.json written by `run`.")],
    out: Annotated[Optional[Path], typer.Option(help="HTML file to write (default: report.html beside results.json).")] = None,
) -> None:
    """Re-render report.html from results.json without recomputing anything."""
    from .._io import resolve_replaced
    from ..audit.results import read_results
    from ..outputs import OutputPlan, beside
    from ..report import render_report

    # Outputs go beside the results actually read (a run folder's backup after an interrupted swap).
    results = resolve_replaced(results)
    out = out or beside(results, "report.html", what="results file")
    plan = OutputPlan()
    plan.input(results, "results file")
    plan.file(out, "--out")
    plan.check()
    page = render_report(read_results(results))
    with plan.writing() as staged:
        staged.write_text(out, page)
    typer.echo(f"wrote {visible(str(out), one_line=True)}")


@app.command()
def gate(
    results: Annotated[Path, typer.Argument(help="A results.json written by `run`.")],
    gates: Annotated[Path, typer.Option(help="Gate file (configs/gates/strict.yaml, lenient.yaml or your own).")],
    junit: Annotated[Optional[Path], typer.Option(help="JUnit XML path (default: junit.xml beside results.json).")] = None,
    summary: Annotated[Optional[Path], typer.Option(help="Markdown summary path (default: summary.md beside results.json).")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="A baseline run's results.json for gates with change: true (overrides the gate file's baseline).")] = None,
) -> None:
    """Check fairness gates against results.json: exit 0 all pass, 1 a gate failed, 2 bad input.

    Gates with `change: true` bound the change from a baseline run (--baseline, or the gate
    file's `baseline:`). The JUnit XML and the summary are written together, or (on any failure) neither.
    """
    from .._io import resolve_replaced
    from ..api import load_results
    from ..gates import junit_xml, load_gates
    from ..outputs import OutputPlan, beside

    results = resolve_replaced(results)
    junit = junit or beside(results, "junit.xml", what="results file")
    summary = summary or beside(results, "summary.md", what="results file")
    plan = OutputPlan()
    plan.input(results, "results file")
    plan.input(gates, "gate file")
    plan.input(baseline, "baseline results")
    plan.file(junit, "--junit")
    plan.file(summary, "--summary")
    plan.check()
    spec = load_gates(gates)
    if baseline is None and spec.baseline is not None:
        plan.input(spec.baseline, "baseline results")
        plan.check()
    report = load_results(results).gate(spec, baseline=baseline)
    text = report.summary()
    with plan.writing() as staged:
        staged.write_text(junit, junit_xml(report.outcomes))
        staged.write_text(summary, text)
    typer.echo(visible(text))
    raise gates_exit(report.exit_code)


@faces_app.command("preview")
def faces_preview(
    out: Annotated[Path, typer.Option(help="PNG file to write (new, or one this tool wrote).")] = Path("docs/faces-preview.png"),
    seed: Annotated[int, typer.Option(help="Seed of the faces shown.")] = 0,
) -> None:
    """Write a contact sheet of the faces corpus: expressions x demographic attributes."""
    from ..data.faces.preview import preview_png
    from ..outputs import OutputPlan
    from ..schema.run_request import check_seed

    plan = OutputPlan()
    plan.file(out, "--out")
    plan.check()
    png = preview_png(seed=check_seed(seed))
    with plan.writing() as staged:
        staged.write_bytes(out, png)
    typer.echo(f"wrote {visible(str(out), one_line=True)}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="tinyemo-audit")


if __name__ == "__main__":
    main()
