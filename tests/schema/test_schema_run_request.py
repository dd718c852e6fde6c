"""tinyemo_audit/schema/run_request.py: every argument and setting of `run` is checked before any work.

The property tests drive the real CLI (typer's CliRunner) over generated arguments, settings files
and gate files. The dataset loader returns a small synthetic faces-like split and classification
is replaced by a sentinel, so a test reaches "work would start now" in milliseconds: every
generated input either reaches it or ends with exit 2 and one bounded error line, and no stage
line is ever printed before an error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from schema_run_stub import CLASSES, faces_like, no_work, reached_work
from schema_strategies import (
    LONG, QUICK, assert_error_line, gate_documents, settings_documents, yaml_text,
)
from tinyemo_audit.audit.settings import read_settings
from tinyemo_audit.cli.main import app
from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.model.bundle import list_bundles
from tinyemo_audit.schema.run_request import (
    SEED_MAX,
    RunRequest,
    check_against_data,
    check_count,
    check_seed,
)

cli = CliRunner()
needs_bundle = pytest.mark.skipif("tinyemo-faces-mini" not in list_bundles(), reason="default bundle not trained")


def invoke(folder, *args):
    with no_work():
        return cli.invoke(app, ["run", "--out", str(folder / "out"), *map(str, args)])


def outcome(folder, *args) -> str | None:
    """None when `run` reached its work; otherwise the one error line (asserted to be one bounded line)."""
    result = invoke(folder, *args)
    if reached_work(result):
        assert result.stderr.count("tinyemo-audit: error:") == 1  # the boundary's one line, no error before it
        return None
    line = assert_error_line(result)  # exit 2, one line: so no stage line came before it
    assert not (folder / "out").exists()
    return line


# ---------------------------------------------------------------- arguments

@needs_bundle
@pytest.mark.parametrize("args, line", [
    (["--seed", -1], "--seed must be an integer from 0 to 4,294,967,295; got -1"),
    (["--seed", 2**32], "--seed must be an integer from 0 to 4,294,967,295; got 4294967296"),
    (["--seed", 10**40], "--seed must be an integer from 0 to 4,294,967,295; got 1" + "0" * 40),
    (["--n", 1], "--n must be an integer from 2 to 1,000,000,000; got 1"),
    (["--n", 10**12], "--n must be an integer from 2 to 1,000,000,000; got 1000000000000"),
    (["--n-twins", 0], "--n-twins must be an integer from 2 to 5,000; got 0"),
    (["--n-twins", 10**6], "--n-twins must be an integer from 2 to 5,000; got 1000000"),
])
def test_out_of_range_arguments_exit_2_before_any_stage(tmp_path, args, line):
    assert outcome(tmp_path, *args) == line


@needs_bundle
@pytest.mark.parametrize("args", [["--seed", 0], ["--seed", SEED_MAX], ["--n", 3], ["--n", 2], ["--n-twins", 2]])
def test_edge_values_are_accepted(tmp_path, args):
    assert outcome(tmp_path, *args) is None


def test_check_count_and_seed_refuse_non_integers():
    for bad in (True, 1.0, "3", None):
        with pytest.raises(UsageError, match="--seed must be an integer from 0 to"):
            check_seed(bad)
    assert check_count(None, "--n", low=2, high=5) is None
    assert check_seed(SEED_MAX) == SEED_MAX


# ---------------------------------------------------------------- settings against the data

def request_with(tmp_path, text: str | None) -> RunRequest:
    config = None
    if text is not None:
        config = tmp_path / "audit.yaml"
        config.write_text(text)
    return RunRequest(dataset="faces", model="m", seed=0, n=None, n_twins=None, settings=read_settings(config),
                      gate_spec=None, bundle=None)


ATTRS = ["skin_group", "gender", "age"]


def test_user_reference_group_missing_from_the_data_is_an_error(tmp_path):
    data = faces_like()
    data.attributes["gender"] = np.where(data.attributes["gender"] == "feminine", "female", "male")
    request = request_with(tmp_path, "reference_groups: {age: older, gender: masculine}\n")
    with pytest.raises(InputError) as info:
        check_against_data(request, data.attributes, ATTRS, CLASSES)
    assert str(info.value) == (f"{tmp_path / 'audit.yaml'}: reference_groups.gender: 'masculine' is not a group of "
                               "'gender' in the 60 audited items (groups: ['female', 'male'])")


def test_user_reference_for_an_attribute_the_data_lacks_is_an_error(tmp_path):
    data = faces_like()
    request = request_with(tmp_path, "reference_groups: {region: north}\n")
    with pytest.raises(InputError, match=r"reference_groups\.region: the data has no attribute 'region' "
                                         r"\(its attributes: \['skin_group', 'gender', 'age', 'glasses'\]\)"):
        check_against_data(request, data.attributes, ATTRS, CLASSES)


def test_defaults_that_do_not_fit_the_data_are_not_applied(tmp_path):
    data = faces_like()
    data.attributes["gender"] = np.where(data.attributes["gender"] == "feminine", "female", "male")
    references = check_against_data(request_with(tmp_path, None), data.attributes, ATTRS, CLASSES)
    # Recorded as used only where the data has the group: never "masculine" on female/male data.
    assert references == {"skin_group": "light", "gender": None, "age": "adult"}


def test_user_association_labels_must_be_classes(tmp_path):
    request = request_with(tmp_path, "association_sets: {negative: [angri]}\n")
    with pytest.raises(InputError, match=r"association_sets\.negative: 'angri' is not a class of this audit"):
        check_against_data(request, faces_like().attributes, ATTRS, CLASSES)
    # The defaults are not the user's: labels a model lacks are left to the probe.
    check_against_data(request_with(tmp_path, None), faces_like().attributes, ATTRS, ("happy", "sad"))


@needs_bundle
def test_settings_that_do_not_fit_the_data_fail_before_the_next_stage(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text("reference_groups: {gender: nonbinary}\ntext_probes: {terms: {gender: null}}\n")
    line = outcome(tmp_path, "--config", config)
    assert "reference_groups.gender: 'nonbinary' is not a group of 'gender'" in line


# ---------------------------------------------------------------- the whole argument space

arguments = st.fixed_dictionaries({}, optional={
    "--seed": st.one_of(st.integers(-5, 5), st.integers(-(2**70), 2**70), st.sampled_from([SEED_MAX, 2**32])),
    "--n": st.one_of(st.integers(-3, 100), st.integers(-(2**70), 2**70)),
    "--n-twins": st.one_of(st.integers(-3, 10), st.integers(4990, 5010), st.integers(-(2**70), 2**70)),
    "--config": settings_documents,
    "--gates": gate_documents,
    "--dataset": st.sampled_from(["faces", "nosuch", "csv", "features:"]),
})


def _check_arguments(folder, chosen: dict) -> None:
    args = []
    for option, value in chosen.items():
        if option in ("--config", "--gates"):
            path = folder / f"{option[2:]}.yaml"
            path.write_text(yaml_text(value), encoding="utf-8")
            value = path
        args += [option, value]
    outcome(folder, *args)


@needs_bundle
@QUICK
@given(arguments)
def test_any_run_arguments_reach_work_or_exit_2_with_one_line(tmp_path_factory, chosen):
    _check_arguments(tmp_path_factory.mktemp("run"), chosen)


@needs_bundle
@pytest.mark.slow
@LONG
@given(arguments)
def test_any_run_arguments_reach_work_or_exit_2_with_one_line_long(tmp_path_factory, chosen):
    _check_arguments(tmp_path_factory.mktemp("run"), chosen)
