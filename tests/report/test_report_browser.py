"""The report opened in headless Chromium at desktop (1440 px) and phone (390 px) width.

On the fixture (default suite) and on a real default run (slow): no console errors, no requests, no horizontal
page overflow on a phone, one h1, every chart drawn with a text alternative and a data table, error-cluster
examples that are misclassified, twin pairs whose probabilities differ, no "not flagged" badge inside a finding,
a file of at most 3 MB; and the reviewer's decisions survive a reload and load back from a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chromium_cdp import WAIT_FOR_CHARTS, find_chromium, open_report
from report_fixture import HOSTILE, HOSTILE_VALUE, legacy_results, make_results, thumbnails

from tinyemo_audit.report import write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MAX_BYTES = 3 * 1024 * 1024
WIDTHS = {"desktop": (1440, False), "phone": (390, True)}
EXECUTABLE = find_chromium()
if EXECUTABLE is None and not os.environ.get("CI"):
    pytest.skip("chromium not found (install it with `apt-get install -y chromium`); required when CI is set",
                allow_module_level=True)

# Everything the "done when" asks of the page, measured in the browser.
PAGE_FACTS = r"""(() => {
  const plots = Array.from(document.querySelectorAll('.plotly-graph-div'));
  const figureOf = (p) => p.closest('figure.chart');
  const caption = (p) => { const f = figureOf(p); const c = f && f.querySelector('figcaption'); return c ? c.textContent.trim() : ''; };
  const clusterCaptions = [];
  document.querySelectorAll('.probe-list > li').forEach((li) => {
    const line = li.querySelector('.count-line');
    if (line && /\d[\d,]* of \d[\d,]* misclassified/.test(line.textContent)) {
      li.querySelectorAll('figure.thumb figcaption').forEach((c) => clusterCaptions.push(c.textContent.trim()));
    }
  });
  const twinPairs = Array.from(document.querySelectorAll('.twin-pair')).map(
    (pair) => Array.from(pair.querySelectorAll('.p')).map((p) => p.textContent.trim()));
  const toc = document.getElementById('toc');
  const map = document.querySelector('.plot.map');
  return {
    h1: document.querySelectorAll('h1').length,
    overflow: document.scrollingElement.scrollWidth - window.innerWidth,
    plots: plots.length,
    drawn: plots.filter((p) => p.querySelector('.main-svg')).length,
    described: plots.filter((p) => (p.getAttribute('aria-label') || '').length > 20 && caption(p).length > 20
                                    && p.getAttribute('role') === 'img').length,
    tables: plots.filter((p) => { const f = figureOf(p); const d = f && f.querySelector('details.data-table');
                                  return d && d.querySelector('summary') && !d.open; }).length,
    clusterCaptions: clusterCaptions,
    twinPairs: twinPairs,
    badgesInFindings: Array.from(document.querySelectorAll('article.cause')).filter(
      (c) => /not flagged|small n/.test(c.textContent)).length,
    tocOpen: toc ? toc.open : null,
    mapRatio: map ? map.getBoundingClientRect().height / map.getBoundingClientRect().width : null,
    wideCharts: plots.filter((p) => p.getBoundingClientRect().width > window.innerWidth).length,
  };
})()"""


def check_page(facts: dict, *, width: int) -> None:
    """The assertions shared by the fixture and the real run."""
    assert facts["h1"] == 1
    assert facts["plots"] >= 12 and facts["drawn"] == facts["plots"]
    assert facts["described"] == facts["plots"]  # every chart: role=img, aria-label and a figcaption
    assert facts["tables"] == facts["plots"]  # ... and a data table behind a closed disclosure
    assert facts["clusterCaptions"], "no error-cluster examples shown"
    for caption in facts["clusterCaptions"]:
        true, _, predicted = caption.removeprefix("true ").partition(" → predicted ")
        assert predicted and true != predicted, caption
    assert facts["twinPairs"], "no twin pairs shown"
    for pair in facts["twinPairs"]:
        assert len(pair) == 2 and pair[0] != pair[1], pair
    assert facts["badgesInFindings"] == 0
    assert facts["wideCharts"] == 0
    if width <= 400:
        assert facts["overflow"] <= 0
        assert facts["tocOpen"] is False  # the contents do not fill the first screen
        assert facts["mapRatio"] is None or facts["mapRatio"] >= 0.7
    else:
        assert facts["tocOpen"] is True


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory) -> Path:
    return write_report(make_results(), tmp_path_factory.mktemp("report") / "report.html", thumbnails=thumbnails())


@pytest.fixture(scope="module", params=list(WIDTHS))
def browser(request, fixture_report, tmp_path_factory):
    width, mobile = WIDTHS[request.param]
    with open_report(fixture_report, tmp_path_factory.mktemp("profile"), width=width, height=2000,
                     mobile=mobile) as chrome:
        chrome.width = width
        yield chrome


def test_page_meets_the_review_bar(browser, fixture_report):
    check_page(browser.evaluate(PAGE_FACTS), width=browser.width)
    assert fixture_report.stat().st_size <= MAX_BYTES


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
            injected: document.querySelectorAll('svg script, img[src="x"], svg b').length
                + Array.from(document.scripts).filter((s) => s.textContent.trim().startsWith('alert')).length
                + Array.from(document.querySelectorAll('b')).filter((b) => b.textContent === 'bold').length,
        }};
    }})()""")
    assert found == {"body": True, "value": True, "svg": True, "svgImg": True, "injected": 0}


