"""Validity of the audit itself: planted biases and slices, power, false alarms, CI coverage (METRICS.md §H)."""

from ._markdown import validation_markdown
from ._run import FULL, QUICK, ValidationPlan, run_validation

__all__ = ["FULL", "QUICK", "ValidationPlan", "run_validation", "validation_markdown"]
