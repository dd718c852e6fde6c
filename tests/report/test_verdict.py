"""The verdict: one h1, counts per category, outcomes, how sure, next steps; each status its own look."""

from __future__ import annotations

import pytest
from report_fixture import legacy_results, make_results

from tinyemo_audit.report import render_report
from tinyemo_audit.report._rules import Rules
from tinyemo_audit.report._sections import Context
from tinyemo_audit.report._text import STATUS_NOTES, STATUS_WORDS
from tinyemo_audit.report._verdict import header, rules


def _header(results) -> str:
    return str(header(Context(results=results, thumbnails={}, rules=Rules.from_results(results))))


def test_verdict_says_what_how_sure_how_big_and_what_next():
    html = _header(make_results())
    assert html.count("<h1>") == 1 and render_report(make_results()).count("<h1") == 1
    assert '<a href="#decision">2 decision biases</a><a href="#metric-space">2 metric-space properties</a>' in html
    assert "2 of 59 twin pairs change prediction; P(angry) +11.8 points" in html
    assert "seen by 3 probes; strongest q = 2.1e-04" in html
    assert "<h2>Next steps</h2><ol><li>Relabel the affected cell" in html
    assert "<h2>Not tested</h2><ul><li><b>age: counterfactual twins</b>: no twin sets for age" in html


@pytest.mark.parametrize("status", ["untested", "metric-space-only", "no-flag", "gate-failed"])
def test_each_status_has_its_own_look_and_wording(status):
    results = make_results()
    results["verdict"]["status"] = status
    html = _header(results)
    assert f'class="verdict status-{status}"' in html
    assert STATUS_WORDS[status] in html.replace("&#x27;", "'")
    if status in STATUS_NOTES:
        assert STATUS_NOTES[status].replace("'", "&#x27;") in html
    if status == "untested":
        assert "not a clean bill of health" in html


def test_schema_1_0_counts_findings_by_their_kind():
    html = _header(legacy_results())
    assert "3 decision biases (findings)" in html and "3 metric-space properties (findings)" in html
    assert "one finding; strongest q" in html


def test_rules_section_is_linked_from_the_verdict():
    results = make_results()
    assert 'href="#rules"' in _header(results)
    assert 'id="rules"' in str(rules(Context(results=results, thumbnails={}, rules=Rules.from_results(results))))
