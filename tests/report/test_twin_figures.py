"""Twin charts: one colour scale per family, numbers in cells, ★ only where significant and over the bar."""

from __future__ import annotations

from report_fixture import HOSTILE_CLASS, HOSTILE_VALUE, make_results

from tinyemo_audit.report import _twin_figures
from tinyemo_audit.report._html import Safe
from tinyemo_audit.report._rules import Rules


def _charts():
    results = make_results()
    blocks = list(results["counterfactual"].values())
    zmax = _twin_figures.shift_range(blocks)
    rules = Rules.from_results(results)
    charts = []
    for attr, block in results["counterfactual"].items():
        for value in block["values"]:
            if value == block["reference"]:
                continue
            rows = [s for s in block["shifts"] if s["value"] == value]
            charts.append(_twin_figures.shift_heatmap(attr, value, block["reference"], results["run"]["classes"], rows,
                                                      rules=rules, zmax=zmax, data_table=Safe("")))
    return charts, zmax


def test_every_shift_heatmap_shares_one_symmetric_scale():
    charts, zmax = _charts()
    ranges = {(c.spec["data"][0]["zmin"], c.spec["data"][0]["zmax"]) for c in charts}
    assert ranges == {(-zmax * 100, zmax * 100)} and len(charts) == 3


def test_cells_show_points_and_mark_only_flaggable_effects():
    charts, _ = _charts()
    dark = next(c for c in charts if HOSTILE_VALUE in c.summary)
    trace = dark.spec["data"][0]
    y = list(trace["y"])
    assert y[0] == "all classes"
    text = trace["text"]
    neutral_row = text[y.index(_twin_figures.ptext(HOSTILE_CLASS))]
    assert neutral_row[0] == "+12.3★"  # the planted shift toward angry: significant and over the 3-point bar
    stars = sum(cell.endswith("★") for row in text for cell in row)
    assert stars == 1  # the significant +0.0 cells are not starred
    assert dark.spec["layout"]["xaxis"]["title"]["text"].startswith("toward label")
    assert dark.spec["layout"]["yaxis"]["title"]["text"] == "true class"


def test_flip_matrices_share_one_scale_and_have_axis_titles():
    results = make_results()
    blocks = list(results["counterfactual"].values())
    zmax = _twin_figures.flip_range(blocks)
    for attr, block in results["counterfactual"].items():
        chart = _twin_figures.flip_matrix(attr, block["values"], block["pairs"], zmax=zmax)
        trace, layout = chart.spec["data"][0], chart.spec["layout"]
        assert (trace["zmin"], trace["zmax"]) == (0, zmax) and trace["texttemplate"] == "%{text}"
        assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
        assert "width" not in layout
