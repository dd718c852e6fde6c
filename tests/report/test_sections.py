"""Group metrics, confusion, counterfactual twins and the map section (issue 12's twin-table bugs pinned)."""

from __future__ import annotations

import re
from html import escape as html_escape

from report_fixture import HOSTILE_VALUE, make_results

from tinyemo_audit.report._rules import Rules
from tinyemo_audit.report._sections import Context, counterfactual, embedding, over_represented


def _ctx(results=None) -> Context:
    results = results or make_results()
    return Context(results=results, thumbnails={}, rules=Rules.from_results(results))


def test_pooled_flip_rate_without_a_test_has_no_dangling_q():
    html = str(counterfactual(_ctx()))
    assert "q —" not in html and ", q " not in html
    results = make_results()
    results["counterfactual"]["gender"]["flip_rate"].update(p_value=1e-4, q_value=3e-4)
    html = str(counterfactual(_ctx(results)))
    assert re.search(r"Pooled flip rate <b>.*?</b>, q <span class=\"sig\">3.0e-04", html)


def test_kl_tables_promise_no_interval_they_do_not_have():
    html = str(counterfactual(_ctx()))
    assert "[95 % CI]</th>" not in html.split("KL(reference")[1].split("</tr>")[0]
    assert "No confidence interval was computed for it." in html
    results = make_results()
    results["counterfactual"]["gender"]["kl"]["feminine"].update(ci_low=0.001, ci_high=0.02)
    html = str(counterfactual(_ctx(results)))
    assert "KL(reference ‖ value) [95 % CI]" in html


def test_twin_tables_lead_with_cells_over_the_bar_and_say_why_significant_ones_are_not_findings():
    html = str(counterfactual(_ctx()))
    lead = html[html.index("cells that move a probability"):]
    lead = lead[:lead.index("</table>")]
    assert "The 1 of " in html and "+12.3 points" in lead and lead.count("<tr") == 2  # header + the planted cell
    assert "not a finding: effect below the 3-point bar" in html  # the record's own reason
    assert "not a finding: effect under the 3 points bar" in html  # the rule, when the record gives none
    assert "+0.0 pp" not in html and "<summary>Data table</summary>" in html


def test_cluster_chips_read_as_composition_not_comparison():
    assert over_represented(["gender=masculine", "skin_group=light"]) == "gender masculine, skin group light"
    html = str(embedding(_ctx()))
    assert html_escape(f"skin group {HOSTILE_VALUE}") in html
    assert " vs " not in html.split("Clusters (")[1]
