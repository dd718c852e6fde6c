"""Tests of the HTML report as text: escaping, no external resources, sections, graceful degradation."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser

import pytest
from report_fixture import (HOSTILE, HOSTILE_CLASS, HOSTILE_CLUSTER, HOSTILE_MODEL, HOSTILE_VALUE, make_results,
                            minimal_results, thumbnails)

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.report import render_report, write_report
from tinyemo_audit.report import _charts, _figures, _format
from tinyemo_audit.report._assets import plotly_js

SECTION_ORDER = ["verdict", "skipped", "findings", "rules", "groups", "confusion", "twins", "map", "probes", "dataset",
                 "gates", "methods"]


def _chart_specs(parsed) -> list[str]:
    """The JSON of every chart (a <script type="application/json" class="chart-spec">)."""
    return [s for s in parsed.scripts if s.lstrip().startswith(("{\"data\"", "{\"map\"", "{\"layout\""))]


class _Page(HTMLParser):
    """Collects tags, attributes and the text outside scripts (script bodies are CDATA to this parser)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(make_results(), thumbnails=thumbnails())


@pytest.fixture(scope="module")
def parsed(page) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def test_hostile_strings_never_appear_as_markup(page):
    # plotly.js's own source is the only script; user strings are escaped in HTML and \u003c-escaped in JSON.
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "<b>bold</b>" not in page
    assert "onerror=alert(2)>" not in page.replace("&gt;", "")  # only the escaped form exists
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_hostile_strings_are_shown_as_text(parsed):
    text = "".join(parsed.text)
    for value in (HOSTILE_MODEL, HOSTILE_VALUE, HOSTILE_CLUSTER, HOSTILE_CLASS,
                  f"identity 17 {HOSTILE} & 'light'", "Model card", f"{HOSTILE} & <i>x</i>"):
        assert value in text, value


def test_hostile_strings_reach_plotly_escaped(parsed):
    # plotly renders some tags in labels, so its data must hold &lt; entities (here JSON-escaped as \u0026lt;),
    # never a tag; and no "<" at all may reach a <script> element.
    figures = _chart_specs(parsed)
    assert len(figures) >= 12
    assert not any("<" in s or "\\u003cscript" in s or "\\u003cimg" in s for s in figures)
    assert any("\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;\\u002fscript\\u0026gt;" in s for s in figures)
    assert any('\\u0026lt;img src=x onerror=alert(2)\\u0026gt; \\u0026amp; \\"co\\"' in s for s in figures)
    chart = _figures.confusion("g", make_results()["performance"]["overall"]["confusion"],
                               make_results()["run"]["classes"])
    labels = list(chart.spec["data"][0]["x"])
    assert _charts.ptext(HOSTILE_CLASS) in labels
    assert all("<" not in label for label in labels)


