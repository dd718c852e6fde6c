"""The trade-off of mitigation methods: accuracy against each tracked bias, per method, from the audits' own numbers.

Rows are plain data (``tradeoff.json`` / ``mitigation.json``); the page renders them with the
report's building blocks and its vendored plotly bundle (offline). A bias is a counterfactual-twin
shift of the before-audit (attribute, changed group vs reference, true class, label pushed
toward): its size after a method is read from that method's after-audit, the same row, with the
audit's CI of the similarity shift and its P(label) shift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..report._assets import asset, plotly_js
from ..report._charts import CONFIG, Chart, figure, render
from ..report._format import dec, with_ci
from ..report._html import Safe, join, page, table, tag

BEFORE = "before (no mitigation)"


def bias_key(row: Mapping[str, Any], attribute: str) -> dict[str, Any]:
    """What identifies a twin shift across two audits."""
    return {"attribute": attribute, "value": row["value"], "reference": row["reference"],
            "true_class": row["true_class"], "label": row["label"]}


def _shift_rows(results: Mapping[str, Any]):
    for attribute, probe in (results.get("counterfactual") or {}).items():
        if isinstance(probe, Mapping):
            for row in probe.get("shifts") or []:
                yield attribute, row


def tracked_biases(before: Mapping[str, Any], attributes: list[str], targets: list[str]) -> list[dict[str, Any]]:
    """The biases to follow: the before-audit's flagged twin shifts; when it flagged none, for each
    attribute and target the twin shift toward the target with the largest similarity shift."""
    flagged = [bias_key(row, a) | {"finding_id": row["finding_id"]} for a, row in _shift_rows(before)
               if row.get("finding_id")]
    if flagged:
        return flagged
    best: dict[tuple[str, str], tuple[float, dict]] = {}
    for attribute, row in _shift_rows(before):
        if attribute in attributes and row["label"] in targets and isinstance(row.get("mean_shift"), (int, float)):
            key = (attribute, row["label"])
            if key not in best or row["mean_shift"] > best[key][0]:
                best[key] = (row["mean_shift"], bias_key(row, attribute))
    return [entry for _, entry in best.values()]


def bias_size(results: Mapping[str, Any], key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tracked twin shift in ``results``: similarity shift with CI, P(label) shift, q-value, flagged or not."""
    for attribute, row in _shift_rows(results):
        if bias_key(row, attribute) == {k: key[k] for k in ("attribute", "value", "reference", "true_class", "label")}:
            return {"prob_shift": row.get("prob_shift"), "mean_shift": row.get("mean_shift"),
                    "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"), "q_value": row.get("q_value"),
                    "flagged": bool(row.get("finding_id")), "n": row.get("n")}
    return None


def bias_name(key: Mapping[str, Any]) -> str:
    return (f"{key['attribute']}: {key['value']} vs {key['reference']}, "
            f"{key['true_class'] if key['true_class'] != '*' else 'all'} faces → {key['label']}")


def accuracy(results: Mapping[str, Any]) -> dict[str, Any] | None:
    value = ((results.get("performance") or {}).get("overall") or {}).get("accuracy")
    return dict(value) if isinstance(value, Mapping) else None


