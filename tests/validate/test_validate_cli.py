"""The `validate` command's surface: options, and bad input as exit 2 with one line."""

import typer
from typer.testing import CliRunner

from tinyemo_audit.cli.main import app


def _app() -> typer.Typer:
    return app  # the real app: its error boundary turns errors into exit 2 and one line


def test_help_lists_the_options():
    result = CliRunner().invoke(_app(), ["validate", "--help"])
    assert result.exit_code == 0
    for option in ("--quick", "--json", "--seed", "--out"):
        assert option in result.output


def test_bad_seed_exit_2_one_line():
    result = CliRunner().invoke(_app(), ["validate", "--quick", "--seed", "42", "--no-progress"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "tinyemo-audit: error: --seed must be an integer from 0 to 8; got 42"
    ]
