"""The embedding map's data: every point once, each colouring as a category table plus an index array."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from report_fixture import HOSTILE_CLUSTER, make_results

from tinyemo_audit.report._map import map_chart


def _decode(colouring: dict) -> list[str]:
    return [colouring["categories"][i] for i in colouring["index"]]


def test_fixture_map_names_each_cluster_once():
    results = make_results()
    spec, legends = map_chart(results["clusters"]["points"], results["clusters"]["items"], ["skin_group", "gender"])
    data = spec["map"]
    n = len(results["clusters"]["points"]["x"])
    assert len(data["x"]) == len(data["y"]) == n
    assert [c["name"] for c in data["colourings"]] == ["cluster", "skin_group", "gender", "error"]
    text = json.dumps(spec)
    assert text.count("scowling") == 1  # the hostile cluster name, escaped, once
    assert "<b>" not in text and "&lt;b&gt;scowling" in text
    assert [name for name, _, _ in legends] == ["cluster", "skin_group", "gender", "error"]
    assert any(HOSTILE_CLUSTER in c for c in legends[0][1])  # the HTML legend gets the raw name (it escapes it)
    assert "data" not in spec  # traces are built in the page, per colouring


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_colourings_decode_to_the_original_values(data):
    n = data.draw(st.integers(1, 60))
    values = st.sampled_from(["a", "b", "<c>", "d & e"])
    points = {"x": data.draw(st.lists(st.floats(-50, 50), min_size=n, max_size=n)),
              "y": data.draw(st.lists(st.floats(-50, 50), min_size=n, max_size=n)),
              "cluster": data.draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n)),
              "error": data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
              "g": data.draw(st.lists(values, min_size=n, max_size=n))}
    spec, _ = map_chart(points, [{"id": i, "name": f"c{i}"} for i in range(5)], ["g"])
    by_name = {c["name"]: c for c in spec["map"]["colourings"]}
    escaped = [v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for v in points["g"]]
    assert _decode(by_name["g"]) == escaped
    assert _decode(by_name["error"]) == ["misclassified" if e else "correct" for e in points["error"]]
    assert _decode(by_name["cluster"]) == ["noise" if c == -1 else f"#{c} c{c}" for c in points["cluster"]]
    for colouring in by_name.values():
        assert len(colouring["categories"]) == len(set(colouring["categories"])) == len(colouring["colours"])
        assert len(set(colouring["colours"])) == len(colouring["colours"])  # distinct colours


def test_no_points_no_map():
    assert map_chart({"x": [], "y": []}, [], []) is None
    assert map_chart({"x": [1.0], "y": [float("nan")]}, [], []) is None
