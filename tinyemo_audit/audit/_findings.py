"""Turns every tested result into q-values (one BH over the audit) and ranked plain-language findings.

The tool proposes, a person confirms: every finding carries a review status that starts as
``unreviewed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..metrics import benjamini_hochberg

# How much each kind of evidence weighs in the ranking: counterfactual twins are causal evidence
# (only the attribute changed); observational disparities come next; space-level probes after.
KIND_WEIGHT = {"counterfactual": 1.0, "disparity": 0.95, "association": 0.8, "skew": 0.7,
               "text_probe": 0.7, "cluster": 0.6}
ATTRIBUTE_NAMES = {"skin_group": "skin tone", "skin_tone": "skin tone", "gender": "gender presentation",
                   "age": "age group"}
VALUE_PHRASES = {("skin_group", "dark"): "Darker skin", ("skin_group", "medium"): "Medium skin tone",
                 ("skin_group", "light"): "Lighter skin", ("gender", "feminine"): "A feminine presentation",
                 ("gender", "masculine"): "A masculine presentation", ("age", "older"): "Older age",
                 ("age", "child"): "A child's face", ("age", "adult"): "Adult age"}
METRIC_NAMES = {"accuracy": "accuracy", "tpr": "recall (TPR)", "fpr": "false-positive rate",
                "selection_rate": "prediction rate"}


def attribute_name(attr: str) -> str:
    return ATTRIBUTE_NAMES.get(attr, attr.replace("_", " "))


def value_phrase(attr: str, value: str) -> str:
    return VALUE_PHRASES.get((attr, value), f"{attribute_name(attr).capitalize()} = {value}")


def _tested(results: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every record of the audit that carries a p_value (in a fixed order)."""
    for attr_entry in (results.get("disparities") or {}).values():
        if "accuracy_difference" in attr_entry:
            yield attr_entry["accuracy_difference"]
        for key in ("tpr_difference", "fpr_difference", "selection_rate_difference"):
            yield from attr_entry.get(key, {}).values()
    for entry in (results.get("counterfactual") or {}).values():
        yield from entry["shifts"]
    for entry in (results.get("text_probes") or {}).get("by_attribute", {}).values():
        yield from entry["shifts"]
    yield from results.get("association") or []
    for per_attr in (results.get("skew") or {}).get("by_label", {}).values():
        yield from per_attr.values()
    yield from (results.get("clusters") or {}).get("items", [])


def apply_fdr(results: dict[str, Any], q: float) -> int:
    """Benjamini–Hochberg over every p-value of the audit; writes ``q_value`` into each record."""
    records = [r for r in _tested(results) if r.get("p_value") is not None and np.isfinite(r["p_value"])]
    if not records:
        return 0
    _, q_values = benjamini_hochberg(np.array([r["p_value"] for r in records]), q=q)
    for record, value in zip(records, q_values):
        record["q_value"] = float(value)
    return len(records)


def _severity(kind: str, effect: float, threshold: float) -> float:
    ratio = abs(effect) / threshold if threshold > 0 else abs(effect)
    return round(KIND_WEIGHT[kind] * ratio / (1.0 + ratio), 4)


def _significant(record: dict[str, Any], q_max: float) -> bool:
    q = record.get("q_value")
    return q is not None and q < q_max and record.get("flaggable", True)


def _evidence(statistic: str, rec: dict[str, Any], value_key: str = "value", *, n=None, **extra) -> dict[str, Any]:
    """The evidence block of a finding: the statistic, its value, CI, q-value and n."""
    return {"statistic": statistic, "value": rec[value_key], "ci_low": rec.get("ci_low"),
            "ci_high": rec.get("ci_high"), "q_value": rec["q_value"], "n": rec.get("n") if n is None else n, **extra}


def _fmt_q(q: float) -> str:
    return f"{q:.1e}" if q < 0.001 else f"{q:.3f}"


