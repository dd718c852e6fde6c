"""The report opened in headless Chromium: no console errors, no requests, every chart drawn, hostile labels as text."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from chromium_cdp import find_chromium, open_report
from report_fixture import HOSTILE, HOSTILE_VALUE, make_results, thumbnails

from tinyemo_audit.report import write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXECUTABLE = find_chromium()
if EXECUTABLE is None and not os.environ.get("CI"):
    pytest.skip("chromium not found (install it with `apt-get install -y chromium`); required when CI is set",
                allow_module_level=True)



@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-browser")
    report = write_report(make_results(), tmp / "report.html", thumbnails=thumbnails())
    with open_report(report, tmp / "profile") as chrome:
        yield chrome


def test_every_chart_is_rendered(browser):
    assert browser.charts["plots"] >= 12
    assert browser.charts["drawn"] == browser.charts["plots"]


def test_no_console_errors_and_no_dialogs(browser):
    assert browser.console_errors() == []
    assert browser.dialogs() == []  # a hostile label that executed would have opened alert()


def test_no_network_requests(browser):
    urls = browser.requested_urls()
    assert urls and urls[0].startswith("file://")
    assert [u[:80] for u in urls if not u.startswith(("file://", "data:", "blob:"))] == []


def test_hostile_labels_are_text(browser):
    found = browser.evaluate(f"""(() => {{
        const svgText = Array.from(document.querySelectorAll('.main-svg text')).map((t) => t.textContent);
        return {{
            body: document.body.innerText.includes({json.dumps(HOSTILE)}),
            value: document.body.innerText.includes({json.dumps(HOSTILE_VALUE)}),
            svg: svgText.some((t) => t.includes('<script>')),
            svgImg: svgText.some((t) => t.includes('<img src=x')),
            // plotly would draw <b> as bold text; escaped, the tag itself is shown
            svgTag: svgText.some((t) => t.includes('<b>scowling</b>')),
            injected: document.querySelectorAll('svg script, img[src="x"], svg b').length
                + Array.from(document.scripts).filter((s) => s.textContent.trim().startsWith('alert')).length
                + Array.from(document.querySelectorAll('b')).filter((b) => b.textContent === 'bold').length,
        }};
    }})()""")
    assert found == {"body": True, "value": True, "svg": True, "svgImg": True, "svgTag": True,
                     "injected": 0}


def test_review_export_collects_decisions(browser):
    exported = browser.evaluate("""(() => {
        const card = document.querySelector('.finding[data-finding-id="F1"]');
        card.querySelector('input.review-confirm').click();
        card.querySelector('textarea.review-note').value = 'checked the twins';
        return window.tinyemoReview();
    })()""")
    assert exported["schema"] == "tinyemo-audit-review/1"
    assert exported["run"]["seed"] == 0
    by_id = {f["id"]: f for f in exported["findings"]}
    assert by_id["F1"] == {"id": "F1", "title": by_id["F1"]["title"], "status": "confirmed",
                           "note": "checked the twins"}
    assert HOSTILE in by_id["F1"]["title"]
    assert by_id["F2"]["status"] == "confirmed" and by_id["F3"]["status"] == "unconfirmed"
    assert browser.evaluate("document.getElementById('review-count').textContent") == "2 of 3 findings confirmed"


def test_screenshot_is_saved(browser):
    browser.evaluate("window.scrollTo(0, 0)")
    browser.screenshot(ARTIFACTS / "report.png")
    browser.screenshot(ARTIFACTS / "report-full.png", full_page=True)
    head = (ARTIFACTS / "report.png").read_bytes()[:24]
    assert head.startswith(b"\x89PNG") and int.from_bytes(head[16:20], "big") == 1400
