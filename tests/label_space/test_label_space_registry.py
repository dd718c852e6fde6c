"""Tests for tinyemo_audit.label_space.registry: spec resolution and its errors."""

from __future__ import annotations

import pytest

from tinyemo_audit.errors import UnknownNameError, UsageError
from tinyemo_audit.label_space import list_label_spaces, resolve_label_space


def test_unknown_spec_lists_choices():
    with pytest.raises(UnknownNameError) as err:
        resolve_label_space("gpt-9")
    message = str(err.value)
    assert "label space" in message and "gpt-9" in message
    for choice in ("smollm2-135m", "minilm", "llm:<...>"):
        assert choice in message
    assert "\n" not in message


def test_choices():
    assert list_label_spaces() == ["minilm", "smollm2-135m", "llm:<...>"]


def test_bad_dtype_lists_choices():
    with pytest.raises(UsageError, match="float16"):
        resolve_label_space("smollm2-135m", dtype="int8")


def test_tokenizer_override_is_for_llm_only():
    with pytest.raises(UsageError, match="llm:"):
        resolve_label_space("smollm2-135m", tokenizer="meta-llama/Llama-2-7b-hf")


def test_spec_must_be_a_string():
    with pytest.raises(UsageError):
        resolve_label_space(None)
