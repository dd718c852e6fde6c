"""Reasoning findings in plain words, and the twin pairs whose texts show them.

The finders read only results.json's ``reasoning`` section (like every other finder of
:mod:`tinyemo_audit.audit._findings`, whose one flag rule they apply). The pairs of texts and the
sentence saying what the model wrote differently ("the model wrote \\"hostile\\" for 9 of 40
dark-skinned neutral twins, 0 of 40 with light skin") need the texts themselves, so
:func:`attach_reasoning_examples` adds them afterwards from the run's
:class:`~._section.ReasoningEvidence`. Generated text is user-visible content: examples hold it
with control characters made visible and bounded in length; the report escapes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from ...user_text import shorten, visible
from .. import _rules
from .._findings import _evidence, _fmt_q, _passes, attribute_name, value_phrase
from ._mentions import first_mention, mention_grid
from ._reading import pair_order
from ._section import ReasoningEvidence

TEXT_LIMIT = 600  # characters of a generated text quoted in an example
PAIRS = 3  # twin pairs quoted per finding
_WORD = re.compile(r"[^\W\d_]{3,}(?:['\-][^\W\d_]+)*")


def _who(row: dict[str, Any]) -> str:
    return "faces" if row["true_class"] == "*" else f"{row['true_class']} faces"


def reasoning_records(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every tested record of the ``reasoning`` section, with its probe kind (in a fixed order)."""
    for entry in ((results.get("reasoning") or {}).get("by_attribute") or {}).values():
        for record in (entry.get("free") or {}).get("shifts", []):
            yield "reasoning_label", record
        for record in (entry.get("conditional") or {}).get("shifts", []):
            yield "reasoning_text", record
        for record in (entry.get("mentions") or {}).get("shifts", []):
            yield "reasoning_mention", record
        leakage = entry.get("leakage") or {}
        for role in ("generated", "reference", "amplification"):
            if leakage.get(role) is not None:
                yield "reasoning_leakage", leakage[role]


def _shift_findings(kind: str, section: str, attr: str, entry: dict[str, Any], settings, phrase, *,
                    key=lambda r: (r["value"], r["true_class"]), strength=lambda r: r["mean_shift"]) -> Iterator[dict]:
    """One finding per passing row's ``key``: its strongest row, phrased; the others are covered by it."""
    passing: dict[tuple, list[dict]] = {}
    for row in (entry.get(section) or {}).get("shifts", []):
        if _passes(kind, row, settings):
            passing.setdefault(key(row), []).append(row)
    for rows in passing.values():
        rows.sort(key=lambda r: -strength(r))
        yield phrase(kind, attr, rows[0], rows, settings)


def _label_finding(kind: str, attr: str, row: dict[str, Any], rows: list[dict[str, Any]], settings) -> dict[str, Any]:
    n, label, who = row["n"], row["label"], _who(row)
    counts = (f"{round(row['share_value'] * n)} of {n} {who} with {attribute_name(attr)} {row['value']} vs "
              f"{round(row['share_reference'] * n)} of {n} with {row['reference']}")
    return {
        "kind": kind, "severity": _rules.severity(kind, row["mean_shift"], settings),
        "title": f'{value_phrase(attr, row["value"])} makes the MM-LLM state "{label}" for {who}',
        "summary": (f"Changing only {attribute_name(attr)} from {row['reference']} to {row['value']} — same face, "
                    f"same expression — the reasoning the MM-LLM writes in free mode states \"{label}\" for {counts} "
                    f"({100 * row['mean_shift']:+.1f} points, 95% CI {100 * row['ci_low']:+.1f} to "
                    f"{100 * row['ci_high']:+.1f}; q = {_fmt_q(row['q_value'])}; {n} twin pairs)."),
        "attribute": attr, "groups": [row["reference"], row["value"]], "direction": f"toward {label}",
        "evidence": _evidence("rise of the share of twin pairs stating the label (free mode)", row, "mean_shift",
                              share_reference=row["share_reference"], share_changed=row["share_value"]),
        "outcome": {"text": f"the MM-LLM states \"{label}\" for {counts}", "pairs": n,
                    "pairs_changed": row["n_changed"], "pairs_to_target": row["n_to_label"], "target": label},
        "_reasoning": ("free", attr, row["value"], row["reference"], row["true_class"], label),
        "_records": rows,
    }


