"""Chart plumbing: percent axes zoomed with readable ticks, distinct colours, the figure element."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.report._charts import Chart, distinct_colours, figure, percent_axis, render
from tinyemo_audit.report._html import Safe


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1))
def test_percent_axis_holds_the_data_and_its_ticks_differ(a, b):
    low, high = min(a, b), max(a, b)
    axis = percent_axis(low, high)
    lo, hi = axis["range"]
    assert lo <= low and hi >= high and lo >= 0 and hi <= 1.01
    decimals = int(re.fullmatch(r"\.(\d)~?%", axis["tickformat"]).group(1))
    step = (hi - lo) * 100 / 5
    assert step >= 10 ** -decimals - 1e-12  # one tick step is at least one shown digit: no "1%, 1%, 1%"


def test_gaps_at_the_top_of_the_scale_are_zoomed():
    axis = percent_axis(0.96, 1.0)
    assert axis["range"][0] > 0.9 and axis["tickformat"] == ".1~%"
    assert percent_axis(0.0, 0.018)["tickformat"] == ".1~%" and percent_axis(0.2, 0.9)["tickformat"] == ".0%"


def test_distinct_colours_stay_distinct():
    for n in (1, 10, 13, 40):
        colours = distinct_colours(n)
        assert len(colours) == len(set(colours)) == n


def test_figures_never_fix_a_width():
    fig = figure([], {"xaxis": {"title": {"text": "x"}}}, height=300)
    assert "width" not in fig["layout"] and fig["layout"]["autosize"] is True


def test_a_chart_is_a_figure_with_caption_label_spec_and_data_table():
    html = str(render(Chart(figure([], {}, height=300), 'Accuracy by <b>group</b>', Safe("<table></table>")), "chart-7"))
    assert html.startswith('<figure class="chart"><figcaption>Accuracy by &lt;b&gt;group&lt;/b&gt;</figcaption>')
    assert 'id="chart-7" class="plot plotly-graph-div " role="img" aria-label="Accuracy by &lt;b&gt;group&lt;/b&gt;"' in html
    assert '<script type="application/json" class="chart-spec" data-chart="chart-7">' in html
    assert '<details class="data-table"><summary>Data table</summary><table></table></details>' in html
