"""Gates relative to a baseline run: `change: true`, the baseline from the file or --baseline, bad input."""

import json

import pytest
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.errors import UsageError
from tinyemo_audit.gates import evaluate_gates, load_gates, parse_gates, resolve_baseline

runner = CliRunner()
GATES = {"version": 1, "gates": [
    {"name": "gap may not grow by 2 points", "metric": "disparities.{attribute}.accuracy_difference",
     "on": "ci_low", "max": 0.02, "change": True},
    {"name": "no more findings", "metric": "findings_count", "max": 0, "change": True},
    {"name": "gap", "metric": "disparities.{attribute}.accuracy_difference", "max": 0.5},
]}


def run(hits_b, findings=0):
    return {"schema_version": "1.1", "run": {"dataset": "faces", "protected_attributes": ["site"]},
            "findings": [], "causes": [], "findings_count": findings,
            "disparities": {"site": {"accuracy_difference": {
                "value": (900 - hits_b) / 1000, "ci_low": 0.0, "ci_high": 0.2,
                "successes_by_group": {"a": 900, "b": hits_b}, "trials_by_group": {"a": 1000, "b": 1000}}}}}


def statuses(outcomes):
    return {o.gate: o.status for o in outcomes}


def test_a_confident_growth_fails_and_noise_passes():
    spec = parse_gates(GATES)
    assert statuses(evaluate_gates(spec, run(800, 1), baseline=run(880))) == {
        "gap may not grow by 2 points": "FAIL", "no more findings": "FAIL", "gap": "PASS"}
    assert statuses(evaluate_gates(spec, run(875), baseline=run(880))) == {
        "gap may not grow by 2 points": "PASS", "no more findings": "PASS", "gap": "PASS"}
    outcome = evaluate_gates(spec, run(800), baseline=run(880))[0]
    assert outcome.bound == "change ci_low <= 0.02" and "base 0.02" in outcome.details


def test_without_a_baseline_a_change_gate_is_an_error_never_a_pass():
    outcomes = evaluate_gates(parse_gates(GATES), run(800))
    assert statuses(outcomes)["no more findings"] == "ERROR" and statuses(outcomes)["gap"] == "PASS"


def test_resolving_needs_a_baseline(tmp_path):
    with pytest.raises(UsageError, match="no baseline was given"):
        resolve_baseline(parse_gates(GATES))
    assert resolve_baseline(parse_gates({"version": 1, "gates": GATES["gates"][2:]})) is None


def test_a_gate_file_names_its_baseline_relative_to_itself(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(run(880)))
    (tmp_path / "gates.yaml").write_text(json.dumps({**GATES, "baseline": "base.json"}))
    spec = load_gates(tmp_path / "gates.yaml")
    assert resolve_baseline(spec)["findings_count"] == 0


def test_cli_gate_with_baseline(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(run(880)))
    # Files read from disk are checked whole, so the CLI's new run has no findings
    # (its findings list would have to hold them); the growing gap alone fails it.
    (tmp_path / "new.json").write_text(json.dumps(run(800)))
    (tmp_path / "gates.yaml").write_text(json.dumps(GATES))
    args = ["gate", str(tmp_path / "new.json"), "--gates", str(tmp_path / "gates.yaml")]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 2 and "no baseline was given" in missing.stderr
    assert not (tmp_path / "junit.xml").exists()
    failed = runner.invoke(app, [*args, "--baseline", str(tmp_path / "base.json")])
    assert failed.exit_code == 1 and "change ci_low &lt;= 0.02" in (tmp_path / "summary.md").read_text()
    (tmp_path / "other.json").write_text(json.dumps({**run(880), "run": {"dataset": "predictions"}}))
    refused = runner.invoke(app, [*args, "--baseline", str(tmp_path / "other.json"),
                                  "--junit", str(tmp_path / "j2.xml")])
    assert refused.exit_code == 2 and "a comparison needs the same data" in refused.stderr
    assert not (tmp_path / "j2.xml").exists()
