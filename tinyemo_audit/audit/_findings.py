"""Turns every tested result into q-values (one BH over the audit) and ranked plain-language findings.

The flag rule itself is :mod:`._rules`; this module applies it to every probe's records, words
each finding, says in outcome terms how big it is, and marks every significant record that is not
a finding with the reason (``not_flagged``), so that the report never leaves a red q unexplained.
The tool proposes, a person confirms: every finding carries a review status that starts as
``unreviewed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..metrics import benjamini_hochberg
from . import _rules
from ._twins import COSINE

ATTRIBUTE_NAMES = {"skin_group": "skin tone", "skin_tone": "skin tone", "gender": "gender presentation",
                   "age": "age group"}
VALUE_PHRASES = {("skin_group", "dark"): "Darker skin", ("skin_group", "medium"): "Medium skin tone",
                 ("skin_group", "light"): "Lighter skin", ("gender", "feminine"): "A feminine presentation",
                 ("gender", "masculine"): "A masculine presentation", ("age", "older"): "Older age",
                 ("age", "child"): "A child's face", ("age", "adult"): "Adult age"}
METRIC_NAMES = {"accuracy": "accuracy", "tpr": "recall (TPR)", "fpr": "false-positive rate",
                "selection_rate": "prediction rate"}
# Private keys a finding carries between the stages of the findings step; none reaches results.json.
PRIVATE_KEYS = ("_example", "_records", "_record", "_reasoning")


def attribute_name(attr: str) -> str:
    return ATTRIBUTE_NAMES.get(attr, attr.replace("_", " "))


def value_phrase(attr: str, value: str) -> str:
    return VALUE_PHRASES.get((attr, value), f"{attribute_name(attr).capitalize()} = {value}")


def probe_records(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record of the audit that carries a p_value, with its probe kind (in a fixed order)."""
    for attr_entry in (results.get("disparities") or {}).values():
        if "accuracy_difference" in attr_entry:
            yield "disparity", attr_entry["accuracy_difference"]
        for key in ("tpr_difference", "fpr_difference", "selection_rate_difference"):
            for record in attr_entry.get(key, {}).values():
                yield "disparity", record
    for entry in (results.get("counterfactual") or {}).values():
        for record in entry["shifts"]:
            yield "counterfactual", record
    for entry in (results.get("text_probes") or {}).get("by_attribute", {}).values():
        for record in entry["shifts"]:
            yield "text_probe", record
    for record in results.get("association") or []:
        yield "association", record
    for per_attr in (results.get("skew") or {}).get("by_label", {}).values():
        for record in per_attr.values():
            yield "skew", record
    for record in (results.get("clusters") or {}).get("items", []):
        yield "cluster", record
    from .reasoning._findings import reasoning_records  # the reasoning probes' records (audit/reasoning/)

    yield from reasoning_records(results)


