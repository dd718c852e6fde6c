"""The report's reasoning parts (report/_reasoning.py): text pairs escaped, the section's table, and its skip line."""

from __future__ import annotations

import sys
from pathlib import Path

from report_fixture import make_results

from tinyemo_audit.report import render_report
from tinyemo_audit.report._reasoning import text_pairs
from tinyemo_audit.report._rules import Rules
from tinyemo_audit.report._sections import Context

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit" / "reasoning"))
from reasoning_audit_fixtures import fast_settings, planted_texts, word_reading  # noqa: E402

HOSTILE_TEXT = 'Calm. <script>alert(1)</script> \x1b[2J "quoted" & \u202e'


def _planted_results():
    from tinyemo_audit.audit import _findings
    from tinyemo_audit.audit._causes import group_causes
    from tinyemo_audit.audit._results_guard import visible_strings
    from tinyemo_audit.audit.reasoning import attach_reasoning_examples, reasoning_section

    tt = planted_texts(stated_flips=10, mention=8)
    tt.conditional[0, -1] = tt.conditional[0, -1] + HOSTILE_TEXT
    settings = fast_settings()
    results = make_results()
    results["reasoning"], evidence = reasoning_section({"skin_group": tt}, settings=settings,
                                                       references={"skin_group": "light"}, seed=0, reader=word_reading)
    _findings.apply_fdr(results, 0.05)
    findings = _findings.rank_findings(results, settings)
    results["causes"] = group_causes(findings, results, classes=results["run"]["classes"], dataset="faces")
    attach_reasoning_examples(findings, evidence)
    results["findings"] = [_findings.public(f) for f in findings]
    results["findings_count"] = len(findings)
    results.pop("verdict", None)
    return visible_strings(results)


def test_text_pairs_escape_generated_text():
    examples = [{"side": "reference", "pair": 0, "text": "calm", "label": "light", "id": "a:light"},
                {"side": "changed", "pair": 0, "text": HOSTILE_TEXT, "label": "dark", "id": "a:dark",
                 "mode": "free", "stated_label": None}]
    html = str(text_pairs(examples))
    assert "<script>" not in html and "&lt;script&gt;" in html and "\x1b" not in html and "\u202e" not in html
    assert "states no label" in html and html.count('class="text-pair"') == 1
    assert str(text_pairs(examples[:1])) == ""  # half a pair is not shown


def test_report_shows_reasoning_findings_and_section():
    html = render_report(_planted_results())
    assert 'id="reasoning"' in html and "Reasoning" in html
    assert 'The model wrote "hostile"' in html.replace("&quot;", '"')
    assert html.count('class="text-pair"') >= 3
    assert "<script>alert(1)</script>" not in html and "\x1b" not in html


def test_section_says_why_not_run():
    from tinyemo_audit.report._reasoning import section

    results = make_results()
    results.pop("reasoning", None)
    results["run"]["skipped"] = [{"probe": "reasoning audit (what the MM-LLM writes about counterfactual twins)",
                                  "reason": "the bundle has no reasoning part", "metrics": ["reasoning"]}]
    html = str(section(Context(results=results, thumbnails={}, rules=Rules.from_results(results))))
    assert "not run: the bundle has no reasoning part" in html
    results["run"]["skipped"] = []
    assert section(Context(results=results, thumbnails={}, rules=Rules.from_results(results))) is None
