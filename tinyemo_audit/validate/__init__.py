"""Validity of the audit itself: planted biases and slices, power, false alarms, CI coverage (METRICS.md §H)."""

from ._markdown import validation_markdown
from ._reasoning import REASONING_FULL, REASONING_QUICK, ReasoningPlan, run_reasoning_validation
from ._run import FULL, QUICK, ValidationPlan, run_validation

__all__ = ["FULL", "QUICK", "REASONING_FULL", "REASONING_QUICK", "ReasoningPlan", "ValidationPlan",
           "run_reasoning_validation", "run_validation", "validation_markdown"]