def _counterfactual_findings(results, settings) -> Iterator[dict[str, Any]]:
    threshold = settings["min_effect"]["prob_shift"]
    for attr, entry in (results.get("counterfactual") or {}).items():
        best: dict[tuple, dict] = {}
        for row in entry["shifts"]:
            toward_other = row["label"] != row["true_class"]
            if not toward_other or row["mean_shift"] <= 0 or row["prob_shift"] < threshold:
                continue
            if not _significant(row, settings["q_max"]):
                continue
            key = (row["value"], row["true_class"])
            if key not in best or row["prob_shift"] > best[key]["prob_shift"]:
                best[key] = row
        for row in best.values():
            who = "faces" if row["true_class"] == "*" else f"{row['true_class']} faces"
            yield {
                "kind": "counterfactual",
                "severity": _severity("counterfactual", row["prob_shift"], threshold),
                "title": f'{value_phrase(attr, row["value"])} pushes {who} toward "{row["label"]}"',
                "summary": (
                    f"Changing only {attribute_name(attr)} from {row['reference']} to {row['value']} — same face, "
                    f"same expression — raises the probability of \"{row['label']}\" for {who} by "
                    f"{100 * row['prob_shift']:.1f} points on average (cosine similarity "
                    f"{row['mean_shift']:+.3f}, 95% CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}; "
                    f"q = {_fmt_q(row['q_value'])}; {row['n']} twin pairs)."
                ),
                "attribute": attr, "groups": [row["reference"], row["value"]],
                "direction": f"toward {row['label']}",
                "evidence": _evidence("mean similarity shift (twin pairs)", row, "mean_shift",
                                      prob_shift=row["prob_shift"]),
                "_example": ("twins", attr, row["value"], row["reference"], row["true_class"], row["label"]),
            }


def _disparity_findings(results, settings) -> Iterator[dict[str, Any]]:
    threshold = settings["min_effect"]["disparity"]
    for attr, entry in (results.get("disparities") or {}).items():
        candidates = [("accuracy", None, entry["accuracy_difference"])] if "accuracy_difference" in entry else []
        for metric in ("tpr", "fpr", "selection_rate"):
            candidates += [(metric, cls, rec) for cls, rec in entry.get(f"{metric}_difference", {}).items()]
        for metric, cls, rec in candidates:
            if rec["value"] is None or rec["value"] < threshold or not _significant(rec, settings["q_max"]):
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
                "severity": _severity("disparity", rec["value"], threshold),
                "title": title,
                "summary": (
                    f"{what.capitalize()} differs by {100 * rec['value']:.1f} points between {attribute_name(attr)} "
                    f"groups ({detail}); 95% CI {100 * rec['ci_low']:.1f} to {100 * rec['ci_high']:.1f} points, "
                    f"q = {_fmt_q(rec['q_value'])}."
                ),
                "attribute": attr, "groups": [best, worst], "direction": f"{metric} {'higher' if metric == 'fpr' else 'lower'} for {worst}",
                "evidence": _evidence(f"{metric} difference (max − min over groups)", rec),
                "_example": ("errors", attr, worst, cls, metric),
            }


def _text_findings(results, settings) -> Iterator[dict[str, Any]]:
    """One finding per (attribute value, label): the strongest prompt context, with the count of others."""
    threshold = settings["min_effect"]["text_shift"]
    for attr, entry in (results.get("text_probes") or {}).get("by_attribute", {}).items():
        groups: dict[tuple, list[dict]] = {}
        for row in entry["shifts"]:
            if row["mean_shift"] < threshold or not _significant(row, settings["q_max"]):
                continue
            if row["emotion"] != "*" and row["label"] == row["emotion"]:
                continue
            groups.setdefault((row["value"], row["label"]), []).append(row)
        for rows in groups.values():
            row = max(rows, key=lambda r: r["mean_shift"])
            context = "on its own" if row["emotion"] == "*" else f'in prompts about "{row["emotion"]}"'
            others = f" The shift is significant in {len(rows)} prompt contexts." if len(rows) > 1 else ""
            yield {
                "kind": "text_probe",
                "severity": _severity("text_probe", row["mean_shift"], threshold),
                "title": f'In the label space, "{row["value"]}" terms sit closer to "{row["label"]}" than "{row["reference"]}" terms',
                "summary": (
                    f"Swapping only the {attribute_name(attr)} term in a prompt ({context}) from {row['reference']} to "
                    f"{row['value']} moves it toward \"{row['label']}\" by {row['mean_shift']:+.3f} cosine (95% CI "
                    f"{row['ci_low']:+.3f} to {row['ci_high']:+.3f}; q = {_fmt_q(row['q_value'])}; {row['n']} prompt "
                    f"pairs).{others} This is a property of the LLM's embedding table, before any image is seen."
                ),
                "attribute": attr, "groups": [row["reference"], row["value"]], "direction": f"toward {row['label']}",
                "evidence": _evidence("mean similarity shift (prompt pairs)", row, "mean_shift"),
            }


