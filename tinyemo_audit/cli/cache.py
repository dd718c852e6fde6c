"""The ``tinyemo-audit cache`` command group: what the cache holds, and clearing it."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ..user_text import visible
from ._errors import AuditGroup

cache_app = typer.Typer(
    cls=AuditGroup,  # the error boundary, also when this group is invoked on its own
    help="The cache ($TINYEMO_AUDIT_CACHE or ~/.cache/tinyemo-audit): rendered faces, encoder features, "
         "label-space tables, kept generations, Ray feature stores. Every entry can be made again; "
         "clearing costs only time.",
    no_args_is_help=True,
)


def size_in_words(n: int) -> str:
    """Bytes in binary units, about three figures.

    >>> size_in_words(0), size_in_words(1536), size_in_words(1023 * 1024), size_in_words(5 * 1024 ** 3)
    ('0 B', '1.50 KiB', '1023 KiB', '5.00 GiB')
    """
    value, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "B":
        return f"{n} B"
    return f"{value:.{2 if value < 10 else 1 if value < 100 else 0}f} {unit}"


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


@cache_app.command("info")
def info(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Show each kind of cache entry: its size, how many files, what it holds."""
    from ..cache_contents import cache_contents

    contents = cache_contents()
    if json_output:
        typer.echo(json.dumps(contents.to_dict(), indent=2))
        return
    typer.echo(visible(f"cache: {contents.root}  ({size_in_words(contents.bytes)})", one_line=True))
    width = max(len(k.kind) for k in contents.kinds)
    for k in contents.kinds:
        typer.echo(f"  {k.kind:<{width}}  {size_in_words(k.bytes):>10}  {_files(k.files):>13}  {k.holds}")
    for name in contents.foreign:
        typer.echo(visible(f"  not the tool's, left alone: {name}", one_line=True))
    typer.echo("clear with: tinyemo-audit cache clear KIND... (or --all)")


@cache_app.command("clear")
def clear(
    kinds: Annotated[Optional[list[str]], typer.Argument(help="Kinds to clear (see `cache info`).", show_default=False)] = None,
    all_kinds: Annotated[bool, typer.Option("--all", help="Clear every kind.")] = False,
) -> None:
    """Remove whole kinds of cache entries (never anything else; see `cache info` for the kinds).

    Run it when no other tinyemo-audit command is running: a running command would lose its entries
    under its feet. Only a cache folder that carries the tool's CACHEDIR.TAG is cleared.
    """
    from ..cache_contents import clear_cache
    from ..errors import UsageError
    from ..paths import CACHE_KINDS

    if all_kinds == bool(kinds):
        raise UsageError("name the kinds to clear, or give --all (not both)")
    freed = clear_cache(list(CACHE_KINDS) if all_kinds else list(kinds))
    for k in freed:
        if k.files:
            typer.echo(f"cleared {k.kind}: {size_in_words(k.bytes)} in {_files(k.files)}")
    typer.echo(f"freed {size_in_words(sum(k.bytes for k in freed))}")
