"""The command line: help, exit codes and one-line errors for unknown names."""

import pytest
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "eval", "run", "faces", "models"):
        assert command in result.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["eval", "--dataset", "nope"], "unknown dataset 'nope'; valid choices: abstract:<...>"),
        (["eval", "--model", "no-such-bundle"], "unknown model 'no-such-bundle'; valid choices:"),
        (["run", "--model", "no-such-bundle"], "unknown model 'no-such-bundle'; valid choices:"),
        (["eval", "--split", "dev"], "unknown split 'dev'; valid choices: train, val, test"),
        (["train", "--config", "/nonexistent.yaml"], "config file not found"),
    ],
)
def test_bad_names_exit_2_with_one_line(args, fragment):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_unknown_option_is_usage_error():
    result = runner.invoke(app, ["run", "--no-such-flag"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "flag, value, fragment",
    [
        ("--label-space", "gpt-9", "unknown label space 'gpt-9'; valid choices:"),
        ("--encoder", "resnet", "unknown encoder 'resnet'; valid choices:"),
        ("--loss", "hinge", "unknown loss 'hinge'; valid choices:"),
        ("--dataset", "affectnet-typo", "unknown dataset 'affectnet-typo'; valid choices:"),
    ],
)
def test_train_unknown_names_exit_2(flag, value, fragment, tmp_path):
    result = runner.invoke(app, ["train", flag, value, "--out", str(tmp_path / "b")])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert not (tmp_path / "b").exists()
