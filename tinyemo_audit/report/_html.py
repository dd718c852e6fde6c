"""HTML building blocks of the report: escaping, tables, disclosures and the page skeleton."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..user_text import visible


class Safe(str):
    """A string that is already HTML (built by this package); everything else gets escaped."""


def neutralise(text: str) -> str:
    r"""``text`` with every control or bidi-override character shown as a visible ``\uXXXX`` escape.

    Examples
    --------
    >>> neutralise("north\x1b[31m \u202eevil")
    'north\\u001B[31m \\u202Eevil'
    """
    return visible(text)


def neutralise_strings(value: Any) -> Any:
    """``value`` (parsed JSON: dicts, lists, strings, numbers) with :func:`neutralise` applied to every string."""
    if isinstance(value, Safe):
        return value
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Mapping):
        return {neutralise_strings(k): neutralise_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [neutralise_strings(v) for v in value]
    return value


def esc(value: Any) -> Safe:
    """Escape any value for HTML text or a quoted attribute; control characters become visible ``\\uXXXX``."""
    if isinstance(value, Safe):
        return value
    return Safe(html.escape(neutralise("" if value is None else str(value)), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Safe:
    """Concatenate fragments, escaping those that are not :class:`Safe`."""
    return Safe(sep.join(esc(p) for p in parts))


def tag(name: str, content: Any = "", **attrs: Any) -> Safe:
    """One element; attribute names use ``class_`` for ``class`` and ``data_x`` for ``data-x``."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' if v is not True else f' {k.rstrip("_").replace("_", "-")}'
        for k, v in attrs.items()
        if v is not None and v is not False
    )
    return Safe(f"<{name}{rendered}>{esc(content)}</{name}>")


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, numeric: Sequence[int] = (),
          caption: Any = None, class_: str = "data", row_classes: Sequence[str | None] | None = None) -> Safe:
    """A data table in its own horizontally scrolling box; cells that are not :class:`Safe` are escaped.

    ``numeric`` columns are right-aligned; ``row_classes`` (one per row, or None) style single rows.
    """
    num = set(numeric)
    head = join(tag("th", h, scope="col", class_="num" if i in num else None) for i, h in enumerate(headers))
    rows = list(rows)
    marks = list(row_classes) if row_classes is not None else [None] * len(rows)
    body = join(
        tag("tr", join(tag("td", c, class_="num" if i in num else None) for i, c in enumerate(row)), class_=mark)
        for row, mark in zip(rows, marks)
    )
    cap = tag("caption", caption) if caption is not None else ""
    return Safe(f'<div class="table-wrap"><table class="{esc(class_)}">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")


_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*")


def image_src(value: Any) -> str | None:
    """``value`` if it is an inline base64 image, else None (never a URL: the report makes no requests)."""
    if isinstance(value, str) and _DATA_URI.fullmatch(value):
        return value
    return None


def json_for_script(obj: Any) -> Safe:
    """JSON that is safe inside ``<script type="application/json">`` (no ``</script>`` break-out)."""
    return script_safe(json.dumps(neutralise_strings(obj), ensure_ascii=False, allow_nan=False))


def script_safe(json_text: str) -> Safe:
    """Serialised JSON made safe inside a ``<script>`` element: ``<``, ``>``, ``&`` and line separators escaped."""
    text = json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Safe(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def details(summary: Any, content: Any, *, class_: str | None = None, open_: bool = False) -> Safe:
    """A ``<details>`` disclosure (closed unless ``open_``)."""
    return tag("details", join([tag("summary", summary), content]), class_=class_, open_=open_)


def page(*, title: str, toc: Sequence[tuple[str, str]], body: str, scripts: Sequence[str], css: str,
         run_meta: dict, chart_config: Mapping[str, Any] | None) -> str:
    """The whole document: inline CSS, a collapsible table of contents, the body, then the scripts.

    ``scripts`` (plotly.js when a chart needs it, then the report's own script) come last so that the text is
    shown before they are parsed. The contents start open and close on narrow screens before the first paint.
    """
    toc_html = join(tag("li", Safe(f'<a href="#{esc(anchor)}">{esc(label)}</a>')) for anchor, label in toc)
    config = (f'<script type="application/json" id="chart-config">{json_for_script(chart_config)}</script>'
              if chart_config is not None else "")
    # PlotlyConfig is read as plotly.js loads; without it plotly would try to fetch MathJax for LaTeX labels.
    code = "".join(f"<script>{s}</script>" for s in scripts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{css}</style></head><body>"
        f'<script type="application/json" id="run-meta">{json_for_script(run_meta)}</script>{config}'
        '<div class="layout"><nav class="toc" aria-label="Contents"><details id="toc" open><summary>Contents</summary>'
        f"<ol>{toc_html}</ol></details></nav>"
        "<script>if (window.matchMedia && window.matchMedia('(max-width: 900px)').matches) "
        "{ document.getElementById('toc').removeAttribute('open'); }</script>"
        f"<main>{body}"
        "<footer>Generated by tinyemo-audit. This file is self-contained and makes no network requests.</footer>"
        "</main></div><script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
        f"{code}</body></html>\n"
    )
