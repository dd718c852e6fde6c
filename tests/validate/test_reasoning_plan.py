"""Tests of validate/_reasoning.py and `validate --reasoning`: a 1 + 1 plan end to end on a tiny MM-LLM, the counting, bad input.

The end-to-end plan retrains a reasoning part on a tiny randomly initialised Llama (tests/reasoning's
fixtures; never the real SmolLM2) per trial and audits it with small settings, through the API and
through the CLI (same seed: the same figures, timings aside). Power and false-alarm counting is
checked by hand on made-up trial rows.
"""

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings as hsettings, strategies as st
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.metrics import wilson_interval
from tinyemo_audit.paths import configs_dir
from tinyemo_audit.reasoning.settings import InstructConfig, ReasoningTrainConfig
from tinyemo_audit.validate import REASONING_FULL, REASONING_QUICK, ReasoningPlan, run_reasoning_validation
from tinyemo_audit.validate import _reasoning, validation_markdown
from tinyemo_audit.validate._reasoning import MSG_FACES_ONLY, plan_mode, summarise

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reasoning"))
from reasoning_fixtures import TINY_STEPS, copy_bundle, save_tiny_llama  # noqa: E402

runner = CliRunner()
TINY_PLAN = ReasoningPlan(planted_trials=1, clean_trials=1, n_images=24, train=replace(ReasoningTrainConfig(), **TINY_STEPS))


def tiny_settings() -> dict:
    from tinyemo_audit.audit.settings import load_settings

    values = load_settings()
    values.update(n_boot=100, n_perm_paired=1000, twins_per_attribute=60)
    values["reasoning"] = {**values["reasoning"], "twins_per_attribute": 4, "leakage": {"folds": 2, "n_perm": 100}}
    return values


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory) -> Path:
    """A copy of the default bundle whose reasoning part was trained on a tiny random Llama (its base for the trials)."""
    from tinyemo_audit.reasoning.instruct import build_instruct
    from tinyemo_audit.reasoning.train import train_reasoning

    base = tmp_path_factory.mktemp("rsnval")
    llama = save_tiny_llama(base / "llama")
    build_instruct(InstructConfig(n_images=16, seed=0), base / "instruct", progress=False)
    bundle = copy_bundle(base / "bundle")
    train_reasoning(bundle, base / "instruct", ReasoningTrainConfig(llm=f"llm:{llama}", **TINY_STEPS), progress=False)
    return bundle


@pytest.fixture(scope="module")
def api_result(tiny_bundle):
    return run_reasoning_validation(seed=1, plan=TINY_PLAN, model=tiny_bundle, settings=tiny_settings(),
                                    progress=False)


def _without_timings(result: dict) -> dict:
    return {k: v for k, v in result["reasoning"].items() if k != "timings"}


def test_plan_runs_a_planted_and_a_clean_trial_end_to_end(api_result, tiny_bundle):
    section = api_result["reasoning"]
    planted, clean = section["trials"]
    assert (planted["planted"], clean["planted"]) == (True, False)
    assert planted["seed"] == clean["seed"] == 1001  # master 1, trial 0: the label plan's seed rule
    assert planted["knob_rows"] > 0 and clean["knob_rows"] == 0  # the knob marked dark neutral faces only when on
    for trial in (planted, clean):
        assert trial["n_tests"] > 0 and trial["n_flags"] == len(trial["flags"])
        assert set(trial["final_loss"]) == {"stage 1 (connector)", "stage 2 (connector + LoRA)"}
        figures = trial["realised"]
        assert figures["n_twins"] == 4 and set(figures["conditional_with_knob_word"]) == {"light", "medium", "dark"}
    assert section["plan"]["train"]["llm"].startswith("llm:")  # the base of the bundle's own part, not SmolLM2
    assert section["plan"]["train"]["stage2_steps"] == TINY_STEPS["stage2_steps"]
    assert section["knob"]["direction"]["words"] == ["hostile"]
    power, alarm = summarise(section["trials"])
    assert section["power"] == power and section["false_alarm"] == alarm
    assert api_result["reasoning_power"] == power["rate"] and api_result["mode"] == "custom"
    assert [t["seed"] for t in section["timings"]["trials"]] == [1001, 1001]
    markdown = validation_markdown(api_result)
    assert "## Reasoning plan" in markdown and "| 1001 | on |" in markdown and "| 1001 | off |" in markdown