def test_no_external_resources_or_handlers(parsed):
    scripts_with_src = [a for t, a in parsed.tags if t == "script" and "src" in a]
    assert scripts_with_src == []
    for tag, attrs in parsed.tags:
        assert tag not in {"link", "iframe", "object", "embed", "base", "frame"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name == "src":
                assert value.startswith("data:image/"), (tag, value[:40])
            if name in {"href", "action", "formaction", "poster", "background"}:
                assert value.startswith("#"), (tag, name, value)
    css = "".join(parsed.styles)
    assert "url(" not in css and "@import" not in css and "http" not in css


def test_no_http_outside_plotly_source(page):
    # plotly.js mentions URLs in comments and error messages; nothing else may.
    rest = page.replace(plotly_js(), "")
    assert page.count(plotly_js()) == 1  # embedded once
    assert not re.search(r"https?://", rest), re.search(r".{60}https?://.{60}", rest)
    assert "mathjax" not in rest.lower().replace("mathjaxconfig: 'local'", "")


def test_unsafe_images_are_dropped(page):
    assert "javascript:alert(3)" not in page
    assert "evil.example" not in page
    # 3 twin pairs (6 images), 1 disparity example, 4 misclassified cluster members, 9 twin-section thumbnails
    assert page.count('<figure class="thumb">') == 6 + 1 + 4 + 9


def test_sections_in_order(parsed):
    ids = [a["id"] for t, a in parsed.tags if t == "section"]
    assert ids == SECTION_ORDER
    nav = parsed.tags[[t for t, _ in parsed.tags].index("nav"):]
    toc = [a["href"] for t, a in nav[:40] if t == "a"][:len(SECTION_ORDER)]
    assert toc == [f"#{s}" for s in SECTION_ORDER]


def test_verdict_comes_first_with_key_numbers(parsed):
    text = " ".join("".join(parsed.text).split())
    verdict = text.index("Bias found: 2 decision biases.")
    assert verdict < text.index("2 decision biases") < text.index("2 metric-space properties") < text.index("Next steps") \
        < text.index("Overall accuracy") < text.index("Per-group metrics", verdict)
    assert "76.2 %" in text and "3,500" in text and "1 / 2 pass" in text
    assert "2 of 59 twin pairs change prediction; P(angry) +11.8 points" in text


def test_causes_have_probes_evidence_and_review_controls(page, parsed):
    cards = [a for t, a in parsed.tags if t == "article"]
    assert [a["data-review-id"] for a in cards] == ["C1", "C2", "C3", "C4"]
    assert [a["data-review-kind"] for a in cards] == ["cause"] * 4
    radios = [a for t, a in parsed.tags if t == "input" and a.get("class") == "review-status"]
    assert len(radios) == 3 * 4 and {a["value"] for a in radios} == {"unreviewed", "confirmed", "rejected"}
    assert "matches the model card</textarea>" not in page  # a cause has no saved review of its own
    assert 'id="review-export"' in page and 'id="review-load"' in page
    text = " ".join("".join(parsed.text).split())
    assert "Supported by 3 probes" in text  # C1: twins, cluster, iEAT
    assert "+0.041" in text and "2.1e-04" in text and "+9.1 pp" in text and "9 of 171 misclassified" in text
    assert "P(angry) +11.8 points" in text and "P(angry) 12.0 %" in text and "P(angry) 61.0 %" in text
    assert "Relabel the neutral faces with dark skin" in text
    assert "tinyemo-audit gate results.json --gates configs/gates/strict.yaml" in text


def test_run_meta_is_safe_json(page):
    raw = re.search(r'<script type="application/json" id="run-meta">(.*?)</script>', page).group(1)
    assert "<" not in raw
    meta = json.loads(raw)
    assert meta["model"] == HOSTILE_MODEL
    assert meta["review_key"].endswith(meta["results_digest"]) and len(meta["results_digest"]) == 16


def test_small_groups_are_marked_in_tables_never_in_a_finding(page):
    # age "child" has n=24 < min_group_size=30.
    rows = re.findall(r"<td>child</td><td class=\"num\">24(.*?)</td>", page)
    assert any("n &lt; 30: not flagged" in r for r in rows)
    for card in re.findall(r'<article class="cause.*?</article>', page, flags=re.S):
        assert "not flagged" not in card and "small n" not in card


def test_every_chart_has_its_own_div_and_is_deterministic(page):
    ids = re.findall(r'<div id="(chart-\d+)" class="plot plotly-graph-div', page)
    assert ids == [f"chart-{i}" for i in range(1, len(ids) + 1)] and len(ids) >= 12
    assert render_report(make_results(), thumbnails=thumbnails()) == page


def test_minimal_results_degrade_gracefully():
    page = render_report(minimal_results())
    assert plotly_js()[:300] not in page and 'class="chart-spec"' not in page  # no figure, no plotly.js
    assert "not run: the dataset has no twin sets" in page
    assert "not run: fewer than 50 items" in page
    assert 'id="verdict"' in page and 'id="methods"' in page and "No bias flagged." in page
    for absent in ("groups", "confusion", "probes", "dataset", "gates"):
        assert f'<section id="{absent}"' not in page


@pytest.mark.parametrize("key", ["run", "verdict", "performance", "disparities", "counterfactual", "text_probes",
                                 "association", "skew", "dataset_bias", "clusters", "findings", "gates", "methods"])
def test_each_section_may_be_missing_or_null(key):
    results = make_results()
    del results[key]
    assert render_report(results).startswith("<!DOCTYPE html>")
    results[key] = None
    assert render_report(results).startswith("<!DOCTYPE html>")


def test_null_numbers_render_as_dash_with_note():
    results = make_results()
    results["performance"]["overall"]["accuracy"] = {"value": None, "ci_low": None, "ci_high": None, "n": 0,
                                                     "note": "no labels"}
    group = results["performance"]["by_attribute"]["gender"]["groups"]["feminine"]
    group["accuracy"] = {"value": None, "ci_low": None, "ci_high": None, "n": 0, "note": "empty group"}
    results["clusters"]["points"]["x"] = []
    page = render_report(results)
    assert '<span title="empty group">—</span>' in page
    rest = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page.replace(plotly_js(), ""))
    assert "0 / 0" not in page and "nan" not in rest.lower()


