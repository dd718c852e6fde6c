"""The ``tinyemo-audit datasets`` command group: list the named dataset layouts, inspect a dataset."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ..user_text import visible
from ._errors import AuditGroup

datasets_app = typer.Typer(
    cls=AuditGroup,  # the error boundary, also when this group is invoked on its own
    help="Datasets as layouts: named layouts (webemo:<root>, fairface:<root>, ...), csv:<manifest>, imagefolder:<root>.",
    no_args_is_help=True,
)

MAX_SKIPPED_SHOWN = 10


@datasets_app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON list instead of a table.")] = False,
) -> None:
    """List the dataset layouts: spec, kind, taxonomy, splits."""
    from ..data.inspect import describe_layouts

    rows = describe_layouts()
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["spec"]) for r in rows)
    for r in rows:
        _say(
            f"{r['spec']:<{width}}  {r['kind']:<11}  {r['taxonomy'] or '-':<10}  "
            f"{','.join(r['splits']) or '-':<14}  {r['description']}"
        )
    typer.echo("also: faces (embedded corpus), features:<root> (TinyEmo .pt feature folders)")


def _say(line: str) -> None:
    """One line on the terminal: every name in it comes from the dataset, so control characters show as escapes."""
    typer.echo(visible(line, one_line=True))


def _print_report(report: dict) -> None:
    _say(f"{report['spec']}  taxonomy: {report.get('taxonomy') or '-'}  "
         f"items: {report['n_items']}  skipped: {report['n_skipped']}")
    for split, summary in report["splits"].items():
        if "error" in summary:
            _say(f"[{split}] error: {summary['error']}")
            continue
        _say(f"[{split}] {summary['n']} items, {'labelled' if summary['labelled'] else 'unlabelled'}")
        for label, n in summary.get("labels", {}).items():
            if n:  # empty classes are listed once among the problems
                _say(f"  label {label}: {n}")
        for attribute, counts in summary["attributes"].items():
            _say(f"  {attribute}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for skip in summary["skipped"][:MAX_SKIPPED_SHOWN]:
            _say(f"  skipped {skip['path'] or skip['id']}: {skip['reason']}")
        if len(summary["skipped"]) > MAX_SKIPPED_SHOWN:
            _say(f"  ... and {len(summary['skipped']) - MAX_SKIPPED_SHOWN} more skipped")
    if report["missing_splits"]:
        _say("missing splits: " + ", ".join(report["missing_splits"]))
    if report["problems"]:
        _say("problems:")
        for problem in report["problems"]:
            _say(f"  - {problem}")
    else:
        _say("no problems found")


def _overrides(pairs: list[str]) -> dict:
    from .._yaml import load_yaml_text
    from ..errors import UsageError
    from ..user_text import shown

    options = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            raise UsageError(f"--set needs FIELD=VALUE, not {shown(pair)}")
        # The one YAML reader: aliases, nesting and integers stay bounded here too.
        options[field.strip()] = load_yaml_text(value, source=field.strip(), what="--set value")
    return options


@datasets_app.command("inspect")
def inspect_command(
    spec: Annotated[str, typer.Argument(help="Dataset spec, e.g. webemo:/data/webemo, csv:/data/manifest.csv, imagefolder:/data/x.")],
    split: Annotated[Optional[list[str]], typer.Option(help="Split(s) to inspect (repeatable); default all.")] = None,
    taxonomy: Annotated[Optional[str], typer.Option(help="Match labels to this taxonomy instead of the layout's.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a layout field, FIELD=YAML (repeatable), e.g. --set 'splits={test: [holdout]}'.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Count items per split, label and attribute, and list the problems found.

    Problems: files skipped with their reason (empty, truncated, not an image, too large), unknown
    labels, missing splits, empty classes, duplicate ids, splits sharing files.
    """
    from ..data.inspect import inspect_dataset
    from ..data.registry import SPLITS, check_dataset_spec, normalize_split
    from ..errors import UsageError

    check_dataset_spec(spec)
    splits = tuple(dict.fromkeys(normalize_split(s) for s in split)) if split else SPLITS
    options = _overrides(set_ or [])
    if taxonomy:
        options["taxonomy"] = taxonomy
    if options:
        from ..data.layout_spec import list_layouts

        if spec.partition(":")[0] not in list_layouts() or ":" not in spec:
            raise UsageError(f"--taxonomy and --set apply to layout specs (<layout>:<root>), not to {spec}")
    report = inspect_dataset(spec, split_names=splits, **options)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)