def tradeoff_row(method: str, results: Mapping[str, Any], biases: list[dict[str, Any]],
                 before: Mapping[str, Any] | None = None, comparison: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One method's accuracy, bias sizes (with the cut against ``before``) and new findings."""
    sizes = []
    for key in biases:
        size = bias_size(results, key)
        base = bias_size(before, key) if before is not None else None
        cut = None
        if size and base and isinstance(base.get("prob_shift"), (int, float)) and base["prob_shift"] > 0 \
                and isinstance(size.get("prob_shift"), (int, float)):
            cut = 1.0 - size["prob_shift"] / base["prob_shift"]
        sizes.append({"bias": dict(key), "name": bias_name(key), **(size or {}), "cut": cut})
    row: dict[str, Any] = {"method": method, "accuracy": accuracy(results), "biases": sizes,
                           "findings_count": results.get("findings_count")}
    if comparison is not None:
        row["new_findings"] = [{"id": (f["new"] or {}).get("id"), "title": f.get("title"), "change": f.get("change")}
                               for f in comparison["findings"] if f["status"] == "new"]
        # Flagged after, not before, with a change the paired test cannot tell from none (docs/compare.md).
        row["crossed_findings"] = [{"id": (f["new"] or {}).get("id"), "title": f.get("title"), "change": f.get("change")}
                                   for f in comparison["findings"] if f["status"] == "crossed"]
        row["gone_findings"] = sum(1 for f in comparison["findings"] if f["status"] == "gone")
    before_acc = accuracy(before) if before is not None else None
    if before_acc and row["accuracy"]:
        row["accuracy_change"] = row["accuracy"]["value"] - before_acc["value"]
    return row


def _pct(x: Any, digits: int = 1) -> str:
    return "—" if not isinstance(x, (int, float)) else f"{100 * x:.{digits}f}"


def _accuracy(x: Any) -> str:
    return dec(x, 4)


def _titles(findings: list[Mapping[str, Any]] | None) -> str:
    return "—" if findings is None else (", ".join(f["title"] for f in findings) or "none")


def _table(rows: list[Mapping[str, Any]]) -> Safe:
    names = [b["name"] for b in rows[0]["biases"]] if rows else []
    head = ["method", "accuracy [95% CI]", "Δ accuracy (points)"]
    for name in names:
        head += [f"{name}: P shift (points)", "cut", "similarity shift [95% CI]", "flagged"]
    head += ["findings", "new findings", "over the bar, change not significant"]
    body = []
    for row in rows:
        cells = [row["method"], with_ci(row.get("accuracy"), _accuracy), _pct(row.get("accuracy_change"), 2)]
        for b in row["biases"]:
            similarity = {"value": b.get("mean_shift"), "ci_low": b.get("ci_low"), "ci_high": b.get("ci_high")}
            cells += [_pct(b.get("prob_shift")), "—" if b.get("cut") is None else f"{100 * b['cut']:.0f} %",
                      with_ci(similarity, dec), "yes" if b.get("flagged") else "no"]
        new, crossed = row.get("new_findings"), row.get("crossed_findings")
        cells += [row.get("findings_count"), _titles(new), _titles(crossed)]
        body.append(cells)
    return table(head, body)


def _chart(rows: list[Mapping[str, Any]], index: int) -> Chart:
    """Accuracy (x) against one bias's similarity shift (y), one point per method, both with their CIs."""
    data = []
    for row in rows:
        acc, bias = row.get("accuracy") or {}, row["biases"][index]
        if not isinstance(acc.get("value"), (int, float)) or not isinstance(bias.get("mean_shift"), (int, float)):
            continue
        data.append({
            "type": "scatter", "mode": "markers", "name": row["method"], "x": [acc["value"]], "y": [bias["mean_shift"]],
            "error_x": {"type": "data", "symmetric": False, "array": [acc["ci_high"] - acc["value"]],
                        "arrayminus": [acc["value"] - acc["ci_low"]]},
            "error_y": {"type": "data", "symmetric": False, "array": [(bias.get("ci_high") or bias["mean_shift"]) - bias["mean_shift"]],
                        "arrayminus": [bias["mean_shift"] - (bias.get("ci_low") or bias["mean_shift"])]},
            "marker": {"size": 11},
            "hovertemplate": (f"{row['method']}<br>accuracy %{{x:.4f}}<br>similarity shift %{{y:.3f}}"
                              f"<br>P shift {_pct(bias.get('prob_shift'))} points<extra></extra>"),
        })
    name = rows[0]["biases"][index]["name"] if rows else ""
    spec = figure(data, {"xaxis": {"title": {"text": "test accuracy (95% CI)"}},
                         "yaxis": {"title": {"text": "similarity shift (95% CI)"}, "zeroline": True},
                         "showlegend": True}, height=360)
    summary = f"Accuracy against the bias {name}, one point per method, with 95% confidence intervals."
    return Chart(spec=spec, summary=summary, table=_table(rows))


def render_tradeoff(rows: list[Mapping[str, Any]], *, model: str, dataset: str) -> str:
    """The trade-off page: a table of every method and one chart per tracked bias (self-contained, offline)."""
    n_bias = len(rows[0]["biases"]) if rows else 0
    charts = [render(_chart(rows, i), f"tradeoff-{i}") for i in range(n_bias)]
    body = join([
        tag("section", join([
            tag("h1", f"Mitigation trade-off: {model} on {dataset}"),
            tag("p", "Each method's after-audit ran through the same audit code as the before-audit. A bias is a "
                     "counterfactual-twin shift of the before-audit; its size is the mean P(label) shift of the twin "
                     "pairs (points) and the similarity shift with its bootstrap 95% CI; cut = 1 − after / before "
                     "of the P shift. New findings are those of the after-audit the before-audit did not have."),
            _table(rows)]), id="table"),
        tag("section", join([tag("h2", "Accuracy against each bias"), *charts]), id="charts"),
    ])
    return page(title=f"tinyemo-audit mitigation trade-off: {model}", toc=[("table", "Table"), ("charts", "Charts")],
                body=str(body), scripts=([plotly_js()] if charts else []) + [asset("report.js")],
                css=asset("report.css"), run_meta={"mitigation": True}, chart_config=CONFIG if charts else None)
