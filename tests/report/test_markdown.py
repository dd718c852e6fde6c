"""The model card's Markdown subset: structure rendered, everything else escaped text."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.report._markdown import render_markdown

ALLOWED = {"h4", "h5", "h6", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "div", "table", "thead", "tbody",
           "tr", "th", "td"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    p.close()
    return p


def test_structure_of_a_model_card():
    card = ("# Model card: mini\n\nTrained with **two** planted *biases*.\n\n## Training\n- AdamW, `lr 5e-4`\n"
            "- 5 epochs\n\n| attribute | value |\n|---|---|\n| skin_group | dark |\n\n1. first\n2. second\n\n"
            "```\ncode <b>\n```\n[link text](https://example.org)\n")
    html = str(render_markdown(card))
    assert html.startswith("<h4>Model card: mini</h4><p>Trained with <strong>two</strong> planted <em>biases</em>.</p>")
    assert "<h5>Training</h5><ul><li>AdamW, <code>lr 5e-4</code></li><li>5 epochs</li></ul>" in html
    assert '<th scope="col">attribute</th>' in html and "<td>skin_group</td><td>dark</td>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert "<pre><code>code &lt;b&gt;</code></pre>" in html
    assert "link text" in html and "example.org" not in html  # no link target: the report makes no requests
    assert "<h1" not in html and "<h2" not in html and "<h3" not in html


def test_snake_case_and_arithmetic_are_not_emphasis():
    assert str(render_markdown("skin_group and 2*3*4")) == "<p>skin_group and 2*3*4</p>"


TOKENS = list("ab <>&\"'`*_#|-\n[]()!/=:1.") + ["script", "img", "onerror", "**", "```", "# ", "- ", "|---|"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_any_text_yields_only_the_subset_and_keeps_its_characters(source):
    html = str(render_markdown(source))
    parsed = _parse(html)
    assert {t for t, _ in parsed.tags} <= ALLOWED
    assert all(set(attrs) <= {"scope", "class"} for _, attrs in parsed.tags)
    # Every "<" in the output is text from the source (a link's target may be dropped, never added to).
    assert "".join(parsed.text).count("<") <= source.count("<")
    assert html.count("<") == sum(1 for _ in parsed.tags) + html.count("</")
