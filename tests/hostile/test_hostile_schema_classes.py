"""Issue 11, the schema layer's classes, through the real CLI (P = in its own process).

- class 3, validate everything before any work: arguments and settings fail with exit 2 and one
  line before the first stage line;
- class 6, reading results.json: one schema check before `report` or `gate` uses it;
- class 8, sizes: bounded echoes, YAML alias bombs refused fast;
- class 9, silent wrong settings: merges key by key, duplicate keys and unknown groups are errors;
- class 11 (gates): a gate whose metric does not exist is ERROR or SKIP, never PASS.

docs/hostile-inputs.md lists the rules and where they live.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from schema_run_stub import no_work
from schema_strategies import BILLION_LAUGHS, assert_error_line, valid_results
from tinyemo_audit.audit.settings import read_settings
from tinyemo_audit.cli.main import app
from tinyemo_audit.model.bundle import list_bundles

cli = CliRunner()
needs_bundle = pytest.mark.skipif("tinyemo-faces-mini" not in list_bundles(), reason="default bundle not trained")


def process(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


# Runs the CLI as `python -m tinyemo_audit.cli.main` would, and at exit records the process's own
# peak memory (VmHWM belongs to the exec'd image: the forked copy of the test process is not counted,
# as it is in ru_maxrss).
PEAK_WRAPPER = """
import atexit, runpy, sys
def record(path=sys.argv.pop(1)):
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(record)
sys.argv[0] = "tinyemo-audit"
runpy.run_module("tinyemo_audit.cli.main", run_name="__main__")
"""


def peak_memory_of(folder, *args) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI in a child process; its result and its peak resident memory in bytes (Linux)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    peak = folder / "peak.kb"
    result = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, str(peak), *map(str, args)],
                            capture_output=True, text=True, env=env, timeout=120)
    return result, int(peak.read_text()) * 1024


def write_results(folder, doc) -> str:
    path = folder / "results.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


# ---------------------------------------------------------------- class 3: validate everything first

@needs_bundle
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_class3_seed_out_of_range_fails_before_work_in_a_real_process(tmp_path, seed):
    line = assert_error_line(process("run", "--seed", seed, "--out", tmp_path / "out"))
    assert line == f"--seed must be an integer from 0 to 4,294,967,295; got {seed}"
    assert not (tmp_path / "out").exists()


ISSUE_SETTINGS = {
    "n_boot: 0\n": "n_boot: must be at least 100; got 0",
    "text_probes: {templates: 'a {emotion} {group}'}\n": "text_probes.templates: must be a list",
    "q_max: 2\n": "q_max: must be less than 1.0; got 2",
    "discovery: {method: spectral}\n": "discovery.method: must be 'hdbscan' or 'kmeans'; got 'spectral'",
    "text_probes: {templates: ['a {group}']}\n": "templates must each use exactly {emotion} and {group}",
    "association_sets: {negative: angry}\n": "association_sets.negative: must be a list",
    "min_effect: {skew: -1}\n": "min_effect.skew: must be at least 0.0; got -1",
    # The reasoning audit's settings and lexicons (issue 14).
    "reasoning: {enabled: 'yes'}\n": "reasoning.enabled:",
    "reasoning: {tokens: 9}\n": "reasoning: unknown key 'tokens'; valid keys: enabled, twins_per_attribute",
    "reasoning: {lexicons: {hair: {}}}\n": "reasoning.lexicons.hair: an empty lexicon",
    "reasoning: {lexicons: {age: {general: []}}}\n": "reasoning.lexicons.age.general: must not be empty",
    "reasoning: {lexicons: {age: {groups: {old: [42]}}}}\n": "reasoning.lexicons.age.groups.old[0]: must be a string",
}


@needs_bundle
@pytest.mark.parametrize("text", sorted(ISSUE_SETTINGS))
def test_class3_bad_settings_fail_before_the_first_stage_line(tmp_path, text):
    config = tmp_path / "audit.yaml"
    config.write_text(text)
    line = assert_error_line(cli.invoke(app, ["run", "--out", str(tmp_path / "out"), "--config", str(config)]))
    assert line.startswith(f"{config}: ") and ISSUE_SETTINGS[text] in line
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- class 6: reading results.json

HOSTILE_RESULTS = {
    "nan_literal": ('{"schema_version": "1.0", "run": {}, "performance": {"overall": {"accuracy": '
                    '{"value": NaN}}}}', "NaN is not a JSON number"),
    "5000_digit_integer": ('{"schema_version": "1.0", "run": {"n": ' + "7" * 5000 + "}}", "an integer of 5,000 digits"),
    "deep_arrays": ('{"schema_version": "1.0", "run": {}, "clusters": ' + "[" * 200_000 + "]" * 200_000 + "}",
                    "nested more than 64 levels deep"),
    "findings_string": ('{"schema_version": "1.0", "run": {}, "findings": "3 findings"}',
                        "findings: must be a list; got '3 findings'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_RESULTS))
def test_class6_report_refuses_hostile_results_in_a_real_process(tmp_path, case):
    text, fragment = HOSTILE_RESULTS[case]
    path = write_results(tmp_path, text)
    line = assert_error_line(process("report", path))
    assert fragment in line
    assert not (tmp_path / "report.html").exists()


def test_class6_a_non_finite_ci_end_cannot_reach_a_gate(tmp_path):
    doc = valid_results()
    doc["disparities"]["skin_group"]["accuracy_difference"]["ci_low"] = "@INF@"
    path = write_results(tmp_path, json.dumps(doc).replace('"@INF@"', "-Infinity"))
    line = assert_error_line(cli.invoke(app, ["gate", str(path), "--gates", "strict"]))
    assert "-Infinity is not a JSON number" in line
    assert not (tmp_path / "junit.xml").exists()


# ---------------------------------------------------------------- class 8: sizes

@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc")
def test_class8_a_440_byte_alias_bomb_gate_file_is_one_short_line_in_a_real_process(tmp_path):
    gates = tmp_path / "bomb.yaml"
    gates.write_text("version: 1\n" + BILLION_LAUGHS)
    assert gates.stat().st_size < 500
    result, peak = peak_memory_of(tmp_path, "gate", write_results(tmp_path, valid_results()), "--gates", gates)
    line = assert_error_line(result)
    assert "its aliases expand to more than 10,000 values" in line and len(line) < 300
    assert peak < 200 * 2**20, peak  # the issue measured 0.9 GB and a 72 MB line; the CLI itself needs ~40 MB


@needs_bundle
@pytest.mark.parametrize("text", ["n_boot: '" + "9" * 200_000 + "'\n",
                                  "reference_groups: {gender: '" + "x" * 10**6 + "'}\n",
                                  "discovery: {method: '" + "k" * 100_000 + "'}\n"])
def test_class8_huge_values_are_echoed_bounded(tmp_path, text):
    config = tmp_path / "audit.yaml"
    config.write_text(text)
    line = assert_error_line(cli.invoke(app, ["run", "--out", str(tmp_path / "out"), "--config", str(config)]))
    assert "characters)" in line  # the value is cut and its length given


# ---------------------------------------------------------------- class 9: silent wrong settings

def test_class9_a_partial_reference_groups_override_keeps_the_other_defaults(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text("reference_groups: {age: older}\ntext_probes: {terms: {age: {child: [a, b, c, d]}}}\n")
    settings = read_settings(config)
    assert settings.values["reference_groups"] == {"skin_group": "light", "gender": "masculine", "age": "older"}
    terms = settings.values["text_probes"]["terms"]
    assert set(terms) == {"gender", "skin_group", "age"} and terms["age"]["child"] == ["a", "b", "c", "d"]
    assert terms["age"]["older"] == ["old person", "elderly person", "senior", "grandparent"]


@needs_bundle
@pytest.mark.parametrize("text, fragment", [
    ("n_boot: 200\nn_boot: 2000\n", "the key 'n_boot' is given twice"),
    ("reference_groups: {skin_group: purple}\ntext_probes: {terms: {skin_group: null}}\n",
     "reference_groups.skin_group: 'purple' is not a group of 'skin_group'"),
    ("reference_groups: {site: north}\n", "reference_groups.site: the data has no attribute 'site'"),
    ("text_probes: {terms: {gender: {feminine: [woman]}}}\n", "paired term by term"),
])
def test_class9_settings_that_would_be_silently_wrong_are_errors(tmp_path, text, fragment):
    config = tmp_path / "audit.yaml"
    config.write_text(text)
    with no_work():
        result = cli.invoke(app, ["run", "--out", str(tmp_path / "out"), "--config", str(config)])
    assert fragment in assert_error_line(result)


# ---------------------------------------------------------------- class 11: gates on metrics that do not exist

@pytest.mark.parametrize("gate_set", ["strict", "lenient"])
def test_class11_gates_on_an_audit_without_protected_attributes_never_pass(tmp_path, gate_set):
    doc = valid_results()
    doc["run"]["protected_attributes"] = []
    doc["verdict"]["status"] = "untested"  # what a verdict with nothing compared says (the schema checks it)
    doc["disparities"] = {}  # nothing was compared
    doc["counterfactual"] = {"skin_group": doc["counterfactual"]["skin_group"]}  # a leftover, not audited
    result = cli.invoke(app, ["gate", str(write_results(tmp_path, doc)), "--gates", gate_set])
    assert result.exit_code == 1, result.output  # ERROR counts as a failure
    summary = (tmp_path / "summary.md").read_text()
    assert "the audit has no protected attribute" in summary
    junit = (tmp_path / "junit.xml").read_text()
    assert "<error" in junit and "<skipped" in junit
