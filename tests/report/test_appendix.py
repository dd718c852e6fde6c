"""Probe tables, dataset composition, gates and methods (with the rendering bugs of issue 12, each pinned)."""

from __future__ import annotations

import re

from report_fixture import HOSTILE, make_results

from tinyemo_audit.report import render_report
from tinyemo_audit.report._appendix import dataset, methods, probes
from tinyemo_audit.report._rules import Rules
from tinyemo_audit.report._sections import Context


def _ctx(results=None) -> Context:
    results = results or make_results()
    return Context(results=results, thumbnails={}, rules=Rules.from_results(results))


def test_simpson_column_reads_simpson_reciprocal():
    html = str(dataset(_ctx()))
    row = re.search(r"<td>skin_group</td><td class=\"num\">3</td><td class=\"num\">2.99</td><td class=\"num\">(.*?)</td>",
                    html)
    assert row and row.group(1) == "2.98"


def test_methods_statement_is_printed_once():
    results = make_results()
    results["methods"]["bias_framework"] = "The framework is tinyemo-audit's own design."
    html = str(methods(_ctx(results)))
    assert html.count("own design") == 1
    del results["methods"]["bias_framework"]
    assert str(methods(_ctx(results))).count("own design") == 1  # the fixed statement stands in


def test_model_card_is_rendered_markdown_not_a_clipped_box():
    html = str(methods(_ctx()))
    card = html[html.index('<div class="model-card">'):]
    assert card.startswith('<div class="model-card"><h4>Model card</h4><p>Trained with two <strong>planted</strong>')
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;i&gt;x&lt;/i&gt;" in card
    assert "<pre" not in card.split("</div>")[0] and "max-height" not in card


def test_probe_tables_lead_with_rows_over_the_bar_and_keep_every_row_behind_a_disclosure():
    html = str(probes(_ctx()))
    text_probes = html[html.index("Text probes"):html.index("Associations")]
    assert "No shift reaches the 0.02 cosine bar (14 tested)." in text_probes
    assert "<summary>All 14 shifts</summary>" in text_probes
    assoc = html[html.index("Associations"):html.index("Retrieval skew")]
    assert "The 0 of" not in assoc and "No association reaches the d = 0.5 bar (2 tested)." in assoc
    skew = html[html.index("Retrieval skew"):]
    assert re.search(r"The \d+ of 21 label–attribute pairs at or over the 0.4 bar", skew) or "No label" in skew


def test_no_red_zero_effects():
    page = render_report(make_results())
    assert 'class="sig">' in page
    for cell in re.findall(r"<td class=\"num\">([^<]*)</td><td class=\"num\"><span class=\"sig\">", page):
        assert cell not in ("+0.0 pp", "-0.0 pp")
    assert "+0.0 pp" not in page and "-0.0 pp" not in page and "+0.0 points" not in page
    assert HOSTILE not in page  # (escaped everywhere)
