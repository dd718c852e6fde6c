"""Fixtures of the reasoning tests: a tiny random Llama in a folder, small instruct data, a trained bundle copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from reasoning_fixtures import BUNDLE, TINY_STEPS, copy_bundle, save_tiny_llama


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def instruct_dir(tmp_path_factory) -> Path:
    from tinyemo_audit.reasoning.instruct import build_instruct
    from tinyemo_audit.reasoning.settings import InstructConfig

    out = tmp_path_factory.mktemp("instruct") / "data"
    build_instruct(InstructConfig(n_images=24, seed=0), out, progress=False)
    return out


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory, tiny_llama, instruct_dir) -> Path:
    """A copy of the default bundle with a reasoning part trained for a few steps on the tiny Llama."""
    from tinyemo_audit.reasoning.settings import ReasoningTrainConfig
    from tinyemo_audit.reasoning.train import train_reasoning

    bundle = copy_bundle(tmp_path_factory.mktemp("bundle") / BUNDLE)
    train_reasoning(bundle, instruct_dir, ReasoningTrainConfig(llm=f"llm:{tiny_llama}", **TINY_STEPS), progress=False)
    return bundle