def test_the_bundle_is_never_written_and_the_workspace_is_removed(api_result, tiny_bundle, session_cache):
    spec = json.loads((tiny_bundle / "reasoning" / "reasoning.json").read_text())
    assert spec["training"]["data"]["n_images"] == 16  # still the fixture's part, not a trial's
    assert list((Path(session_cache) / _reasoning.WORKSPACE).iterdir()) == []


def test_cli_quick_json_same_seed_same_figures(api_result, tiny_bundle, tmp_path, monkeypatch):
    from tinyemo_audit.audit import settings as audit_settings

    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump(tiny_settings(), sort_keys=False, allow_unicode=True))
    monkeypatch.setattr(audit_settings, "DEFAULT_SETTINGS", config)
    import tinyemo_audit.validate as validate_package

    monkeypatch.setattr(validate_package, "REASONING_QUICK", TINY_PLAN)
    monkeypatch.setattr(_reasoning, "REASONING_QUICK", TINY_PLAN)
    out = tmp_path / "validity-reasoning.json"
    result = runner.invoke(app, ["validate", "--reasoning", "--quick", "--json", "--seed", "1", "--model",
                                 str(tiny_bundle), "--out", str(out), "--no-progress", "--no-resume"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert json.loads(out.read_text()) == printed and printed["mode"] == "quick"
    # greedy decoding, seeded training and audit: the same figures (compared as JSON, as both are written)
    assert _without_timings(printed) == _without_timings(json.loads(json.dumps(api_result)))


def test_a_second_run_of_the_same_plan_reuses_the_finished_trials(api_result, tiny_bundle, session_cache):
    from tinyemo_audit.validate import _trial_cache

    kept = sorted(_trial_cache.folder().glob("*.json"))
    assert len(kept) >= 2  # the api_result run kept its planted and its clean trial
    again = run_reasoning_validation(seed=1, plan=TINY_PLAN, model=tiny_bundle, settings=tiny_settings(),
                                     progress=False)
    assert _without_timings(again) == _without_timings(api_result)
    assert all(t["reused"] for t in again["reasoning"]["timings"]["trials"])
    # another plan (one more training step) shares no trial with it: its trials run
    other = replace(TINY_PLAN, train=replace(TINY_PLAN.train, stage2_steps=TINY_PLAN.train.stage2_steps + 1))
    fresh = run_reasoning_validation(seed=1, plan=other, model=tiny_bundle, settings=tiny_settings(), progress=False)
    assert not any(t.get("reused") for t in fresh["reasoning"]["timings"]["trials"])


def test_a_damaged_kept_trial_is_rerun_not_trusted(api_result, tiny_bundle, session_cache):
    from tinyemo_audit.validate import _trial_cache

    for path in _trial_cache.folder().glob("*.json"):
        path.write_text('{"key": "x", "row": ')  # cut short, as by a full disk
    again = run_reasoning_validation(seed=1, plan=TINY_PLAN, model=tiny_bundle, settings=tiny_settings(),
                                     progress=False)
    assert not any(t.get("reused") for t in again["reasoning"]["timings"]["trials"])
    assert _without_timings(again) == _without_timings(api_result)


def _one_error_line(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tinyemo-audit: error:") and fragment in lines[0], result.output


def test_bundle_without_a_reasoning_part_is_exit_2_one_line(tmp_path):
    bundle = copy_bundle(tmp_path / "no-part")
    out = tmp_path / "v.json"
    result = runner.invoke(app, ["validate", "--reasoning", "--quick", "--model", str(bundle), "--out", str(out),
                                 "--no-progress"])
    _one_error_line(result, "has no reasoning part")
    assert not out.exists()


@pytest.mark.parametrize("args, fragment", [
    (["--reasoning", "--trials", "0"], "--trials must be an integer from 1 to 100; got 0"),
    (["--reasoning", "--trials", "101"], "--trials must be an integer from 1 to 100; got 101"),
    (["--reasoning", "--seed", "9"], "--seed must be an integer from 0 to 8; got 9"),
    (["--trials", "3"], "--trials belongs to the reasoning plan: add --reasoning"),
    (["--model", "tinyemo-faces-mini"], "--model belongs to the reasoning plan: add --reasoning"),
    (["--no-resume"], "--no-resume belongs to the reasoning plan: add --reasoning"),
    (["--reasoning", "--model", "no-such-bundle"], "no-such-bundle"),
])
def test_bad_options_are_exit_2_one_line(args, fragment, tmp_path):
    out = tmp_path / "v.json"
    result = runner.invoke(app, ["validate", "--quick", "--no-progress", "--out", str(out), *args])
    _one_error_line(result, fragment)
    assert not out.exists()


@hsettings(max_examples=25, deadline=None)
@given(st.one_of(st.integers(max_value=0), st.integers(min_value=_reasoning.MAX_TRIALS + 1)))
def test_any_trial_count_out_of_range_is_exit_2(trials):
    result = runner.invoke(app, ["validate", "--reasoning", "--trials", str(trials), "--no-progress"])
    _one_error_line(result, "--trials must be an integer from 1 to 100")


def test_a_bundle_of_other_classes_is_exit_2_one_line(tiny_bundle, tmp_path):
    import shutil

    other = Path(shutil.copytree(tiny_bundle, tmp_path / "other"))
    spec = json.loads((other / "bundle.json").read_text())
    spec["taxonomy"]["classes"] = list(reversed(spec["taxonomy"]["classes"]))  # not the corpus's label order
    (other / "bundle.json").write_text(json.dumps(spec))
    result = runner.invoke(app, ["validate", "--reasoning", "--model", str(other), "--no-progress"])
    _one_error_line(result, MSG_FACES_ONLY.split("{")[0].strip())


def _row(planted: bool, found: bool, n_flags: int) -> dict:
    return {"planted": planted, "found": found, "n_flags": n_flags}


def test_power_and_false_alarms_counted_by_hand():
    trials = ([_row(True, f, 1 + f) for f in (True, True, False, True, False)]
              + [_row(False, f, n) for f, n in ((False, 0), (True, 2), (False, 0), (False, 0), (False, 1))])
    power, alarm = summarise(trials)
    assert (power["trials"], power["hits"], power["rate"]) == (5, 3, 0.6)
    assert (power["ci_low"], power["ci_high"]) == pytest.approx(tuple(map(float, wilson_interval(3, 5))))
    # false alarms: any finding on a clean trial (2 of 5), whatever its direction; 1 of them in the planted one
    assert (alarm["trials"], alarm["hits"], alarm["rate"], alarm["in_planted_direction"]) == (5, 2, 0.4, 1)
    # a planted trial whose only findings are elsewhere is a miss, not a hit
    assert summarise([_row(True, False, 4), _row(False, False, 0)])[0]["hits"] == 0


@hsettings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 5)), min_size=1, max_size=30))
def test_counting_properties(rows):
    trials = [_row(p, f and n > 0, n) for p, f, n in rows]  # a hit is one of the trial's findings
    power, alarm = summarise(trials)
    planted = [t for t in trials if t["planted"]]
    clean = [t for t in trials if not t["planted"]]
    assert power["trials"] == len(planted) and alarm["trials"] == len(clean)
    assert power["hits"] == sum(t["found"] for t in planted)
    assert alarm["hits"] == sum(t["n_flags"] > 0 for t in clean) >= alarm["in_planted_direction"]
    for row in (power, alarm):
        if row["trials"]:
            assert row["ci_low"] <= row["rate"] <= row["ci_high"]
        else:
            assert row["rate"] is None and row["ci_low"] is None


