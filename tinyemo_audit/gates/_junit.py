"""JUnit XML for gate outcomes, so CI systems show each gate check as a test case."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from .._io import atomic_write_text
from ..user_text import visible
from ._evaluate import ERROR, FAIL, SKIP, WARN, GateOutcome, gates_counts, gates_verdict

DEFAULT_SUITE_NAME = "tinyemo-audit gates"
# What XML 1.0 cannot carry at all, escaped or not, and :func:`visible` leaves as it is (lone
# surrogates, U+FFFE/U+FFFF); ElementTree would write them through.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    """User text as JUnit XML shows it: control and bidi characters as visible ``\\uXXXX`` escapes."""
    return _XML_INVALID.sub("\ufffd", visible(str(text)))


def _case_text(o: GateOutcome) -> str:
    lines = [f"{o.status}: {o.details}", f"bound: {o.bound}", f"severity: {o.severity}"]
    if o.description:
        lines.append(f"description: {o.description}")
    return _clean("\n".join(lines))


def junit_xml(outcomes: Iterable[GateOutcome], *, suite_name: str = DEFAULT_SUITE_NAME) -> str:
    """Gate outcomes as a JUnit XML document.

    Parameters
    ----------
    outcomes : iterable of GateOutcome
    suite_name : str, default "tinyemo-audit gates"

    Returns
    -------
    str
        ``<testsuites>`` with one ``<testsuite>``; one ``<testcase>`` per outcome, named
        ``"<gate> [<path>]"``. FAIL carries ``<failure>``, ERROR carries ``<error>``, SKIP (an
        absent metric the gate allows to be absent) carries ``<skipped message="...">`` with the
        reason; WARN is a passing test case whose ``<system-out>`` starts with ``WARN:`` (JUnit has
        no warning state, and ``<skipped>`` would misreport a check that ran); PASS and WARN carry
        their details in ``<system-out>``.
    """
    outcomes = list(outcomes)
    counts = gates_counts(outcomes)
    totals = {
        "tests": str(len(outcomes)),
        "failures": str(counts[FAIL]),
        "errors": str(counts[ERROR]),
        "skipped": str(counts[SKIP]),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": _clean(suite_name), **totals})
    suite = ET.SubElement(root, "testsuite", {"name": _clean(suite_name), **totals})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", {"name": "verdict", "value": gates_verdict(outcomes)})
    ET.SubElement(properties, "property", {"name": "warnings", "value": str(counts[WARN])})
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": _clean(suite_name), "name": _clean(f"{o.gate} [{o.path}]"), "time": "0"},
        )
        if o.status == FAIL:
            failure = ET.SubElement(case, "failure", {"message": _clean(o.details), "type": "GateViolation"})
            failure.text = _case_text(o)
        elif o.status == ERROR:
            error = ET.SubElement(case, "error", {"message": _clean(o.details), "type": "GateError"})
            error.text = _case_text(o)
        elif o.status == SKIP:
            ET.SubElement(case, "skipped", {"message": _clean(o.details)}).text = _case_text(o)
        else:
            ET.SubElement(case, "system-out").text = _case_text(o)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(
    outcomes: Iterable[GateOutcome], path: str | os.PathLike, *, suite_name: str = DEFAULT_SUITE_NAME
) -> None:
    """Write gate outcomes as JUnit XML, atomically.

    Parameters
    ----------
    outcomes : iterable of GateOutcome
    path : str or path-like
        Destination; parent folders are created. A reader sees the old file or the new one.
    suite_name : str, default "tinyemo-audit gates"

    See Also
    --------
    junit_xml : the document written.
    """
    atomic_write_text(path, junit_xml(outcomes, suite_name=suite_name))


__all__ = ["DEFAULT_SUITE_NAME", "junit_xml", "write_junit"]
