"""Group-metric, confusion and composition charts: zoomed axes with the reference marked, numbers in cells."""

from __future__ import annotations

from report_fixture import REFERENCE, make_results

from tinyemo_audit.report import _figures


def _groups(attr="skin_group"):
    return make_results()["performance"]["by_attribute"][attr]["groups"]


def test_accuracy_axis_is_zoomed_and_overall_accuracy_marked():
    results = make_results()
    chart = _figures.group_accuracy("skin_group", _groups(), overall=results["performance"]["overall"]["accuracy"],
                                    reference=REFERENCE["skin_group"], min_group_size=30)
    layout = chart.spec["layout"]
    low, high = layout["yaxis"]["range"]
    assert low > 0.5 and high < 1.02  # zoomed to the data, not 0–100 %
    assert layout["shapes"][0]["line"]["dash"] == "dash" and "all images 76.2 %" in layout["annotations"][0]["text"]
    assert "light (ref.)" in layout["xaxis"]["ticktext"]
    assert layout["yaxis"]["title"]["text"] == "accuracy" and layout["xaxis"]["title"]["text"] == "skin_group"
    assert chart.summary.startswith("Accuracy by skin_group: light") and "Lowest:" in chart.summary
    assert "<td>light (reference)</td>" in chart.table


def test_rate_charts_have_axis_titles_and_fitting_ticks():
    for metric in ("tpr", "fpr"):
        chart = _figures.class_rates("gender", _groups("gender"), make_results()["run"]["classes"], metric,
                                     reference="masculine", min_group_size=30)
        layout = chart.spec["layout"]
        assert layout["xaxis"]["title"]["text"] == "emotion" and layout["yaxis"]["title"]["text"] in ("TPR", "FPR")
        assert layout["yaxis"]["tickformat"] in (".0%", ".1~%", ".2~%")
        assert any("(reference)" in t["name"] for t in chart.spec["data"])
        assert "width" not in layout


def test_confusion_cells_carry_counts():
    results = make_results()
    matrix = results["performance"]["overall"]["confusion"]
    chart = _figures.confusion("all images", matrix, results["run"]["classes"])
    trace = chart.spec["data"][0]
    assert trace["texttemplate"] == "%{text}" and trace["text"][0][0] == f"{matrix[0][0]:,}"
    assert (trace["zmin"], trace["zmax"]) == (0, 1)  # one scale for every confusion matrix
    assert chart.spec["layout"]["xaxis"]["title"]["text"] == "predicted"
    assert chart.spec["layout"]["yaxis"]["title"]["text"] == "true"


def test_composition_counts_are_labelled():
    chart = _figures.composition("age", make_results()["dataset_bias"]["representation"]["age"])
    assert chart.spec["data"][0]["text"] == ["24", "2,300", "1,176"] and "Images per age" in chart.summary