def test_the_full_plan_retrains_as_shipped_and_the_quick_one_shorter():
    shipped = ReasoningTrainConfig.from_sources(configs_dir() / "reasoning" / "faces-mini.yaml")
    shipped_images = InstructConfig.from_sources(configs_dir() / "instruct" / "faces-annotator-bias.yaml").n_images
    assert (REASONING_FULL.train, REASONING_FULL.n_images) == (shipped, shipped_images)
    quick = REASONING_QUICK
    assert quick.n_images < shipped_images
    assert quick.train.stage1_steps < shipped.stage1_steps and quick.train.stage2_steps < shipped.stage2_steps
    assert replace(quick.train, stage1_steps=shipped.stage1_steps, stage2_steps=shipped.stage2_steps) == shipped
    assert REASONING_FULL.planted_trials >= 5 and REASONING_FULL.clean_trials >= 5
    assert (REASONING_QUICK.planted_trials, REASONING_QUICK.clean_trials) == (1, 1)
    assert REASONING_QUICK.train.stage2_steps < REASONING_FULL.train.stage2_steps
    assert plan_mode(replace(REASONING_FULL, planted_trials=8, clean_trials=8)) == "full"
    assert plan_mode(TINY_PLAN) == "custom"
    assert REASONING_FULL.to_dict()["train"]["stage2_steps"] == REASONING_FULL.train.stage2_steps