def _text_finding(kind: str, attr: str, row: dict[str, Any], rows: list[dict[str, Any]], settings) -> dict[str, Any]:
    label, who = row["label"], _who(row)
    return {
        "kind": kind, "severity": _rules.severity(kind, row["mean_shift"], settings),
        "title": f'With {attribute_name(attr)} {row["value"]}, the reasoning about {who} reads more "{label}"',
        "summary": (f"Given the same hint, the reasoning the MM-LLM writes about {who} with {attribute_name(attr)} "
                    f"{row['value']} reads more \"{label}\" than about their {row['reference']} twins: "
                    f"{row['mean_shift']:+.3f} cosine "
                    f"(95% CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}; q = {_fmt_q(row['q_value'])}; "
                    f"{row['n']} twin pairs, {row['n_identical']} of them with identical texts). "
                    f"{value_phrase(attr, row['value'])} changes the words, not the hint."),
        "attribute": attr, "groups": [row["reference"], row["value"]], "direction": f"toward {label}",
        "evidence": _evidence("mean reading shift toward the label (conditional mode, MiniLM cosine)", row,
                              "mean_shift",
                              reading_reference=row["reading_reference"], reading_changed=row["reading_value"]),
        "outcome": {"text": f"reasoning about {row['value']} twins reads {row['mean_shift']:+.3f} cosine more "
                            f"\"{label}\" ({row['n']} twin pairs)", "pairs": row["n"], "target": label,
                    "cosine_shift": row["mean_shift"]},
        "_reasoning": ("conditional", attr, row["value"], row["reference"], row["true_class"], label),
        "_records": rows,
    }


def _mention_finding(kind: str, attr: str, row: dict[str, Any], rows: list[dict[str, Any]], settings) -> dict[str, Any]:
    more, fewer = ((row["value"], row["reference"]) if row["mean_shift"] > 0 else (row["reference"], row["value"]))
    who, n = _who(row), row["n"]
    counts = (f"{row['count_value']} of {n} texts about {row['value']} twins vs {row['count_reference']} of {n} "
              f"about {row['reference']} twins")
    return {
        "kind": kind, "severity": _rules.severity(kind, row["mean_shift"], settings),
        "title": f"The reasoning names {attribute_name(attr)} more often for {who} with {attribute_name(attr)} {more}",
        "summary": (f"Explaining the same hint for twins that differ only in {attribute_name(attr)}, the MM-LLM "
                    f"names {attribute_name(attr)} in {counts} ({who}; {100 * row['mean_shift']:+.1f} points, "
                    f"95% CI {100 * row['ci_low']:+.1f} to {100 * row['ci_high']:+.1f}; q = "
                    f"{_fmt_q(row['q_value'])}). Reasoning that names {attribute_name(attr)} for {more} twins and "
                    f"not for {fewer} ones is a finding even where the label is right."),
        "attribute": attr, "groups": [row["reference"], row["value"]], "direction": f"names {attr} for {more}",
        "evidence": _evidence("difference of the share of texts naming the attribute (twin pairs)", row, "mean_shift",
                              count_reference=row["count_reference"], count_changed=row["count_value"]),
        "outcome": {"text": f"names {attribute_name(attr)} in {counts}", "pairs": n,
                    "count_changed": row["count_value"], "count_reference": row["count_reference"]},
        "_reasoning": ("mentions", attr, row["value"], row["reference"], row["true_class"], None),
        "_records": rows,
    }