def _association_findings(results, settings) -> Iterator[dict[str, Any]]:
    threshold = settings["min_effect"]["effect_size"]
    for row in results.get("association") or []:
        if abs(row["effect_size"]) < threshold or not _significant(row, settings["q_max"]):
            continue
        closer = row["a_set"] if row["effect_size"] > 0 else row["b_set"]
        yield {
            "kind": "association",
            "severity": _severity("association", row["effect_size"], threshold),
            "title": f"Images with {attribute_name(row['attribute'])} {row['x_group']} sit closer to {closer} emotions",
            "summary": (
                f"iEAT effect size d = {row['effect_size']:+.2f} for {row['x_group']} vs {row['y_group']} images and "
                f"the label sets {row['a_set']} ({', '.join(row['a_labels'])}) vs {row['b_set']} "
                f"({', '.join(row['b_labels'])}); q = {_fmt_q(row['q_value'])}, {row['n_x']} images a group."
            ),
            "attribute": row["attribute"], "groups": [row["y_group"], row["x_group"]], "direction": f"toward {closer}",
            "evidence": _evidence("iEAT effect size d", row, "effect_size", n=row["n_x"] + row["n_y"]),
        }


def _skew_findings(results, settings) -> Iterator[dict[str, Any]]:
    threshold = settings["min_effect"]["skew"]
    skew = results.get("skew") or {}
    for label, per_attr in skew.get("by_label", {}).items():
        for attr, rec in per_attr.items():
            if rec["max_skew"] < threshold or not _significant(rec, settings["q_max"]):
                continue
            share = rec["top_k_shares"].get(rec["group"], 0.0)
            yield {
                "kind": "skew",
                "severity": _severity("skew", rec["max_skew"], threshold),
                "title": f'The faces most like "{label}" are over-represented by {attribute_name(attr)} {rec["group"]}',
                "summary": (
                    f"Among the top {skew['k']} images ranked by similarity to \"{label}\", {100 * share:.0f}% have "
                    f"{attribute_name(attr)} {rec['group']} (MaxSkew@{skew['k']} = {rec['max_skew']:.2f}, i.e. "
                    f"{math.exp(rec['max_skew']):.1f}× their share; NDKL {rec['ndkl']:.3f}; q = {_fmt_q(rec['q_value'])})."
                ),
                "attribute": attr, "groups": [rec["group"]], "direction": f"over-represented near {label}",
                "evidence": _evidence(f"MaxSkew@{skew['k']}", rec, "max_skew", n=skew["k"]),
            }


def _cluster_findings(results, settings) -> Iterator[dict[str, Any]]:
    for item in (results.get("clusters") or {}).get("items", []):
        ratio = item.get("error_ratio")
        if ratio is None or ratio < 1.5 or not _significant(item, settings["q_max"]):
            continue
        attrs = ", ".join(item.get("over_represented") or []) or "no single attribute"
        yield {
            "kind": "cluster",
            "severity": _severity("cluster", ratio - 1.0, 0.5),
            "title": f'A region of the embedding space ("{item["name"]}") has {ratio:.1f}× the error rate',
            "summary": (
                f"Cluster {item['id']} ({item['size']} images; over-represented: {attrs}) is misclassified "
                f"{100 * item['error_rate']:.1f}% of the time, {ratio:.1f}× the overall error rate "
                f"(q = {_fmt_q(item['q_value'])})."
            ),
            "attribute": None, "groups": item.get("over_represented") or [], "direction": "higher error",
            "evidence": _evidence("cluster error rate", item, "error_rate", n=item["size"]),
            "_example": ("cluster", item["id"]),
        }


FINDERS = (_counterfactual_findings, _disparity_findings, _text_findings, _association_findings,
           _skew_findings, _cluster_findings)


def rank_findings(results: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """All flagged results as findings, most severe first, numbered F1, F2, ..."""
    findings = [f for finder in FINDERS for f in finder(results, settings)]
    findings.sort(key=lambda f: (-f["severity"], f["evidence"]["q_value"], f["title"]))
    for rank, finding in enumerate(findings, start=1):
        finding["id"] = f"F{rank}"
        finding["rank"] = rank
        finding["examples"] = []
        finding["review"] = {"status": "unreviewed", "note": ""}
    return findings
