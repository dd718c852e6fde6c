"""A safe subset of Markdown for the model card: headings, paragraphs, lists, pipe tables, code, emphasis.

Every character of the source is HTML-escaped first; only the markup this module writes is HTML. Links keep
their text and drop their target (the report makes no requests and links only within itself). Headings start at
``h4`` so a card never adds an ``h1`` or breaks the page's outline.
"""

from __future__ import annotations

import re

from ._html import Safe, esc

HEADING_BASE = 4  # "# Title" becomes <h4>
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _inline(text: str) -> str:
    """Escape ``text``, then apply code spans, bold, italics and link text (in that order)."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{esc(part[1:-1])}</code>")
            continue
        s = str(esc(part))
        s = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", s)
        s = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"__(?=\S)(.+?)(?<=\S)__", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", s)
        s = re.sub(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def render_inline(text: str) -> Safe:
    """One line of Markdown (code spans, bold, italics) as safe HTML: for next steps and other short prose."""
    return Safe(_inline(str(text)))


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def render_markdown(source: str) -> Safe:
    """``source`` (Markdown) as safe HTML.

    Examples
    --------
    >>> str(render_markdown("# Card\\n\\nTwo **planted** biases <script>"))
    '<h4>Card</h4><p>Two <strong>planted</strong> biases &lt;script&gt;</p>'
    """
    lines = str(source).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    html: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush() -> None:
        if paragraph:
            html.append("<p>" + _inline(" ".join(s.strip() for s in paragraph)) + "</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line).group(1)
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            html.append(f"<pre><code>{esc(chr(10).join(body))}</code></pre>")
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = min(6, HEADING_BASE - 1 + len(heading.group(1)))
            html.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            flush()
            head = "".join(f'<th scope="col">{_inline(c)}</th>' for c in _cells(line))
            rows = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(lines[i])) + "</tr>")
                i += 1
            html.append(f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
                        f"<tbody>{''.join(rows)}</tbody></table></div>")
            continue
        for pattern, list_tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            if pattern.match(line):
                flush()
                items = []
                while i < len(lines) and pattern.match(lines[i]):
                    items.append(f"<li>{_inline(pattern.match(lines[i]).group(1))}</li>")
                    i += 1
                html.append(f"<{list_tag}>{''.join(items)}</{list_tag}>")
                break
        else:
            if line.strip():
                paragraph.append(line)
            else:
                flush()
            i += 1
    flush()
    return Safe("".join(html))
