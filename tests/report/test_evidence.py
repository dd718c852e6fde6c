"""Evidence images: native resolution at an integer scale, twin pairs with P(target), misclassified members."""

from __future__ import annotations

import base64
import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from report_fixture import legacy_results, make_results

from tinyemo_audit.report._evidence import THUMB_MAX, examples, native_size, thumb


def _png(width: int, height: int) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 100, 50)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 300), height=st.integers(1, 300))
def test_thumbnails_are_shown_at_an_integer_scale_of_their_native_size(width, height):
    html = str(thumb(_png(width, height), "face"))
    shown_w, shown_h = map(int, re.search(r'width="(\d+)" height="(\d+)"', html).groups())
    scale = shown_w // width
    assert scale >= 1 and (shown_w, shown_h) == (width * scale, height * scale)
    assert max(shown_w, shown_h) <= max(THUMB_MAX, width, height)  # never stretched past the box, never shrunk


def test_96_pixel_faces_are_never_stretched_to_118():
    assert 'width="96" height="96"' in str(thumb(_png(96, 96), "face"))
    assert 'width="128" height="128"' in str(thumb(_png(64, 64), "face"))


def test_images_that_are_not_inline_are_dropped_and_broken_ones_shown_without_size():
    assert str(thumb("https://evil.example/x.png", "x")) == ""
    assert native_size("data:image/png;base64,AAAA") is None
    assert "width=" not in str(thumb("data:image/png;base64,AAAA", "x")) and "<img" in str(thumb("data:image/png;base64,AAAA", "x"))


def test_twin_pairs_show_the_probability_on_both_sides_largest_shift_first():
    f1 = make_results()["findings"][0]
    html = str(examples(f1))
    pairs = re.findall(r'<div class="twin-pair">(.*?)</div></div>', html)
    assert len(pairs) == 3
    first = re.findall(r'<span class="p">(.*?)</span>', html)[:2]
    assert first == ["P(angry) 12.0 %", "P(angry) 61.0 %"]
    assert "pair 1: P(angry) +49.0 points" in html and html.index("pair 1") < html.index("pair 2")
    assert "javascript:" not in html and "evil.example" not in html


def test_error_cluster_examples_are_the_misclassified_members_with_counts():
    f3 = make_results()["findings"][2]
    html = str(examples(f3))
    assert "9 of 171 misclassified; 4 shown" in html
    captions = [c.split('<span class="reasoning"')[0] for c in re.findall(r"<figcaption>(.*?)</figcaption>", html)]
    assert len(captions) == 4 and all(c.startswith("true ") and c.endswith("→ predicted angry") for c in captions)
    correct = {**f3, "examples": [{**e, "predicted_label": e["true_label"]} for e in f3["examples"]]}
    assert "<img" not in str(examples(correct))  # a correctly classified member is not evidence of errors


def test_schema_1_0_cluster_members_are_labelled_as_members():
    f3 = legacy_results()["findings"][2]
    assert "do not say which of them were misclassified" in str(examples(f3))


REASONING_TEXTS = st.text(max_size=200) | st.sampled_from([
    "<script>alert(1)</script> Predicted Label: angry", "a\x1b[31m\u202eb\x00", "\"' onload=x", "Reasoning: ok"])


@settings(max_examples=60, deadline=None)
@given(text=REASONING_TEXTS)
def test_generated_reasoning_under_a_face_is_escaped_text(text):
    """The MM-LLM's text is model output: whatever it holds, it is one escaped span, never markup or raw controls."""
    html = str(thumb(_png(8, 8), "face", reasoning=text))
    spans = re.findall(r'<span class="reasoning"[^>]*>(.*?)</span>', html, flags=re.S)
    if not text.strip():
        assert spans == []
        return
    (span,) = spans
    assert "<" not in span and ">" not in span and "\x1b" not in span and "\u202e" not in span and "\x00" not in span
    assert html.count("<span") == 1 and html.count("<img") == 1


def test_every_example_form_shows_its_reasoning():
    results = make_results()
    twins, cluster = results["findings"][0], results["findings"][2]
    said = {"examples": [{**e, "reasoning": f"Reasoning: face {k}. Predicted Label: angry"}
                         for k, e in enumerate(twins["examples"])]}
    html = str(examples({**twins, **said}))
    assert html.count('class="reasoning"') == 6  # three pairs, both sides
    members = {**cluster, "examples": [{**e, "reasoning": "Reasoning: wide eyes."} for e in cluster["examples"]]}
    assert str(examples(members)).count('class="reasoning"') == 4
    bare = {**twins, "examples": [{k: v for k, v in e.items() if k != "reasoning"} for e in twins["examples"]]}
    assert 'class="reasoning"' not in str(examples(bare))  # no reasoning part: nothing added
