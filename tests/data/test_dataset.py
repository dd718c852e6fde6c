"""Tests of the Dataset container."""

from __future__ import annotations


def test_skipped_by_reason_counts_most_frequent_first():
    from tinyemo_audit.data.dataset import Dataset

    data = Dataset.__new__(Dataset)
    data.meta = {"skipped": [{"reason": "missing label"}, {"reason": "empty file (0 bytes)"},
                             {"reason": "missing label"}, {"id": "x"}]}
    assert data.skipped_by_reason() == {"missing label": 2, "empty file (0 bytes)": 1, "no reason given": 1}
    data.meta = {}
    assert data.skipped_by_reason() == {}
