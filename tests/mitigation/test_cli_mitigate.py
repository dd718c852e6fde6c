"""`mitigate` end to end on a tiny case: bundle, after-audit, comparison and trade-off written; the bundle loads."""

import json

from typer.testing import CliRunner

from tinyemo_audit.cli.main import app
from tinyemo_audit.model.bundle import load_bundle

runner = CliRunner()
SMALL = "n_boot: 100\nn_perm: 100\nn_perm_paired: 100\ntwins_per_attribute: 24\n"


def test_mitigate_thresholds_end_to_end(tmp_path):
    (tmp_path / "small.yaml").write_text(SMALL)
    out = tmp_path / "mit"
    result = runner.invoke(app, ["mitigate", "--method", "thresholds", "--attribute", "skin_group", "--target", "angry",
                                 "--n", "300", "--config", str(tmp_path / "small.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "thresholds: accuracy" in result.stdout
    bundle = load_bundle(out / "thresholds" / "bundle")
    assert bundle.spec["decision"]["kind"] == "one-vs-rest-thresholds"
    assert bundle.spec["mitigation"]["uses_protected_attribute_at_prediction"] is True
    # the MM-LLM comes along unchanged, so the after-audit reads the reasoning the before-audit read
    source = load_bundle("tinyemo-faces-mini")
    assert bundle.has_reasoning and sorted(p.name for p in (bundle.path / "reasoning").iterdir()) == \
        sorted(p.name for p in (source.path / "reasoning").iterdir())
    assert all((bundle.path / "reasoning" / p.name).read_bytes() == p.read_bytes()
               for p in (source.path / "reasoning").iterdir())
    card = (out / "thresholds" / "bundle" / "MODEL_CARD.md").read_text()
    assert "## Mitigation: thresholds" in card and "at prediction time" in card and "Measured by the after-audit" in card
    comparison = json.loads((out / "thresholds" / "comparison.json").read_text())
    assert comparison["base"]["name"] == "before" and comparison["new"]["name"] == "thresholds"
    # every finding entry says whether its change was tested; the trade-off row lists those only over the bar
    assert comparison["comparison_version"] == "1.1" and all("change" in f for f in comparison["findings"])
    after = json.loads((out / "thresholds" / "after" / "results.json").read_text())
    assert after["run"]["model"] == "tinyemo-faces-mini-thresholds"
    summary = json.loads((out / "mitigation.json").read_text())
    assert [row["method"] for row in summary["tradeoff"]] == ["before (no mitigation)", "thresholds"]
    assert isinstance(summary["tradeoff"][1]["crossed_findings"], list)
    page = (out / "tradeoff.html").read_text()
    assert "Mitigation trade-off" in page and 'src="http' not in page and "<link" not in page  # offline
    assert (out / "before" / "report.html").is_file()


def test_the_summary_shows_a_missing_accuracy_as_a_dash(tmp_path, monkeypatch):
    # an accuracy the audit could not compute is null with a note (or absent): the summary prints "—", no crash
    from tinyemo_audit import api
    from tinyemo_audit.mitigation import MitigationResult

    rows = [{"method": "before (no mitigation)", "accuracy": {"value": None, "note": "no labels"}, "biases": []},
            {"method": "prompt-projection", "accuracy": None, "biases": [], "new_findings": []}]
    monkeypatch.setattr(api, "mitigate", lambda **kwargs: MitigationResult(before={}, tradeoff=rows))
    result = runner.invoke(app, ["mitigate", "--method", "prompt-projection", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["before (no mitigation): accuracy —",
                                              "prompt-projection: accuracy —; 0 new findings"]
