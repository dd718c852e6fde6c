"""Example images that show a finding's effect: twin pairs with P(target) on each side, misclassified members.

Thumbnails are shown at their native resolution times an integer (``image-rendering: pixelated``), so a
96-pixel face is never smeared to 118 pixels. The report only shows what the results say: probabilities,
shifts and labels come from each example's own fields.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from ._format import count, pct, points
from ._html import Safe, esc, image_src, join, tag

THUMB_MAX = 128  # CSS pixels: the largest integer scale of the native size that fits
MAX_TWIN_PAIRS = 3
MAX_CLUSTER_EXAMPLES = 6
CLUSTER_MEMBERS = "Members of the cluster (these results do not say which of them were misclassified):"


@lru_cache(maxsize=512)
def native_size(uri: str) -> tuple[int, int] | None:
    """Width and height of an inline image, read from its header (None if it cannot be read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(uri.split(",", 1)[1], validate=False)
        with Image.open(io.BytesIO(raw)) as img:
            width, height = img.size
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError, IndexError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def thumb(src: Any, caption: Any, *, alt: Any = None, extra: Any = "") -> Safe:
    """An image at an integer scale of its native size with its caption; empty when ``src`` is not inline."""
    uri = image_src(src)
    if uri is None:
        return Safe("")
    size = native_size(uri)
    dims = ""
    if size is not None:
        scale = max(1, THUMB_MAX // max(size))
        dims = f' width="{size[0] * scale}" height="{size[1] * scale}"'
    alt_text = esc(alt if alt is not None else caption)
    return Safe(f'<figure class="thumb"><img src="{esc(uri)}"{dims} alt="{alt_text}">'
                f"<figcaption>{esc(caption)}{esc(extra)}</figcaption></figure>")


def _label(value: Any) -> str:
    return str(value) if value is not None else "?"


def twin_pairs(examples: Sequence[Mapping[str, Any]]) -> Safe:
    """Twin pairs side by side, largest shift first: each side with P(target) and its prediction."""
    pairs: dict[Any, dict[str, Mapping[str, Any]]] = {}
    for e in examples:
        if e.get("side") in ("reference", "changed") and isinstance(e.get("pair"), int):
            pairs.setdefault(e["pair"], {})[e["side"]] = e
    blocks = []
    for index in sorted(pairs)[:MAX_TWIN_PAIRS]:
        sides = pairs[index]
        if "reference" not in sides or "changed" not in sides:
            continue
        figs = []
        for side in ("reference", "changed"):
            e = sides[side]
            target = _label(e.get("target"))
            prob = Safe(f'<br><span class="p">P({esc(target)}) {esc(pct(e.get("probability")))}</span>')
            predicted = f" · predicted {e['predicted_label']}" if e.get("predicted_label") is not None else ""
            figs.append(thumb(e.get("image"), f"{_label(e.get('label'))}{predicted}", extra=prob,
                              alt=f"{side} twin, {_label(e.get('label'))}: P({target}) {pct(e.get('probability'))}"))
        if not all(figs):
            continue
        target = _label(sides["changed"].get("target"))
        shift_line = tag("div", f"pair {index + 1}: P({target}) {points(sides['changed'].get('shift'))}",
                         class_="pair-shift")
        blocks.append(Safe(f'<div class="twin-pair">{figs[0]}<span class="arrow" aria-hidden="true">→</span>'
                           f"{figs[1]}{shift_line}</div>"))
    if not blocks:
        return Safe("")
    return Safe(f'<p class="count-line">Twin pairs ranked by the change of P(target), largest first: the same face, '
                f'only the attribute changed.</p><div class="examples">{join(blocks)}</div>')


def misclassified(examples: Sequence[Mapping[str, Any]], evidence: Mapping[str, Any]) -> Safe:
    """Misclassified members of an error cluster, with "9 of 171 misclassified"."""
    wrong = [e for e in examples if e.get("true_label") is not None and e.get("predicted_label") is not None
             and e.get("true_label") != e.get("predicted_label")]
    figs = [thumb(e.get("image"), f"true {e['true_label']} → predicted {e['predicted_label']}")
            for e in wrong[:MAX_CLUSTER_EXAMPLES]]
    figs = [f for f in figs if f]
    n_wrong, n = evidence.get("n_misclassified"), evidence.get("n")
    line = ""
    if isinstance(n_wrong, int) and not isinstance(n_wrong, bool):
        line = f"{count(n_wrong)} of {count(n)} misclassified"
        if figs:
            line += f"; {len(figs)} shown"
    if not figs and not line:
        return Safe("")
    return Safe((tag("p", line, class_="count-line") if line else "")
                + (f'<div class="examples">{join(figs)}</div>' if figs else ""))


def examples(finding: Mapping[str, Any]) -> Safe:
    """The evidence images of one finding, in the form its kind calls for."""
    items = [e for e in finding.get("examples") or [] if isinstance(e, Mapping)]
    evidence = finding.get("evidence") if isinstance(finding.get("evidence"), Mapping) else {}
    if str(finding.get("kind", "")).startswith("reasoning_"):
        from ._reasoning import text_pairs

        return text_pairs(items)
    if finding.get("kind") == "counterfactual" and any("side" in e for e in items):
        html = twin_pairs(items)
        if html:
            return html
    if finding.get("kind") == "cluster" and ("n_misclassified" in evidence or any("true_label" in e for e in items)):
        return misclassified(items, evidence)
    figs = [thumb(e.get("image"), e.get("caption") or e.get("label") or e.get("id")) for e in items]
    figs = [f for f in figs if f]
    if not figs:
        return Safe("")
    # Results before schema 1.1 do not say which members of an error cluster were misclassified.
    note = tag("p", CLUSTER_MEMBERS, class_="count-line") if finding.get("kind") == "cluster" else ""
    return Safe(f'{note}<div class="examples">{join(figs)}</div>')