def test_generated_reasoning_under_faces_is_text_within_the_screen(browser):
    """The MM-LLM's text under a face: shown, as text (its markup inert), never wider than the screen."""
    found = browser.evaluate("""(() => {
        const notes = Array.from(document.querySelectorAll('figure.thumb .reasoning'));
        return {
            shown: notes.length,
            text: notes.some((n) => n.textContent.includes('<img src=x onerror=alert(7)>')),
            wide: notes.filter((n) => n.getBoundingClientRect().right > window.innerWidth + 1).length,
        };
    })()""")
    assert found["shown"] >= 2 and found["text"] and found["wide"] == 0


def test_map_menu_recolours_without_copies(browser):
    state = browser.evaluate("""(() => {
        const select = document.querySelector('.map-controls select');
        const plot = document.querySelector('.plot.map');
        const before = plot.data.reduce((n, t) => n + t.x.length, 0);
        select.value = String(select.options.length - 1);
        select.dispatchEvent(new Event('change'));
        const after = plot.data.map((t) => t.name);
        const shown = Array.from(document.querySelectorAll('.map-legend')).filter((l) => !l.hidden).length;
        select.value = '0';
        select.dispatchEvent(new Event('change'));
        return {before: before, after: after, shown: shown};
    })()""")
    assert state["before"] == len(make_results()["clusters"]["points"]["x"])  # every point drawn once
    assert state["after"] == ["correct", "misclassified"] and state["shown"] == 1


def test_screenshot_is_saved(browser):
    browser.evaluate("window.scrollTo(0, 0)")
    name = "report.png" if browser.width > 400 else "report-phone.png"
    browser.screenshot(ARTIFACTS / name)
    head = (ARTIFACTS / name).read_bytes()[:24]
    assert head.startswith(b"\x89PNG") and int.from_bytes(head[16:20], "big") == browser.width


def test_legacy_results_render_cleanly_on_a_phone(tmp_path):
    report = write_report(legacy_results(), tmp_path / "report.html", thumbnails=thumbnails())
    with open_report(report, tmp_path / "profile", width=390, height=1500, mobile=True) as chrome:
        facts = chrome.evaluate(PAGE_FACTS)
        assert chrome.console_errors() == [] and facts["overflow"] <= 0 and facts["h1"] == 1
        assert facts["drawn"] == facts["plots"] == facts["described"]
        assert chrome.evaluate("document.querySelectorAll('article.cause').length") == len(legacy_results()["findings"])


# reviewer workflow ------------------------------------------------------------------------------------------------

def _reload(chrome) -> None:
    chrome.events.clear()
    chrome.send("Page.reload", session=True)
    chrome.wait_for_event("Page.loadEventFired")
    chrome.evaluate(WAIT_FOR_CHARTS)


