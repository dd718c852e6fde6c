"""The full `validate --quick --json` run (slow): the figures issue 6 checks, from the command line."""

import json

import pytest
import typer
from typer.testing import CliRunner

from tinyemo_audit.model.bundle import list_bundles

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("tinyemo-faces-mini" not in list_bundles(), reason="default bundle not trained"),
]


def _app() -> typer.Typer:
    from tinyemo_audit.cli.main import app

    return app  # the command as cli/main.py registers it, behind the error boundary


def test_quick_run_json(tmp_path):
    out = tmp_path / "validity.json"
    result = CliRunner().invoke(_app(), ["validate", "--quick", "--json", "--no-progress", "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert json.loads(out.read_text()) == figures
    assert figures["mode"] == "quick"
    assert figures["power_10pt"] >= 0.9
    assert figures["false_alarm_rate"] <= 0.05
    assert figures["placebo_false_alarm_rate"] <= 0.05
    assert 0.93 <= figures["ci_coverage"] <= 0.97
    assert figures["precision_at_10"] >= figures["baseline_precision_at_10"]