def test_unlabelled_run_without_performance_shows_skip_reason():
    results = make_results()
    results["performance"] = None
    results["run"]["skipped"] = [{"probe": "performance", "reason": "the split has no labels"}]
    page = render_report(results)
    assert '<section id="groups">' in page and "not run: the split has no labels" in page


def test_bad_input_raises_package_errors():
    with pytest.raises(UsageError, match="must be a dict"):
        render_report([1, 2])
    with pytest.raises(InputError, match="schema version '2.0'"):
        render_report({"schema_version": "2.0"})
    with pytest.raises(UsageError, match="thumbnails"):
        render_report({}, thumbnails=["x"])


def test_write_report_is_atomic_and_returns_path(tmp_path):
    target = tmp_path / "out" / "report.html"
    results = copy.deepcopy(minimal_results())
    assert write_report(results, target) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


@pytest.mark.parametrize(("fn", "value", "expected"), [
    (_format.pct, 0.81267, "81.3 %"), (_format.pct, None, "—"), (_format.pp, 0.0712, "+7.1 pp"),
    (_format.shift, 0.04123, "+0.041"), (_format.shift, -0.0004, "+0.000"), (_format.qval, 2.1e-4, "2.1e-04"),
    (_format.qval, 0.0213, "0.021"), (_format.qval, float("nan"), "—"), (_format.count, 3500, "3,500"),
])
def test_number_formats(fn, value, expected):
    assert fn(value) == expected


def test_ptext_escapes_for_plotly():
    assert _charts.ptext('<b>x</b> & "y"') == '&lt;b&gt;x&lt;/b&gt; &amp; "y"'
    assert _charts.short("a" * 40, 10) == "a" * 9 + "…"


def test_counterfactual_examples_may_carry_inline_images():
    results = make_results()
    image = thumbnails()["id-gender-0"]
    results["counterfactual"]["gender"]["examples"] = {"feminine": [{"id": "t1", "image": image, "caption": "twin 1"}]}
    page = render_report(results)  # no thumbnails argument: the image comes from the results
    assert f'<img src="{image}" width="128" height="128" alt="twin 1">' in page  # 64 px at 2×


# C0 but tab and newline, DEL, C1, bidi marks, overrides and isolates.
CONTROL = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)] + [chr(c) for c in range(0x7F, 0xA0)] + [
    "\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]


def test_control_characters_in_user_strings_are_shown_as_escapes():
    # Attribute names, group values, titles and figure labels all contain "skin": poison every one.
    poison = "sk\\u202ein\\u0007\\u001b[31m\\u0085\\u2066\\u0000\\r"
    results = json.loads(json.dumps(make_results()).replace("skin", poison))
    results["run"]["model"] = "mini\u202e\x1b[2J"
    page = render_report(results, thumbnails=thumbnails())
    rest = page.replace(plotly_js(), "")
    assert [c for c in CONTROL if c in rest] == []
    p = _Page()
    p.feed(page)
    p.close()
    text = "".join(p.text)
    assert "sk\\u202Ein\\u0007\\u001B[31m\\u0085\\u2066\\u0000\\u000D_group" in text  # visible, not acting
    assert "mini\\u202E\\u001B[2J" in text
    figures = _chart_specs(p)
    # In chart JSON the escape itself is escaped, so the chart shows the same visible text.
    assert any("sk\\\\u202Ein\\\\u0007" in s for s in figures)
    for ordinary in ("a\tb", "a\nb"):  # tab and newline are ordinary text
        assert f"Bias audit of {ordinary}" in "".join(_texts(render_report({"run": {"model": ordinary}})))


def _texts(page: str) -> list[str]:
    p = _Page()
    p.feed(page)
    p.close()
    return p.text


def test_skipped_dataset_items_get_one_line():
    results = make_results()
    results["run"].update(n_skipped_items=3, skipped_items={"control character in label": 2,
                                                             "truncated image (image file is truncated)": 1})
    text = " ".join(_texts(render_report(results)))
    assert ("3 dataset items skipped while loading: 2 control character in label, 1 truncated image (image file "
            "is truncated).") in text
    assert "skipped while loading" not in " ".join(_texts(render_report(make_results())))