def _tested(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every record of the audit that carries a p_value (in a fixed order)."""
    return (record for _, record in probe_records(results))


def apply_fdr(results: dict[str, Any], q: float) -> int:
    """Benjamini–Hochberg over every p-value of the audit; writes ``q_value`` into each record."""
    records = [r for r in _tested(results) if r.get("p_value") is not None and np.isfinite(r["p_value"])]
    if not records:
        return 0
    _, q_values = benjamini_hochberg(np.array([r["p_value"] for r in records]), q=q)
    for record, value in zip(records, q_values):
        record["q_value"] = float(value)
    return len(records)


def _passes(kind: str, record: dict[str, Any], settings: dict[str, Any]) -> bool:
    return _rules.not_flagged_reason(kind, record, settings) is None


def _evidence(statistic: str, rec: dict[str, Any], value_key: str = "value", *, n=None, **extra) -> dict[str, Any]:
    """The evidence block of a finding: the statistic, its value, CI, q-value, n and the test."""
    return {"statistic": statistic, "value": rec[value_key], "ci_low": rec.get("ci_low"),
            "ci_high": rec.get("ci_high"), "q_value": rec["q_value"], "n": rec.get("n") if n is None else n,
            "test": rec.get("test"), **extra}


def _fmt_q(q: float) -> str:
    return f"{q:.1e}" if q < 0.001 else f"{q:.3f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _counterfactual_outcome(row: dict[str, Any]) -> dict[str, Any]:
    """How many twin pairs change their predicted label, and P(label) on both sides."""
    label, n, moved = row["label"], row["n"], row.get("n_to_label")
    text = f"P({label}) {100 * row['prob_shift']:+.1f} points over {n} twin pairs"
    if "prob_reference" in row:
        onto = f" ({moved} to {label})" if moved else ""
        text = (f"{row['n_changed']} of {n} twin pairs change prediction{onto}; P({label}) "
                f"{_pct(row['prob_reference'])} → {_pct(row['prob_value'])} ({100 * row['prob_shift']:+.1f} points)")
    return {"text": text, "pairs": n, "pairs_changed": row.get("n_changed"), "pairs_to_target": moved,
            "probability_reference": row.get("prob_reference"), "probability_changed": row.get("prob_value"),
            "probability_shift": row["prob_shift"], "target": label}


def _counterfactual_findings(results, settings) -> Iterator[dict[str, Any]]:
    for attr, entry in (results.get("counterfactual") or {}).items():
        score = entry.get("score", COSINE)  # what the paired test shifts: a bundle's cosine similarity
        passing: dict[tuple, list[dict]] = {}
        for row in entry["shifts"]:
            if _passes("counterfactual", row, settings):
                passing.setdefault((row["value"], row["true_class"]), []).append(row)
        for rows in passing.values():
            rows.sort(key=lambda r: -r["prob_shift"])
            row = rows[0]
            who = "faces" if row["true_class"] == "*" else f"{row['true_class']} faces"
            yield {
                "kind": "counterfactual",
                "severity": _rules.severity("counterfactual", row["prob_shift"], settings),
                "title": f'{value_phrase(attr, row["value"])} pushes {who} toward "{row["label"]}"',
                "summary": (
                    f"Changing only {attribute_name(attr)} from {row['reference']} to {row['value']} — same face, "
                    f"same expression — raises the probability of \"{row['label']}\" for {who} by "
                    f"{100 * row['prob_shift']:.1f} points on average ({score} "
                    f"{row['mean_shift']:+.3f}, 95% CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}; "
                    f"q = {_fmt_q(row['q_value'])}; {row['n']} twin pairs)."
                ),
                "attribute": attr, "groups": [row["reference"], row["value"]],
                "direction": f"toward {row['label']}",
                "evidence": _evidence("mean similarity shift (twin pairs)" if score == COSINE
                                      else f"mean {score} shift (twin pairs)", row, "mean_shift",
                                      prob_shift=row["prob_shift"]),
                "outcome": _counterfactual_outcome(row),
                "_example": ("twins", attr, row["value"], row["reference"], row["true_class"], row["label"]),
                "_records": rows,
            }


def _disparity_outcome(metric: str, cls: str | None, rec: dict[str, Any], attr: str) -> dict[str, Any]:
    worst, best = rec.get("worst_group"), rec.get("best_group")
    rates, hits, trials = rec.get("by_group") or {}, rec.get("successes_by_group") or {}, rec.get("trials_by_group") or {}
    what = {"accuracy": "classified correctly", "tpr": f'"{cls}" faces recognised as "{cls}"',
            "fpr": f'faces wrongly called "{cls}"', "selection_rate": f'faces called "{cls}"'}[metric]

    def side(group):
        if group in hits and group in trials:
            return f"{_pct(rates[group])} ({hits[group]} of {trials[group]})"
        return _pct(rates[group]) if rates.get(group) is not None else "—"

    excess = None
    if rates.get(worst) is not None and rates.get(best) is not None and worst in trials:
        excess = int(round(abs(rates[worst] - rates[best]) * trials[worst]))
    text = f"{attribute_name(attr)} {worst}: {side(worst)} {what}, vs {side(best)} for {best}"
    if excess:
        more = "fewer" if metric in ("accuracy", "tpr") else "more"
        text += f" — about {excess} {more} than at the {best} rate"
    return {"text": text, "group": worst, "rate": rates.get(worst), "count": hits.get(worst),
            "of": trials.get(worst), "reference_group": best, "reference_rate": rates.get(best),
            "reference_count": hits.get(best), "reference_of": trials.get(best), "difference": rec["value"],
            "excess_items": excess}


def _disparity_findings(results, settings) -> Iterator[dict[str, Any]]:
    for attr, entry in (results.get("disparities") or {}).items():
        candidates = [("accuracy", None, entry["accuracy_difference"])] if "accuracy_difference" in entry else []
        for metric in ("tpr", "fpr", "selection_rate"):
            candidates += [(metric, cls, rec) for cls, rec in entry.get(f"{metric}_difference", {}).items()]
        for metric, cls, rec in candidates:
            if not _passes("disparity", rec, settings):
                continue
            by_group = rec.get("by_group") or {}
            worst, best = rec.get("worst_group"), rec.get("best_group")
            what = METRIC_NAMES[metric] + ("" if cls is None else f' for "{cls}"')
            if metric == "fpr":
                title = f'{value_phrase(attr, worst)} faces are wrongly called "{cls}" more often'
            elif metric == "tpr":
                title = f'"{cls}" is recognised less often on faces with {attribute_name(attr)} {worst}'
            elif metric == "accuracy":
                title = f"Lower accuracy for {attribute_name(attr)} {worst}"
            else:
                title = f'"{cls}" is predicted at a different rate for {attribute_name(attr)} {worst}'
            detail = ", ".join(f"{g} {100 * v:.1f}%" for g, v in by_group.items() if v is not None)
            yield {
                "kind": "disparity",
                "severity": _rules.severity("disparity", rec["value"], settings),
                "title": title,
                "summary": (
                    f"{what.capitalize()} differs by {100 * rec['value']:.1f} points between {attribute_name(attr)} "
                    f"groups ({detail}); 95% CI {100 * rec['ci_low']:.1f} to {100 * rec['ci_high']:.1f} points, "
                    f"q = {_fmt_q(rec['q_value'])}."
                ),
                "attribute": attr, "groups": [best, worst],
                "direction": f"{metric} {'higher' if metric == 'fpr' else 'lower'} for {worst}",
                "evidence": _evidence(f"{metric} difference (max − min over groups)", rec),
                "outcome": _disparity_outcome(metric, cls, rec, attr),
                "_example": ("errors", attr, worst, cls, metric),
                "_records": [rec],
            }


def _text_findings(results, settings) -> Iterator[dict[str, Any]]:
    """One finding per (attribute value, label): the strongest prompt context, with the count of others."""
    for attr, entry in (results.get("text_probes") or {}).get("by_attribute", {}).items():
        groups: dict[tuple, list[dict]] = {}
        for row in entry["shifts"]:
            if _passes("text_probe", row, settings):
                groups.setdefault((row["value"], row["label"]), []).append(row)
        for rows in groups.values():
            rows.sort(key=lambda r: -r["mean_shift"])
            row = rows[0]
            context = "on its own" if row["emotion"] == "*" else f'in prompts about "{row["emotion"]}"'
            others = f" The shift is significant in {len(rows)} prompt contexts." if len(rows) > 1 else ""
            yield {
                "kind": "text_probe",
                "severity": _rules.severity("text_probe", row["mean_shift"], settings),
                "title": f'In the label space, "{row["value"]}" terms sit closer to "{row["label"]}" than "{row["reference"]}" terms',
                "summary": (
                    f"Swapping only the {attribute_name(attr)} term in a prompt ({context}) from {row['reference']} to "
                    f"{row['value']} moves it toward \"{row['label']}\" by {row['mean_shift']:+.3f} cosine (95% CI "
                    f"{row['ci_low']:+.3f} to {row['ci_high']:+.3f}; q = {_fmt_q(row['q_value'])}; {row['n']} prompt "
                    f"pairs).{others} This is a property of the LLM's embedding table, before any image is seen."
                ),
                "attribute": attr, "groups": [row["reference"], row["value"]], "direction": f"toward {row['label']}",
                "evidence": _evidence("mean similarity shift (prompt pairs)", row, "mean_shift"),
                "outcome": {"text": f"prompts move {row['mean_shift']:+.3f} cosine toward \"{row['label']}\" "
                                    f"({row['n']} prompt pairs, no image involved)",
                            "cosine_shift": row["mean_shift"], "target": row["label"]},
                "_records": rows,
            }


def _association_findings(results, settings) -> Iterator[dict[str, Any]]:
    for row in results.get("association") or []:
        if not _passes("association", row, settings):
            continue
        closer = row["a_set"] if row["effect_size"] > 0 else row["b_set"]
        labels = row["a_labels"] if row["effect_size"] > 0 else row["b_labels"]
        yield {
            "kind": "association",
            "severity": _rules.severity("association", row["effect_size"], settings),
            "title": f"Images with {attribute_name(row['attribute'])} {row['x_group']} sit closer to {closer} emotions",
            "summary": (
                f"iEAT effect size d = {row['effect_size']:+.2f} for {row['x_group']} vs {row['y_group']} images and "
                f"the label sets {row['a_set']} ({', '.join(row['a_labels'])}) vs {row['b_set']} "
                f"({', '.join(row['b_labels'])}); q = {_fmt_q(row['q_value'])}, {row['n_x']} images a group."
            ),
            "attribute": row["attribute"], "groups": [row["y_group"], row["x_group"]], "direction": f"toward {closer}",
            "evidence": _evidence("iEAT effect size d", row, "effect_size", n=row["n_x"] + row["n_y"]),
            "outcome": {"text": f"{row['x_group']} images sit closer to {closer} emotions ({', '.join(labels)}) than "
                                f"{row['y_group']} images: d = {row['effect_size']:+.2f}",
                        "effect_size": row["effect_size"], "targets": list(labels)},
            "_records": [row],
        }


def _skew_findings(results, settings) -> Iterator[dict[str, Any]]:
    skew = results.get("skew") or {}
    for label, per_attr in skew.get("by_label", {}).items():
        for attr, rec in per_attr.items():
            if not _passes("skew", rec, settings):
                continue
            share = rec["top_k_shares"].get(rec["group"], 0.0)
            ratio = math.exp(rec["max_skew"])
            yield {
                "kind": "skew",
                "severity": _rules.severity("skew", rec["max_skew"], settings),
                "title": f'The faces most like "{label}" are over-represented by {attribute_name(attr)} {rec["group"]}',
                "summary": (
                    f"Among the top {skew['k']} images ranked by similarity to \"{label}\", {100 * share:.0f}% have "
                    f"{attribute_name(attr)} {rec['group']} (MaxSkew@{skew['k']} = {rec['max_skew']:.2f}, i.e. "
                    f"{ratio:.1f}× their share; NDKL {rec['ndkl']:.3f}; q = {_fmt_q(rec['q_value'])})."
                ),
                "attribute": attr, "groups": [rec["group"]], "direction": f"over-represented near {label}",
                "evidence": _evidence(f"MaxSkew@{skew['k']}", rec, "max_skew", n=skew["k"]),
                "outcome": {"text": f"{round(share * skew['k'])} of the {skew['k']} faces ranked most \"{label}\" have "
                                    f"{attribute_name(attr)} {rec['group']}, {ratio:.1f}× their share of the data",
                            "top_k": skew["k"], "count": round(share * skew["k"]), "over_representation": ratio,
                            "target": label},
                "_records": [rec],
            }


def _cluster_errors(results: dict[str, Any], cluster_id: int) -> tuple[int, list[dict[str, Any]]]:
    """How many mapped members of a cluster are misclassified, and their (true → predicted) cells, largest first."""
    points = (results.get("clusters") or {}).get("points") or {}
    if not points.get("label") or points.get("error") is None:
        return 0, []
    cells: dict[tuple[str, str], int] = {}
    wrong = 0
    for c, e, t, p in zip(points["cluster"], points["error"], points["label"], points["prediction"]):
        if c == cluster_id and e:
            wrong += 1
            cells[(t, p)] = cells.get((t, p), 0) + 1
    ordered = sorted(cells.items(), key=lambda kv: (-kv[1], kv[0]))
    return wrong, [{"true": t, "predicted": p, "n": n} for (t, p), n in ordered]


def _cluster_findings(results, settings) -> Iterator[dict[str, Any]]:
    for item in (results.get("clusters") or {}).get("items", []):
        if not _passes("cluster", item, settings):
            continue
        ratio = item["error_ratio"]
        wrong, cells = _cluster_errors(results, item["id"])
        attrs = ", ".join(item.get("over_represented") or []) or "no single attribute"
        top = cells[0] if cells else None
        most = ""
        if top is not None and 2 * top["n"] >= wrong:
            most = f"; most often {top['true']} → {top['predicted']} ({top['n']} of {wrong})"
        elif top is not None:
            most = f"; no single confusion holds half of them (largest: {top['true']} → {top['predicted']}, {top['n']})"
        overall = item["error_rate"] / ratio if ratio else None
        yield {
            "kind": "cluster",
            "severity": _rules.severity("cluster", ratio, settings),
            "title": f'A region of the embedding space ("{item["name"]}") has {ratio:.1f}× the error rate',
            "summary": (
                f"Cluster {item['id']} ({item['size']} images; over-represented: {attrs}) is misclassified "
                f"{100 * item['error_rate']:.1f}% of the time ({wrong} of {item['size']}), {ratio:.1f}× the overall "
                f"error rate (q = {_fmt_q(item['q_value'])}){most}."
            ),
            "attribute": None, "groups": item.get("over_represented") or [], "direction": "higher error",
            "evidence": _evidence("cluster error rate", item, "error_rate", n=item["size"],
                                  n_misclassified=wrong, errors=cells),
            "outcome": {"text": f"{wrong} of {item['size']} faces in this region are misclassified "
                                f"({_pct(item['error_rate'])}"
                                + (f" vs {_pct(overall)} overall" if overall is not None else "") + f"){most}",
                        "misclassified": wrong, "size": item["size"], "error_rate": item["error_rate"],
                        "overall_error_rate": overall},
            "_example": ("cluster", item["id"]),
            "_records": [item],
        }


def _reasoning_findings(results, settings) -> Iterator[dict[str, Any]]:
    from .reasoning._findings import reasoning_findings

    return reasoning_findings(results, settings)


FINDERS = (_counterfactual_findings, _disparity_findings, _text_findings, _association_findings,
           _skew_findings, _cluster_findings, _reasoning_findings)


def _explain_the_rest(results: dict[str, Any], settings: dict[str, Any], findings: list[dict[str, Any]]) -> None:
    """Give every significant record that is not a finding its ``not_flagged`` reason, in place."""
    covered: dict[int, dict[str, Any]] = {}
    for finding in findings:
        lead, *rest = finding["_records"]
        lead["finding_id"] = finding["id"]
        for record in rest:
            covered[id(record)] = finding
    q_max = settings["q_max"]
    for kind, record in probe_records(results):
        record.pop("not_flagged", None)
        if "finding_id" in record or record.get("q_value") is None or not record["q_value"] < q_max:
            continue
        if id(record) in covered:
            record["not_flagged"] = (f"covered by {covered[id(record)]['id']}, which reports the largest effect "
                                     "of the same comparison")
        else:
            record["not_flagged"] = _rules.not_flagged_reason(kind, record, settings)


def rank_findings(results: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """All flagged results as findings, most severe first, numbered F1, F2, ...

    Side effect: the record behind each finding gets ``finding_id``; every other record with
    q < q_max gets ``not_flagged`` (why it is not a finding). Findings keep the private key
    ``_example`` (for :func:`attach_examples`) and ``_record`` (the deciding record, for the causes).
    """
    findings = [f for finder in FINDERS for f in finder(results, settings)]
    findings.sort(key=lambda f: (-f["severity"], f["evidence"]["q_value"], f["title"]))
    for rank, finding in enumerate(findings, start=1):
        probe = _rules.PROBES[finding["kind"]]
        finding["id"] = f"F{rank}"
        finding["rank"] = rank
        finding["category"] = probe.category
        finding["probe"] = probe.name
        finding["examples"] = []
        finding["review"] = {"status": "unreviewed", "note": ""}
    _explain_the_rest(results, settings, findings)
    for finding in findings:
        finding["_record"] = finding.pop("_records")[0]
    return findings


def public(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding without the private keys of the findings step."""
    return {k: v for k, v in finding.items() if k not in PRIVATE_KEYS}
