"""CI gates on audit results: YAML bounds on results.json paths, their verdicts, JUnit XML and markdown.

A gate is a condition attached to a metric; its verdict (PASS / WARN / FAIL / ERROR / SKIP) is kept apart
from the metric's value. The gate file format is documented in :mod:`tinyemo_audit.gates._spec`
and ``docs/gates.md``.

Examples
--------
>>> from tinyemo_audit.gates import load_gates, evaluate_gates, gates_exit_code
>>> spec = load_gates("lenient")  # or a path to a YAML file
>>> outcomes = evaluate_gates(spec, {"findings_count": 0})
>>> sorted({o.status for o in outcomes})  # the other gates' paths are missing here
['ERROR', 'PASS', 'SKIP']
>>> gates_exit_code(outcomes)
1
"""

from tinyemo_audit.gates._evaluate import (
    ERROR,
    FAIL,
    PASS,
    SKIP,
    STATUSES,
    WARN,
    GateOutcome,
    evaluate_gates,
    gates_counts,
    gates_exit_code,
    gates_summary_line,
    gates_to_json,
    gates_verdict,
)
from tinyemo_audit.gates._baseline import resolve_baseline
from tinyemo_audit.gates._junit import junit_xml, write_junit
from tinyemo_audit.gates._markdown import gates_markdown
from tinyemo_audit.gates._spec import Gate, GateSpec, list_gate_sets, load_gates, parse_gates

__all__ = [
    "ERROR",
    "FAIL",
    "PASS",
    "SKIP",
    "STATUSES",
    "WARN",
    "Gate",
    "GateOutcome",
    "GateSpec",
    "evaluate_gates",
    "gates_counts",
    "gates_exit_code",
    "gates_markdown",
    "gates_summary_line",
    "gates_to_json",
    "gates_verdict",
    "junit_xml",
    "list_gate_sets",
    "load_gates",
    "parse_gates",
    "resolve_baseline",
    "write_junit",
]