def _leakage_findings(attr: str, entry: dict[str, Any], settings) -> Iterator[dict[str, Any]]:
    kind = "reasoning_leakage"
    leakage = entry.get("leakage") or {}
    for role in ("amplification", "generated"):
        record = leakage.get(role)
        if record is None or not _passes(kind, record, settings):
            continue
        generated, reference = leakage["generated"], leakage.get("reference")
        name = attribute_name(attr)
        if role == "amplification":
            compared = (f"leakage {generated['value']:.3f} (chance {generated['chance']:.3f}) vs {reference['value']:.3f} "
                        f"for the reference reasoning of the same images: amplification {record['value']:+.3f}")
        else:
            compared = f"leakage {record['value']:.3f} against a chance level of {record['chance']:.3f}"
        yield {
            "kind": kind, "severity": _rules.severity(kind, record["excess"], settings),
            "title": f"The reasoning gives away {name} even with its {name} words masked",
            "summary": (f"With every {name} word of the lexicon masked, a classifier predicts the twin's {name} from "
                        f"the MM-LLM's reasoning: {compared} (95% CI {record['ci_low']:+.3f} to "
                        f"{record['ci_high']:+.3f}; q = {_fmt_q(record['q_value'])}; {record['n']} identities). "
                        f"The other words the model writes depend on {name}."),
            "attribute": attr, "groups": list(entry.get("values") or []), "direction": f"reveals {attr}",
            "evidence": _evidence(f"LIC leakage {'amplification' if role == 'amplification' else 'above chance'}",
                                  record, "value", chance=record["chance"],
                                  generated=generated["value"], reference=None if reference is None else reference["value"]),
            "outcome": {"text": compared, "leakage": generated["value"], "chance": generated["chance"],
                        "reference_leakage": None if reference is None else reference["value"],
                        "amplification": record["value"] if role == "amplification" else None},
            "_records": [record],
        }
        return


