"""Comparisons of two results: matching findings and causes, comparability, and the CLI's outputs."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.comparison import check_comparable, compare_results
from tinyemo_audit.errors import InputError

runner = CliRunner()


def finding(title, value, *, kind="disparity", severity=0.6, ci=None, groups=("a", "b"), attribute="site"):
    evidence = {"value": value, "q_value": 0.001}
    if ci:
        evidence.update(ci_low=ci[0], ci_high=ci[1])
    return {"id": "F1", "kind": kind, "title": title, "attribute": attribute, "groups": list(groups),
            "direction": "down", "severity": severity, "category": "decision", "evidence": evidence,
            "outcome": {"text": title}}


def results(findings, dataset="faces", version="1.1"):
    return {"schema_version": version, "run": {"dataset": dataset, "model": "m"}, "findings": findings,
            "causes": [], "findings_count": len(findings)}


def test_new_gone_changed_persists():
    base = results([finding("A", 0.10, ci=(0.08, 0.12)), finding("B", 0.10, ci=(0.08, 0.12)),
                    finding("C", 0.2)])
    new = results([finding("A", 0.11, ci=(0.09, 0.13)), finding("B", 0.30, ci=(0.2, 0.4)), finding("D", 0.1)])
    statuses = {f["title"]: f["status"] for f in compare_results(base, new)["findings"]}
    assert statuses == {"A": "persists", "B": "changed", "C": "gone", "D": "new"}


def test_clusters_match_by_groups_not_by_their_numbered_titles():
    base = results([finding("region (x) has 5.8× the error rate", 0.05, kind="cluster", groups=("g=1",))])
    new = results([finding("region (y) has 4.1× the error rate", 0.05, kind="cluster", groups=("g=1",))])
    assert [f["status"] for f in compare_results(base, new)["findings"]] == ["persists"]


@pytest.mark.parametrize("other, fragment", [
    (results([], dataset="csv:x.csv"), "audits dataset 'faces' but"),
    (results([], version="1.0"), "results schema '1.1'"),
])
def test_different_datasets_or_versions_are_refused(other, fragment):
    with pytest.raises(InputError) as info:
        check_comparable(results([]), other)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_disparity_change_has_a_ci_from_the_counts():
    def disparity(hits):
        return {"disparities": {"site": {"accuracy_difference": {
            "value": max(hits) / 100 - min(hits) / 100, "ci_low": 0.0, "ci_high": 0.1,
            "successes_by_group": {"a": hits[0], "b": hits[1]}, "trials_by_group": {"a": 100, "b": 100}}}}}
    base, new = {**results([]), **disparity((90, 80))}, {**results([]), **disparity((90, 89))}
    change = next(m for m in compare_results(base, new)["metrics"]
                  if m["path"] == "disparities.site.accuracy_difference")
    assert change["value"] == pytest.approx(-0.09)
    assert change["ci_low"] < change["value"] < change["ci_high"] < 0.05
    assert compare_results(base, new)["metrics"] == compare_results(base, new)["metrics"]  # seeded


def test_a_metric_without_counts_says_so():
    base = {**results([]), "skew": {"by_label": {"happy": {"site": {"max_skew": 0.5, "p_value": 0.1}}}}}
    new = {**results([]), "skew": {"by_label": {"happy": {"site": {"max_skew": 0.2, "p_value": 0.3}}}}}
    change = next(m for m in compare_results(base, new)["metrics"] if m["path"] == "skew.by_label.happy.site.max_skew")
    assert change["value"] == pytest.approx(-0.3) and change["ci_low"] is None and "no CI" in change["note"]
    assert not any(m["path"].endswith("p_value") for m in compare_results(base, new)["metrics"])


def test_cli_compare_writes_json_and_html(tmp_path):
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    base.write_text(json.dumps(results([finding("A \u202e", 0.1)])))
    new.write_text(json.dumps(results([])))
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(base), str(new), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "gone: A \\u202E" in result.stdout  # control characters made visible on the terminal
    page = (out / "comparison.html").read_text()
    assert "\u202e" not in page and "\\u202E" in page
    assert json.loads((out / "comparison.json").read_text())["summary"]["findings"]["gone"] == 1


def test_cli_compare_refuses_other_datasets_and_writes_nothing(tmp_path):
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    base.write_text(json.dumps(results([])))
    new.write_text(json.dumps(results([], dataset="predictions")))
    result = runner.invoke(app, ["compare", str(base), str(new), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 2 and "a comparison needs the same data" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "cmp").exists()


def test_a_new_finding_whose_change_is_not_significant_crossed_the_bar():
    base = results([])
    new = results([finding("moved", 0.5), finding("crept", 0.45), finding("untested", 0.4)])
    p_values = {"moved": 0.001, "crept": 0.30}

    def change_test(f):  # what mitigate's paired skew test returns, by title here
        return None if f["title"] not in p_values else {"p_value": p_values[f["title"]], "value": 1}

    diff = compare_results(base, new, change_test=change_test, q_max=0.05)
    statuses = {f["title"]: f["status"] for f in diff["findings"]}
    assert statuses == {"moved": "new", "crept": "crossed", "untested": "new"}
    changes = {f["title"]: f["change"] for f in diff["findings"]}
    # one Benjamini-Hochberg over the two tested findings: q = (0.002, 0.30)
    assert changes["moved"]["q_value"] == pytest.approx(0.002) and changes["crept"]["q_value"] == pytest.approx(0.30)
    assert changes["untested"] is None
    assert diff["summary"]["findings"] == {"new": 2, "crossed": 1, "gone": 0, "changed": 0, "persists": 0}


def test_without_a_change_test_every_unmatched_finding_is_new():
    diff = compare_results(results([]), results([finding("A", 0.5)]))
    assert [(f["status"], f["change"]) for f in diff["findings"]] == [("new", None)]


def cause(attribute, finding_ids):
    return {"id": f"C-{attribute}", "category": "decision", "title": f"cause about {attribute}", "attribute": attribute,
            "groups": ["a", "b"], "direction": "down", "severity": 0.5, "finding_ids": list(finding_ids)}


@settings(max_examples=60, deadline=None)
@given(significant=st.lists(st.booleans(), min_size=1, max_size=5),
       memberships=st.lists(st.lists(st.integers(0, 4), max_size=4), min_size=1, max_size=4),
       old_cause=st.booleans())
def test_a_new_cause_is_over_the_bar_exactly_when_every_finding_it_groups_is(significant, memberships, old_cause):
    found = []
    for i, sig in enumerate(significant):
        f = finding(f"T{i}", 0.5, attribute=f"x{i}")
        f["id"] = f"F{i + 1}"
        found.append(f)
    p_values = {f["title"]: (0.0001 if sig else 0.9) for f, sig in zip(found, significant)}
    causes = [cause(f"c{j}", [f"F{i + 1}" for i in dict.fromkeys(m) if i < len(found)])
              for j, m in enumerate(memberships)]
    base = results([])
    base["causes"] = [causes[0]] if old_cause else []
    new = results(found)
    new["causes"] = causes
    diff = compare_results(base, new, change_test=lambda f: {"p_value": p_values[f["title"]]}, q_max=0.05)
    crossed = {f["new"]["id"] for f in diff["findings"] if f["status"] == "crossed"}
    assert crossed == {f["id"] for f, sig in zip(found, significant) if not sig}
    for entry, c in zip(diff["causes"], causes):
        ids = set(c["finding_ids"])
        if old_cause and c is causes[0]:
            assert entry["status"] in ("persists", "changed")
        else:
            assert entry["status"] == ("crossed" if ids and ids <= crossed else "new")
    assert diff["summary"]["causes"]["crossed"] == sum(e["status"] == "crossed" for e in diff["causes"])
