"""Report parts of the reasoning audit: pairs of generated texts under a finding, and the reasoning section.

Generated text is user-visible content: every text goes through :func:`~._html.esc` (HTML-escaped,
control characters visible). Pairs stack into one column on a phone (report.css, ``.text-pair``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._format import DASH, count, dec, pct, shift
from ._html import Safe, esc, join, table, tag
from ._sections import as_dict
from ._sections import section as report_section

MAX_PAIRS = 3


def _side(e: Mapping[str, Any], side: str) -> Safe:
    head = [str(e.get("label") if e.get("label") is not None else "?")]
    if e.get("mode") == "free":
        head.append(f"states {e.get('stated_label') or 'no label'}")
    return Safe(f'<figure class="text-side {esc(side)}"><figcaption>{esc(" · ".join(head))}</figcaption>'
                f'<blockquote>{esc(e.get("text") or "")}</blockquote></figure>')


def text_pairs(examples: Sequence[Mapping[str, Any]]) -> Safe:
    """Twin pairs of reasoning texts side by side (reference, then changed), in the finding's order."""
    pairs: dict[int, dict[str, Mapping[str, Any]]] = {}
    for e in examples:
        if isinstance(e, Mapping) and e.get("side") in ("reference", "changed") and isinstance(e.get("pair"), int) \
                and "text" in e:
            pairs.setdefault(e["pair"], {})[e["side"]] = e
    blocks = []
    for index in sorted(pairs)[:MAX_PAIRS]:
        sides = pairs[index]
        if set(sides) != {"reference", "changed"}:
            continue
        ref = sides["reference"]
        hint = f" · same hint: {ref['caption'].split('hint ', 1)[1]}" if "hint " in str(ref.get("caption")) else ""
        line = tag("div", f"pair {index + 1}: {ref.get('id', '?')} → {sides['changed'].get('id', '?')}{hint}",
                   class_="pair-shift")
        blocks.append(Safe(f'<div class="text-pair">{_side(ref, "reference")}'
                           f'<span class="arrow" aria-hidden="true">→</span>{_side(sides["changed"], "changed")}'
                           f"{line}</div>"))
    if not blocks:
        return Safe("")
    return Safe('<p class="count-line">What the model wrote about twins: the same face, only the attribute '
                f'changed.</p><div class="text-pairs">{join(blocks)}</div>')


def _leakage_cells(leakage: Mapping[str, Any]) -> list[Any]:
    def value(role: str) -> str:
        record = leakage.get(role)
        if not isinstance(record, Mapping):
            return DASH
        chance = f" (chance {dec(record.get('chance'))})" if role != "amplification" else ""
        return f"{dec(record.get('value'))}{chance}"

    return [value("generated"), value("reference"), value("amplification")]


def _overall_rate(rates: Mapping[str, Any]) -> Any:
    """A group's mention rate over all its twins (``"*"``, or its one expression when there is only one)."""
    if "*" in rates:
        return as_dict(rates["*"]).get("rate")
    return as_dict(next(iter(rates.values()))).get("rate") if len(rates) == 1 else None


def section(ctx) -> Safe | None:
    """The reasoning section: per attribute, the free-mode flip rate, mentions per group and the leakage."""
    block = as_dict(ctx.results.get("reasoning"))
    by_attribute = {a: as_dict(b) for a, b in as_dict(block.get("by_attribute")).items()}
    if not by_attribute:
        for entry in ctx.skipped_entries:
            if str(entry.get("probe", "")).lower().startswith("reasoning audit"):
                return report_section("reasoning", "Reasoning", None,
                                      tag("p", f"not run: {entry.get('reason') or 'no reason given'}", class_="notrun"))
        return None
    rows = []
    for attr, entry in by_attribute.items():
        free = as_dict(entry.get("free"))
        flip = as_dict(free.get("flip_rate"))
        rates = as_dict(as_dict(entry.get("mentions")).get("rates"))
        mentions = "; ".join(f"{group} {pct(_overall_rate(as_dict(r)))}" for group, r in rates.items()) or DASH
        top = max((s for s in as_dict(entry.get("conditional")).get("shifts") or [] if isinstance(s, Mapping)
                   and isinstance(s.get("mean_shift"), (int, float))),
                  key=lambda s: s["mean_shift"], default=None)
        wording = DASH if top is None else f"{shift(top['mean_shift'])} toward {top.get('label')} ({top.get('value')})"
        rows.append([tag("b", attr), count(entry.get("n_identities")), pct(flip.get("value")), wording, mentions,
                     *_leakage_cells(as_dict(entry.get("leakage")))])
    lead = ("What the bundle's MM-LLM writes about counterfactual twins: in free mode it names the label itself; "
            "in conditional mode every twin gets the same hint, so only the image differs. Findings above quote "
            "the pairs of texts. Leakage: how well a classifier predicts the attribute from the text with the "
            "attribute's own words masked (LIC), against its chance level and the reference reasoning.")
    body = table(["attribute", "twins", "stated label flips", "largest wording shift", "texts naming the attribute",
                  "leakage", "reference leakage", "amplification"], rows, numeric=[1, 2])
    return report_section("reasoning", "Reasoning", lead, body)
