"""tinyemo_audit/audit/results.py: one schema check of results.json before `report` or `gate` uses it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from typer.testing import CliRunner

from schema_strategies import LONG, QUICK, assert_error_line, assert_one_line, results_documents, valid_results
from tinyemo_audit.audit.results import check_results, read_results
from tinyemo_audit.cli.main import app
from tinyemo_audit.errors import InputError
from tinyemo_audit.gates import evaluate_gates, load_gates

runner = CliRunner()


def write(folder: Path, text: str) -> Path:
    path = folder / "results.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_results_read_back_unchanged(tmp_path):
    doc = valid_results()
    assert read_results(write(tmp_path, json.dumps(doc))) == doc


def test_the_report_streams_fixtures_are_valid_results():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
    try:
        import report_fixture
    finally:
        sys.path.pop(0)
    check_results(report_fixture.make_results())
    check_results(report_fixture.minimal_results())


def test_unknown_keys_are_allowed_within_major_1(tmp_path):
    doc = valid_results()
    doc["schema_version"] = "1.7"
    doc["future_section"] = {"anything": [1, "x"]}
    doc["findings"][0]["future_field"] = {"nested": True}
    assert read_results(write(tmp_path, json.dumps(doc)))["future_section"] == {"anything": [1, "x"]}


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(findings="lots"), "findings: must be a list; got 'lots'"),
    (lambda d: d["findings"].append("F2"), "findings[1]: must be a mapping; got 'F2'"),
    (lambda d: d["findings"][0].pop("title"), "findings[0]: missing required key 'title'"),
    (lambda d: d.update(schema_version="2.0"), "schema_version: results schema '2.0' is not one this tool reads (1.x)"),
    (lambda d: d.update(schema_version=[1]), "schema_version: must be a version such as \"1.1\"; got [1]"),
    (lambda d: d.update(schema_version=2), "schema_version: results schema 2 is not one this tool reads (1.x)"),
    (lambda d: d.pop("run"), "missing required key 'run'"),
    (lambda d: d["run"].update(protected_attributes="skin_group"),
     "run.protected_attributes: must be a list; got 'skin_group'"),
    (lambda d: d["performance"]["overall"]["accuracy"].update(ci_low="0.1"),
     "performance.overall.accuracy.ci_low: must be a number; got '0.1'"),
    (lambda d: d["verdict"].update(n_findings=-1), "verdict.n_findings: must be at least 0; got -1"),
    (lambda d: d["gates"][0].update(observed=[1]), "gates[0].observed: must be a number; got [1]"),
])
def test_mistyped_sections_are_one_line(tmp_path, change, message):
    doc = valid_results()
    change(doc)
    path = write(tmp_path, json.dumps(doc))
    with pytest.raises(InputError) as info:
        read_results(path)
    assert str(info.value) == f"{path}: {message}"


HOSTILE = {
    "nan": '{"schema_version": "1.0", "run": {"q_max": NaN}}',
    "infinity": '{"schema_version": "1.0", "run": {}, "gates": [{"status": "PASS", "observed": Infinity}]}',
    "huge_float": '{"schema_version": "1.0", "run": {"q_max": 1e999}}',
    "5000_digits": '{"schema_version": "1.0", "run": {"n": ' + "9" * 5000 + "}}",
    "deep": '{"schema_version": "1.0", "run": {}, "methods": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "findings_string": '{"schema_version": "1.0", "run": {}, "findings": "none at all"}',
    "top_level_list": "[]",
    "not_json": "{",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["report", "gate"])
def test_report_and_gate_refuse_hostile_results_with_one_line(tmp_path, case, command):
    path = write(tmp_path, HOSTILE[case])
    args = ["report", str(path)] if command == "report" else ["gate", str(path), "--gates", "strict"]
    line = assert_error_line(runner.invoke(app, args))
    assert str(path) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # nothing written


def _outcome(folder: Path, text: str) -> None:
    path = write(folder, text)
    try:
        data = read_results(path)
    except InputError as err:
        assert_one_line(str(err))
        return
    # A document that reads is one every gate can be evaluated on without raising.
    evaluate_gates(load_gates("strict"), data)


@QUICK
@given(results_documents())
def test_any_results_document_reads_or_is_one_line(tmp_path_factory, text):
    _outcome(tmp_path_factory.mktemp("r"), text)


@pytest.mark.slow
@LONG
@given(results_documents())
def test_any_results_document_reads_or_is_one_line_long(tmp_path_factory, text):
    _outcome(tmp_path_factory.mktemp("r"), text)


# ---------------------------------------------------------------- a results.json that contradicts itself

def _set(doc: dict, path: str, value) -> dict:
    node = doc
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


CONTRADICTIONS = {
    "verdict.status": ("clean", "verdict.status: must be 'gate-failed', 'untested', 'biased'"),
    "findings_count": (3, "findings_count is 3 but findings holds 1"),
    "verdict.n_findings": (0, "verdict.n_findings is 0 but findings holds 1"),
    "verdict.n_causes": (4, "verdict.n_causes is 4 but causes holds 1"),
    "causes.0.finding_ids": (["F1", "F9"], "names findings that do not exist: ['F9']"),
    "findings.0.cause_id": ("C7", "names cause 'C7', which does not exist"),
    "findings.0.category": ("maybe", "findings[0].category: must be 'decision' or 'metric_space'"),
    "findings.0.review.status": ("approved", "findings[0].review.status: must be"),
    "gates.0.status": ("OK", "gates[0].status: must be 'PASS'"),
    "findings.0.examples.0.probability": (1.5, "must be at most 1"),
    "disparities.skin_group.accuracy_difference.q_value": (-0.1, "must be at least 0"),
}


@pytest.mark.parametrize("path", sorted(CONTRADICTIONS))
def test_a_results_file_that_contradicts_itself_is_refused(tmp_path, path):
    value, message = CONTRADICTIONS[path]
    with pytest.raises(InputError) as info:
        read_results(write(tmp_path, json.dumps(_set(valid_results(), path, value))))
    assert message in str(info.value)
    assert_one_line(str(info.value))


@pytest.mark.parametrize("status, causes, attributes", [
    ("no-flag", [("C1", "decision")], ["skin_group"]),           # a decision cause is a bias
    ("biased", [("C1", "metric_space")], ["skin_group"]),        # metric-space only
    ("metric-space-only", [("C1", "decision")], ["skin_group"]),
    ("biased", [("C1", "decision")], []),                        # nothing was compared: untested
    ("gate-failed", [("C1", "decision")], ["skin_group"]),       # no gate record failed
])
def test_the_verdict_status_follows_from_the_causes(tmp_path, status, causes, attributes):
    doc = valid_results()
    doc["verdict"]["status"] = status
    doc["run"]["protected_attributes"] = attributes
    doc["causes"] = [{"id": cid, "category": cat, "title": "t", "finding_ids": ["F1"]} for cid, cat in causes]
    with pytest.raises(InputError, match="verdict.status"):
        read_results(write(tmp_path, json.dumps(doc)))


def test_a_consistent_verdict_reads(tmp_path):
    doc = valid_results()
    doc["gates"][0]["status"] = "FAIL"
    doc["verdict"]["status"] = "gate-failed"
    assert read_results(write(tmp_path, json.dumps(doc)))["verdict"]["status"] == "gate-failed"