def reasoning_findings(results: dict[str, Any], settings: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every reasoning finding of an audit (unranked; :func:`~tinyemo_audit.audit._findings.rank_findings` ranks)."""
    for attr, entry in ((results.get("reasoning") or {}).get("by_attribute") or {}).items():
        yield from _shift_findings("reasoning_label", "free", attr, entry, settings, _label_finding)
        yield from _shift_findings("reasoning_text", "conditional", attr, entry, settings, _text_finding)
        yield from _shift_findings("reasoning_mention", "mentions", attr, entry, settings, _mention_finding,
                                   key=lambda r: r["value"], strength=lambda r: abs(r["mean_shift"]))
        yield from _leakage_findings(attr, entry, settings)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def distinctive_word(changed: list[str], reference: list[str]) -> tuple[str, int, int] | None:
    """The word most often in a changed twin's text but not in its reference twin's: (word, in changed, in reference).

    Counted over the pairs (``changed[i]`` vs ``reference[i]``): a word scores when the changed
    text has it and its own reference text does not. English stop words do not count; ties go to
    the longer word, then alphabetically. The counts returned are of texts holding the word on each
    side. None when no changed text adds a word.

    Examples
    --------
    >>> distinctive_word(["calm. looks hostile", "calm"], ["calm.", "calm"])
    ('hostile', 1, 0)
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    added: dict[str, int] = {}
    for a, b in zip(changed, reference):
        for word in _words(a) - _words(b) - ENGLISH_STOP_WORDS:
            added[word] = added.get(word, 0) + 1
    if not added:
        return None
    word = min(added, key=lambda w: (-added[w], -len(w), w))
    return word, sum(word in _words(t) for t in changed), sum(word in _words(t) for t in reference)


def _quote(text: str) -> str:
    return shorten(visible(str(text), one_line=True), TEXT_LIMIT)


def _rows(tt, true_class: str) -> np.ndarray:
    return np.arange(len(tt)) if true_class == "*" else np.flatnonzero(tt.labels == tt.classes.index(true_class))


def _pair_examples(tt, grid: np.ndarray, chosen, ref: int, col: int, *, mode: str, target, shifts=None):
    out = []
    for pair, row in enumerate(chosen):
        for side, j in (("reference", ref), ("changed", col)):
            stated = tt.stated[row, j] if mode == "free" else None
            example = {
                "id": f"{tt.ids[row]}:{tt.values[j]}", "label": tt.values[j], "text": _quote(grid[row, j]),
                "mode": mode, "true_label": tt.true_class(row), "side": side, "pair": pair, "target": target,
                "caption": f"{tt.values[j]}" + (f", states {stated or 'no label'}" if mode == "free" else "")
                + (f", hint {tt.hints[row]}" if mode != "free" and tt.hints is not None else ""),
            }
            if mode == "free":
                example["stated_label"] = stated
            if shifts is not None:
                example["shift"] = float(shifts[pair])
            out.append(example)
    return out


def _words_sentence(word, attr, tt, col, ref, who) -> str:
    found, n = word
    name = attribute_name(attr)
    return (f" The model wrote \"{found[0]}\" for {found[1]} of {n} {who} with {name} {tt.values[col]}, "
            f"{found[2]} of {n} with {name} {tt.values[ref]}.")


def attach_reasoning_examples(findings: list[dict[str, Any]], evidence: ReasoningEvidence) -> None:
    """Give each reasoning finding two or three twin pairs with their texts, and say which word differs (in place).

    Drops the private ``_reasoning`` hint. A finding whose attribute has no texts in ``evidence`` keeps
    its examples empty.
    """
    for finding in findings:
        hint = finding.pop("_reasoning", None)
        if not finding["kind"].startswith("reasoning_"):
            continue
        attr = finding["attribute"]
        tt = evidence.texts.get(attr)
        if tt is None:
            continue
        ref = evidence.reference[attr]
        if hint is None:  # leakage: every group against the reference, the group whose texts differ most
            _leakage_examples(finding, tt, ref)
            continue
        mode, _, value, _, true_class, label = hint
        col = tt.values.index(value)
        rows = _rows(tt, true_class)
        grid = tt.free if mode == "free" else tt.conditional
        shifts = None
        if mode == "free":
            c = label
            onto = [r for r in rows if tt.stated[r, col] == c and tt.stated[r, ref] != c]
            chosen = (onto or [r for r in rows if tt.stated[r, col] != tt.stated[r, ref]])[:PAIRS]
        elif mode == "conditional":
            k = tt.classes.index(label)
            readings = evidence.readings[attr]
            chosen = list(pair_order(readings, rows, ref, col, k)[:PAIRS])
            shifts = [readings[r, col, k] - readings[r, ref, k] for r in chosen]
        else:
            grid_m = mention_grid(tt, evidence.lexicons[attr])
            more, less = (col, ref) if finding["evidence"]["value"] > 0 else (ref, col)
            chosen = [r for r in rows if grid_m[r, more] and not grid_m[r, less]][:PAIRS]
            term = first_mention(grid[chosen[0], more], evidence.lexicons[attr]) if chosen else None
            if term is not None:
                finding["outcome"]["term"] = term
        finding["examples"] = _pair_examples(tt, grid, [int(r) for r in chosen], ref, col, mode=mode, target=label,
                                             shifts=shifts)
        if mode != "mentions":
            found = distinctive_word(list(grid[rows, col]), list(grid[rows, ref]))
            if found is not None:
                finding["summary"] += _words_sentence((found, len(rows)), attr, tt, col, ref,
                                                      "faces" if true_class == "*" else f"{true_class} twins")
                finding["outcome"]["word"] = {"word": found[0], "changed": found[1], "reference": found[2],
                                              "of": int(len(rows))}


def _leakage_examples(finding: dict[str, Any], tt, ref: int) -> None:
    best = None
    rows = np.arange(len(tt))
    for col in range(len(tt.values)):
        if col == ref:
            continue
        found = distinctive_word(list(tt.conditional[:, col]), list(tt.conditional[:, ref]))
        if found is not None and (best is None or found[1] - found[2] > best[1][1] - best[1][2]):
            best = (col, found)
    if best is None:
        return
    col, found = best
    chosen = [int(r) for r in rows if found[0] in _words(tt.conditional[r, col])
              and found[0] not in _words(tt.conditional[r, ref])][:PAIRS]
    finding["examples"] = _pair_examples(tt, tt.conditional, chosen, ref, col, mode="conditional", target=None)
    finding["summary"] += _words_sentence((found, len(tt)), finding["attribute"], tt, col, ref, "twins")
    finding["outcome"]["word"] = {"word": found[0], "changed": found[1], "reference": found[2], "of": int(len(tt)),
                                  "group": tt.values[col]}
