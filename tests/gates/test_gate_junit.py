"""Tests for tinyemo_audit/gates/_junit.py: JUnit XML counts, structure, escaping, atomic writing."""

import xml.etree.ElementTree as ET

from tinyemo_audit.gates import ERROR, FAIL, PASS, WARN, GateOutcome, junit_xml, write_junit

NASTY = '<script>&"'


def outcome(status, gate="gap", details="ci_low = 0.08 > max 0.05"):
    return GateOutcome(gate, "disparities.skin_group.accuracy_difference", "skin_group", status,
                       None if status == ERROR else 0.08, "ci_low <= 0.05", details, "fail", "desc")


OUTCOMES = [
    outcome(PASS, gate="a"),
    outcome(WARN, gate="b"),
    outcome(FAIL, gate="c"),
    outcome(FAIL, gate="d"),
    outcome(ERROR, gate="e", details="missing key 'x' under 'disparities'"),
]


def test_counts_and_elements(tmp_path):
    path = tmp_path / "sub" / "gates.xml"
    write_junit(OUTCOMES, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    for element in (root, suite):
        assert element.get("tests") == "5"
        assert element.get("failures") == "2"
        assert element.get("errors") == "1"
        assert element.get("skipped") == "0"
        assert element.get("name") == "tinyemo-audit gates"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        f"{g} [disparities.skin_group.accuracy_difference]" for g in "abcde"
    ]
    assert len(suite.findall("testcase/failure")) == 2
    assert len(suite.findall("testcase/error")) == 1
    assert not suite.findall("testcase/skipped")
    warn_case = cases[1]
    assert warn_case.find("failure") is None and warn_case.find("error") is None
    assert warn_case.find("system-out").text.startswith("WARN: ci_low = 0.08")
    error = cases[4].find("error")
    assert error.get("message") == "missing key 'x' under 'disparities'"
    assert error.get("type") == "GateError"
    assert cases[2].find("failure").get("type") == "GateViolation"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"verdict": "FAIL", "warnings": "1"}
    assert not list(tmp_path.glob("sub/.*.tmp"))  # the atomic writer left no temporary behind


def test_escapes_hostile_names_and_details(tmp_path):
    path = tmp_path / "gates.xml"
    hostile = [outcome(FAIL, gate=NASTY, details=f"saw {NASTY}\x00\x1b end")]
    write_junit(hostile, path, suite_name=NASTY)
    raw = path.read_text(encoding="utf-8")
    assert "<script>" not in raw
    root = ET.parse(path).getroot()  # parses: control characters were made visible escapes
    case = root.find("testsuite/testcase")
    assert case.get("name") == f"{NASTY} [disparities.skin_group.accuracy_difference]"
    assert root.get("name") == NASTY
    # user_text.visible, the one sanitiser: the reader sees what was there, not a replacement mark
    assert case.find("failure").get("message") == f"saw {NASTY}\\u0000\\u001B end"


def test_empty_outcomes_are_a_valid_suite():
    root = ET.fromstring(junit_xml([]))
    assert root.get("tests") == "0" and root.find("testsuite") is not None


def test_rewrite_replaces_the_file(tmp_path):
    path = tmp_path / "gates.xml"
    write_junit(OUTCOMES, path)
    write_junit(OUTCOMES[:1], path)
    assert ET.parse(path).getroot().get("tests") == "1"