def _choose(chrome, card: str, status: str, note: str) -> None:
    chrome.evaluate(f"""(() => {{
        const card = Array.from(document.querySelectorAll('[data-review-id]')).find(
            (c) => c.getAttribute('data-review-id') === {json.dumps(card)});
        card.querySelector('input.review-status[value={json.dumps(status)}]').click();
        const note = card.querySelector('textarea.review-note');
        note.value = {json.dumps(note)};
        note.dispatchEvent(new Event('input', {{bubbles: true}}));
    }})()""")


def _state(chrome) -> dict:
    return {item["id"]: (item["status"], item["note"]) for item in chrome.evaluate("window.tinyemoReview()")["items"]}


def _load_file(chrome, path: Path) -> str:
    chrome.evaluate("document.getElementById('review-message').textContent = ''")
    root = chrome.send("DOM.getDocument", session=True)["root"]["nodeId"]
    node = chrome.send("DOM.querySelector", {"nodeId": root, "selector": "#review-load"}, session=True)["nodeId"]
    chrome.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node}, session=True)
    return chrome.evaluate("""new Promise((resolve) => { const start = Date.now(); (function poll() {
        const m = document.getElementById('review-message').textContent;
        if (m || Date.now() - start > 10000) { resolve(m); } else { setTimeout(poll, 50); } })(); })""")


@pytest.fixture()
def review_page(fixture_report, tmp_path):
    with open_report(fixture_report, tmp_path / "profile", width=1440, height=1200) as chrome:
        yield chrome


def test_review_survives_a_reload_and_exports(review_page):
    chrome = review_page
    _choose(chrome, "C1", "confirmed", "checked the twins")
    _choose(chrome, "C3", "rejected", "skew is expected here")
    _reload(chrome)
    state = _state(chrome)
    assert state["C1"] == ("confirmed", "checked the twins") and state["C3"] == ("rejected", "skew is expected here")
    assert state["C2"] == ("unreviewed", "")
    exported = chrome.evaluate("window.tinyemoReview()")
    assert exported["schema"] == "tinyemo-audit-review/2" and exported["run"]["seed"] == 0
    assert HOSTILE in next(i["title"] for i in exported["items"] if i["id"] == "C1")
    assert chrome.evaluate("document.getElementById('review-count').textContent") == \
        "2 of 4 reviewed (1 confirmed, 1 rejected)"
    assert chrome.console_errors() == []


def test_a_saved_review_loads_back_escaped(review_page, tmp_path):
    chrome = review_page
    meta = json.loads(chrome.evaluate("document.getElementById('run-meta').textContent"))
    hostile_note = '<img src=x onerror=alert(9)> "quoted" & done'
    review = {"schema": "tinyemo-audit-review/2", "run": meta, "items": [
        {"id": "C2", "title": "anything", "status": "rejected", "note": hostile_note},
        {"id": "C4", "status": "<b>bogus</b>", "note": 42},
        {"id": "C999", "status": "confirmed", "note": "no such cause"},
        "not an item"]}
    path = tmp_path / "review.json"
    path.write_text(json.dumps(review), encoding="utf-8")
    message = _load_file(chrome, path)
    assert message == "Loaded 2 of 3 review items."
    state = _state(chrome)
    assert state["C2"] == ("rejected", hostile_note)  # a form value, never markup
    assert state["C4"] == ("unreviewed", "")
    assert chrome.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert _load_file(chrome, bad).startswith("Not loaded:")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**review, "run": {"review_key": "another run"}}), encoding="utf-8")
    # Another run's review applies only where the title matches too: here none does.
    assert _load_file(chrome, other).startswith("Loaded 0 of 3 review items (saved for another run")
    chrome.drain(0.3)
    assert chrome.dialogs() == [] and chrome.console_errors() == []


# a real default run ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("default-run") / "run"
    subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", "run", "--dataset", "faces", "--out", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("view", list(WIDTHS))
def test_default_run_report_meets_the_review_bar(view, default_run, tmp_path):
    report = default_run / "report.html"
    assert report.stat().st_size <= MAX_BYTES
    width, mobile = WIDTHS[view]
    with open_report(report, tmp_path / "profile", width=width, height=2000, mobile=mobile) as chrome:
        check_page(chrome.evaluate(PAGE_FACTS), width=width)
        assert chrome.console_errors() == []
