"""HTML building blocks of the report: escaping, tables, the page skeleton, its CSS and review script."""

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
          caption: Any = None, class_: str = "data") -> Safe:
    """A data table; cells that are not :class:`Safe` are escaped, ``numeric`` columns right-aligned."""
    num = set(numeric)
    head = join(tag("th", h, class_="num" if i in num else None) for i, h in enumerate(headers))
    body = join(
        tag("tr", join(tag("td", c, class_="num" if i in num else None) for i, c in enumerate(row)))
        for row in rows
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
    text = json.dumps(neutralise_strings(obj), ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Safe(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


CSS = """
:root { --ink:#1d2433; --muted:#5b6474; --line:#e3e7ee; --bg:#f6f7fa; --card:#fff; --accent:#2f5bd3;
  --bad:#b42318; --bad-bg:#fef3f2; --warn:#b54708; --warn-bg:#fffaeb; --ok:#067647; --ok-bg:#ecfdf3; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color:var(--ink); background:var(--bg); line-height:1.5; font-size:15px; }
.layout { display:grid; grid-template-columns: 220px minmax(0, 1fr); gap:28px; max-width:1400px; margin:0 auto;
  padding:24px; }
nav.toc { position:sticky; top:16px; align-self:start; max-height:calc(100vh - 32px); overflow:auto;
  background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 10px; font-size:14px; }
nav.toc h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 8px 8px; }
nav.toc ol { list-style:none; margin:0; padding:0; counter-reset:toc; }
nav.toc li a { display:block; padding:5px 8px; border-radius:6px; color:var(--ink); text-decoration:none; }
nav.toc li a:hover { background:var(--bg); color:var(--accent); }
main { min-width:0; }
section { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:22px 26px;
  margin-bottom:22px; }
section > h2 { margin:0 0 4px; font-size:22px; }
section > p.lead { color:var(--muted); margin:0 0 16px; }
h3 { font-size:17px; margin:22px 0 8px; }
h4 { font-size:15px; margin:16px 0 6px; }
.header-kicker { color:var(--muted); font-size:13px; margin:0 0 6px; }
.verdict { border-radius:12px; padding:18px 22px; margin:10px 0 18px; border:1px solid; }
.verdict .status { font-size:12px; font-weight:700; letter-spacing:.08em; text-transform:uppercase; }
.verdict .headline { font-size:26px; font-weight:700; line-height:1.25; margin-top:4px; }
.status-biased, .status-gate-failed { background:var(--bad-bg); border-color:#fecdca; color:var(--bad); }
.status-no-flag { background:var(--ok-bg); border-color:#abefc6; color:var(--ok); }
.status-unknown { background:var(--bg); border-color:var(--line); color:var(--muted); }
.verdict .headline { color:var(--ink); }
.kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(170px, 1fr)); gap:12px; margin:0 0 16px; }
.kpi { border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.kpi .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.05em; }
.kpi .v { font-size:22px; font-weight:700; }
.kpi .s { color:var(--muted); font-size:13px; }
.top-finding { border-left:4px solid var(--bad); background:#fffbfa; padding:12px 16px; border-radius:0 8px 8px 0; }
.top-finding .label { font-size:12px; font-weight:700; color:var(--bad); text-transform:uppercase;
  letter-spacing:.06em; }
.top-finding .title { font-weight:700; font-size:17px; }
.notrun { color:var(--muted); font-style:italic; }
.finding { border:1px solid var(--line); border-left:5px solid var(--warn); border-radius:10px; padding:16px 18px;
  margin:0 0 16px; }
.finding.sev-high { border-left-color:var(--bad); }
.finding.sev-low { border-left-color:#8a94a6; }
.finding-head { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
.rank { font-weight:800; color:var(--muted); font-size:18px; }
.finding h3 { margin:0; font-size:18px; flex:1 1 400px; }
.chip { display:inline-block; font-size:12px; padding:2px 8px; border-radius:999px; background:var(--bg);
  border:1px solid var(--line); color:var(--muted); white-space:nowrap; }
.chip.sev { background:var(--bad-bg); color:var(--bad); border-color:#fecdca; }
.finding p.summary { margin:8px 0 10px; font-size:15.5px; }
.evidence { display:flex; flex-wrap:wrap; gap:8px 22px; font-size:14px; margin:0 0 10px; padding:8px 12px;
  background:var(--bg); border-radius:8px; }
.evidence b { font-variant-numeric:tabular-nums; }
.examples { display:flex; flex-wrap:wrap; gap:12px; margin:6px 0 10px; }
figure.thumb { margin:0; width:120px; font-size:12px; color:var(--muted); }
figure.thumb img { width:120px; height:120px; object-fit:cover; border-radius:8px; border:1px solid var(--line);
  image-rendering:auto; background:#fff; }
figure.thumb figcaption { margin-top:4px; overflow-wrap:anywhere; }
.review { display:flex; gap:14px; align-items:flex-start; flex-wrap:wrap; border-top:1px dashed var(--line);
  padding-top:10px; font-size:14px; }
.review label { display:flex; gap:6px; align-items:center; font-weight:600; }
.review textarea { flex:1 1 320px; min-height:38px; font:inherit; font-size:14px; padding:6px 8px;
  border:1px solid var(--line); border-radius:6px; }
.review-bar { display:flex; gap:12px; align-items:center; margin:0 0 16px; flex-wrap:wrap; }
button { font:inherit; font-size:14px; padding:7px 14px; border-radius:8px; border:1px solid var(--accent);
  background:var(--accent); color:#fff; cursor:pointer; }
.table-wrap { overflow-x:auto; margin:8px 0 14px; }
table.data { border-collapse:collapse; width:100%; font-size:14px; }
table.data caption { text-align:left; color:var(--muted); font-size:13px; padding-bottom:6px; }
table.data th, table.data td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:left;
  vertical-align:top; overflow-wrap:break-word; }
table.data th { white-space:nowrap; }
table.data th { font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted);
  background:#fafbfc; }
table.data td.num, table.data th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.data tbody tr:hover { background:#fafbff; }
.small-n { display:inline-block; font-size:11px; font-weight:700; color:var(--warn); background:var(--warn-bg);
  border:1px solid #fedf89; border-radius:4px; padding:0 5px; margin-left:6px; white-space:nowrap; }
.sig { color:var(--bad); font-weight:700; }
.ref { color:var(--muted); font-size:12px; }
.badge { font-weight:700; font-size:12px; padding:2px 8px; border-radius:4px; }
.badge-PASS { background:var(--ok-bg); color:var(--ok); }
.badge-WARN { background:var(--warn-bg); color:var(--warn); }
.badge-FAIL, .badge-ERROR { background:var(--bad-bg); color:var(--bad); }
.badge-SKIP { background:var(--bg); color:var(--muted); border:1px solid var(--line); }
.skipped-note { color:var(--muted); font-size:14px; }
.chart { width:100%; margin:4px 0 12px; }
details { margin:6px 0 12px; }
details summary { cursor:pointer; color:var(--accent); }
pre.model-card { white-space:pre-wrap; background:var(--bg); border:1px solid var(--line); border-radius:8px;
  padding:14px; font-size:13px; max-height:520px; overflow:auto; }
dl.glossary dt { font-weight:700; margin-top:10px; }
dl.glossary dd { margin:2px 0 0 0; color:#323a48; }
.callout { background:#eef3ff; border:1px solid #cdd9fb; border-radius:8px; padding:12px 16px; }
footer { color:var(--muted); font-size:13px; text-align:center; padding:10px 0 30px; }
@media (max-width: 900px) { .layout { grid-template-columns:1fr; } nav.toc { position:static; max-height:none; } }
@media print { nav.toc { display:none; } .layout { display:block; } section { break-inside:avoid-page; } }
"""

REVIEW_JS = """
(function () {
  function reviews() {
    return Array.prototype.map.call(document.querySelectorAll('.finding[data-finding-id]'), function (card) {
      var box = card.querySelector('input.review-confirm');
      var note = card.querySelector('textarea.review-note');
      return {id: card.getAttribute('data-finding-id'), title: card.getAttribute('data-finding-title'),
              status: box && box.checked ? 'confirmed' : 'unconfirmed', note: note ? note.value : ''};
    });
  }
  function exportReview() {
    var meta = JSON.parse(document.getElementById('run-meta').textContent);
    return {schema: 'tinyemo-audit-review/1', run: meta, reviewed_at: new Date().toISOString(),
            findings: reviews()};
  }
  function updateCount() {
    var all = reviews(), done = all.filter(function (r) { return r.status === 'confirmed'; }).length;
    var out = document.getElementById('review-count');
    if (out) { out.textContent = done + ' of ' + all.length + ' findings confirmed'; }
  }
  function download() {
    var blob = new Blob([JSON.stringify(exportReview(), null, 2)], {type: 'application/json'});
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'review.json';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }
  window.tinyemoReview = exportReview;
  document.addEventListener('change', updateCount);
  document.addEventListener('DOMContentLoaded', function () {
    var btn = document.getElementById('review-export');
    if (btn) { btn.addEventListener('click', download); }
    updateCount();
  });
})();
"""


def page(*, title: str, toc: Sequence[tuple[str, str]], body: str, plotlyjs: str, run_meta: dict) -> str:
    """The whole document: inline CSS, plotly.js once (if any chart needs it), TOC, body, review script."""
    toc_html = join(tag("li", Safe(f'<a href="#{esc(anchor)}">{esc(label)}</a>')) for anchor, label in toc)
    # PlotlyConfig is read as plotly.js loads; without it plotly would try to fetch MathJax for LaTeX labels.
    lib = (f"<script>window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>"
           f'<script type="text/javascript">{plotlyjs}</script>') if plotlyjs else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f"{lib}</head><body>"
        f'<script type="application/json" id="run-meta">{json_for_script(run_meta)}</script>'
        '<div class="layout"><nav class="toc" aria-label="Contents"><h2>Contents</h2>'
        f"<ol>{toc_html}</ol></nav><main>{body}"
        "<footer>Generated by tinyemo-audit. This file is self-contained and makes no network requests.</footer>"
        f"</main></div><script>{REVIEW_JS}</script></body></html>\n"
    )
