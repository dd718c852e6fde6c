"""The rules as the report states and applies them: read from run.rules (1.1) or the 1.0 fields of run."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from report_fixture import legacy_results, make_results

from tinyemo_audit.report._rules import Rules, rules_list


def test_rules_come_from_run_rules():
    rules = Rules.from_results(make_results())
    assert (rules.q_max, rules.min_group_size) == (0.05, 30)
    assert rules.bar("counterfactual") == 0.03 and rules.bar_text("counterfactual") == "3 points"
    assert rules.bar("text_probe") == 0.02 and rules.bar("skew") == 0.4 and rules.bar("association") == 0.5
    assert rules.flag_rule.startswith("A result becomes a finding") and "log10" in rules.severity
    html = str(rules_list(rules))
    assert rules.bar("cluster") == 1.5 and rules.bar_text("cluster") == "1.5×"
    for text in ("q &lt; <b>0.05</b>", "<b>30</b> items", "counterfactual twins: mean rise of P(label) over twin "
                 "pairs: <b>3 points</b>", "counterfactual twins: paired sign-flip permutation test", "−log10(q)",
                 "embedding association (iEAT): |iEAT effect size d|: <b>d = 0.5</b>"):
        assert text in html, text


def test_schema_1_0_rules_say_what_was_not_recorded():
    legacy = legacy_results()
    rules = Rules.from_results(legacy)
    assert rules.bar("counterfactual") == 0.03 and rules.bar_text("counterfactual") == "3 points"  # run.min_effect
    html = str(rules_list(rules))
    assert "counterfactual twins: change of P(label) between twins: <b>3 points</b>" in html
    assert "its formula is not recorded in this results.json (schema 1.0)" in html
    del legacy["run"]["min_effect"]
    html = str(rules_list(Rules.from_results(legacy)))
    assert "Minimum effect per probe</dt><dd>not recorded in this results.json (schema 1.0)" in html


def test_a_significant_row_that_is_not_a_finding_says_why():
    rules = Rules.from_results(make_results())
    own = {"q_value": 0.002, "not_flagged": "effect below the 3-point bar"}
    assert "not a finding: effect below the 3-point bar" in rules.q_cell(own, "counterfactual", 0.0004)
    small = {"q_value": 0.002, "flaggable": False}
    assert "not a finding: a group it compares has fewer than 30 items" in rules.q_cell(small)
    under = {"q_value": 0.047}
    assert "not a finding: effect under the 3 points bar" in rules.q_cell(under, "counterfactual", 0.01)
    assert "not a finding" not in rules.q_cell(under, "counterfactual", 0.05)  # over the bar: it may be a finding
    assert "not a finding" not in rules.q_cell({"q_value": 0.5, "flaggable": False})  # not significant: nothing to say


@settings(max_examples=60, deadline=None)
@given(q=st.one_of(st.none(), st.floats(min_value=0, max_value=1)), flaggable=st.sampled_from([True, False, None]),
       effect=st.one_of(st.none(), st.floats(min_value=-1, max_value=1)))
def test_significance_is_never_colour_alone(q, flaggable, effect):
    rules = Rules.from_results(make_results())
    record = {"q_value": q} | ({} if flaggable is None else {"flaggable": flaggable})
    cell = str(rules.q_cell(record, "counterfactual", effect))
    significant = q is not None and q < 0.05
    assert ("★" in cell and "significant" in cell) == significant
    assert "color" not in cell and "style" not in cell
