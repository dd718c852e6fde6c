"""Findings by cause: cards, groups, evidence per probe, next steps, gate, reviewer controls; 1.0 fallback."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from report_fixture import legacy_results, make_results

from tinyemo_audit.report._causes import cards, findings
from tinyemo_audit.report._rules import Rules
from tinyemo_audit.report._sections import Context


def _html(results) -> str:
    return str(findings(Context(results=results, thumbnails={}, rules=Rules.from_results(results))))


def test_one_card_per_cause_with_its_probes_in_two_groups():
    results = make_results()
    got = [(c.id, c.kind, c.category, [f["id"] for f in c.findings]) for c in cards(results)]
    assert got == [("C1", "cause", "decision", ["F1", "F3", "F4"]), ("C2", "cause", "decision", ["F2"]),
                   ("C3", "cause", "metric_space", ["F5"]), ("C4", "cause", "metric_space", ["F6"])]
    html = _html(results)
    decision, metric = html.index('id="decision"'), html.index('id="metric-space"')
    assert decision < html.index('id="cause-C1"') < html.index('id="cause-C2"') < metric < html.index('id="cause-C3"')
    assert re.search(r'<h3>Decision biases</h3><span class="count">2</span>', html)


def test_a_finding_no_cause_claims_still_gets_a_card():
    results = make_results()
    results["causes"][0]["finding_ids"] = ["F1", "F3"]
    assert [c.id for c in cards(results)][-1] == "F4"


def test_schema_1_0_gets_one_card_per_finding():
    html = _html(legacy_results())
    assert len(re.findall(r'<article class="cause', html)) == 6
    assert "not grouped by cause: one card per finding" in html
    assert 'data-review-kind="finding"' in html and 'value="confirmed" checked' in html  # F2's saved review


def test_card_parts():
    html = _html(make_results())
    c1 = html[html.index('id="cause-C1"'):html.index('id="cause-C2"')]
    assert "Supported by 3 probes" in c1 and c1.count("<li id=\"finding-") == 3
    assert '<span class="chip cat-decision">decision bias</span>' in c1
    assert '<a class="chip sev" href="#rules"' in c1
    assert "What it changes" in c1 and "<p><b>Next steps</b></p><ol class=\"next-steps\">" in c1
    assert "<li>Retrain the projector (<code>tinyemo-audit train</code>), then re-audit &lt;script&gt;" in c1
    assert "on <code>counterfactual.skin_group.shifts</code> in <code>configs/gates/strict.yaml</code>" in c1
    for value in ("unreviewed", "confirmed", "rejected"):
        assert f'name="review-C1" value="{value}"' in c1
    f3 = c1[c1.index('id="finding-F3"'):]
    assert "misclassified <b>9 of 171</b>" in f3


def test_gate_that_ran_is_linked_in_the_page():
    results = make_results()
    results["causes"][0]["gate"]["name"] = "max accuracy gap"
    html = _html(results)
    assert 'Gate that would catch it: <a href="#gate-1">max accuracy gap</a>' in html
    assert "add it to CI" not in html.split('id="cause-C2"')[0]


HOSTILE_PIECES = ["<script>", "</article>", "<img src=x onerror=alert(1)>", '"', "'", "&amp;", "`", "**", "\u202e",
                  "\x1b[31m", "javascript:", "a", " "]
ALLOWED_TAGS = {"section", "h2", "h3", "h4", "p", "div", "span", "article", "a", "ul", "ol", "li", "b", "code", "strong",
                "em", "br", "fieldset", "legend", "label", "input", "textarea", "button", "figure", "figcaption", "img"}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=8).map("".join))
def test_any_cause_text_is_shown_as_text(text):
    from html.parser import HTMLParser

    from tinyemo_audit.report import render_report

    results = make_results()
    cause = results["causes"][0]
    cause.update(title=text, summary=text, direction=text, outcome={"text": text}, next_steps=[text],
                 gate={"name": text, "metric": text, "file": text})
    results["findings"][0]["probe"] = text
    page = render_report(results)

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.bad = []

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "html", "head", "body", "meta", "title", "nav", "main", "footer", "details",
                       "summary", "table", "thead", "tbody", "tr", "th", "td", "caption", "dl", "dt", "dd", "select",
                       "option", "h1"):
                return
            if tag not in ALLOWED_TAGS or any(k.startswith("on") for k, _ in attrs):
                self.bad.append(tag)
            if tag == "a" and not dict(attrs).get("href", "#").startswith("#"):
                self.bad.append("a-href")

    parser = Tags()
    parser.feed(page.split('<section id="findings">')[1].split("</section>")[0])
    assert parser.bad == []
    assert "\u202e" not in page and "\x1b" not in page
