"""Comparing two audits: findings and causes new (or only over the bar), gone or changed, every metric's change with a CI, an HTML page.

:func:`compare_results` takes two parsed results.json (a baseline and a new run) and returns the
comparison as plain data; :func:`render_comparison` renders it; :func:`metric_changes` and
:func:`change_tree` are what gates relative to a baseline evaluate (docs/compare.md, docs/gates.md).

Examples
--------
>>> run = {"schema_version": "1.1", "run": {"dataset": "faces"}, "findings": [], "findings_count": 0}
>>> compare_results(run, run)["summary"]["findings"]
{'new': 0, 'crossed': 0, 'gone': 0, 'changed': 0, 'persists': 0}
"""

from tinyemo_audit.comparison._diff import COMPARISON_VERSION, check_comparable, compare_results
from tinyemo_audit.comparison._html import render_comparison
from tinyemo_audit.comparison._metrics import change_tree, metric_changes

__all__ = ["COMPARISON_VERSION", "change_tree", "check_comparable", "compare_results", "metric_changes",
           "render_comparison"]
