"""Tests for tinyemo_audit/gates/_markdown.py: the CI job summary."""

from tinyemo_audit.gates import ERROR, FAIL, PASS, WARN, GateOutcome, evaluate_gates, gates_markdown, load_gates


def outcome(status, gate="gap", attribute="skin_group", observed=0.0812345, details="d"):
    return GateOutcome(gate, f"disparities.{attribute}.accuracy_difference", attribute, status,
                       None if status == ERROR else observed, "ci_low <= 0.05", details)


def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Status")]


def test_verdict_first_then_table_worst_first():
    outcomes = [outcome(PASS, gate="p"), outcome(WARN, gate="w"), outcome(ERROR, gate="e"), outcome(FAIL, gate="f")]
    text = gates_markdown(outcomes)
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("### ")
    assert lines[1] == "**FAIL**: 1 failed, 1 error, 1 warning, 1 passed (4 checks)"
    assert "Exit code 1" in lines[2] and "ERROR" in lines[2]
    assert "| Status | Gate | Attribute | Metric | Observed | Bound | Details |" in text
    rows = table_rows(text)
    assert [row.split(" | ")[0] for row in rows] == ["| FAIL", "| ERROR", "| WARN", "| PASS"]
    fail = rows[0].split(" | ")
    assert fail[1:5] == ["f", "skin_group", "disparities.skin_group.accuracy_difference", "0.08123"]
    assert fail[5] == "ci_low &lt;= 0.05"
    assert rows[1].split(" | ")[4] == "n/a"  # ERROR has no observed number


def test_all_pass_exit_zero():
    text = gates_markdown([outcome(PASS), outcome(WARN)])
    assert "**WARN**: 0 failed, 0 errors, 1 warning, 1 passed (2 checks)" in text
    assert "Exit code 0." in text


def test_no_outcomes():
    text = gates_markdown([])
    assert "**PASS**: no gates were checked" in text and "| Status" not in text


def test_cells_escape_markdown_and_html():
    text = gates_markdown([outcome(FAIL, gate='<script>&"|x\ny', attribute=None, details="a|b *c*")])
    (row,) = table_rows(text)
    assert "<script>" not in text
    assert "&lt;script&gt;&amp;\"\\|x y" in row
    assert "a\\|b \\*c\\*" in row
    assert row.count(" | ") == 6  # escaped pipes do not add columns
    assert "| - |" in row  # no attribute


def test_shipped_strict_on_missing_results_shows_errors():
    text = gates_markdown(evaluate_gates(load_gates("strict"), {"findings_count": 3}))
    assert text.splitlines()[2].startswith("**FAIL**")
    assert "missing key 'performance'" in text
