"""A stand-in for `run`'s data and work, so tests reach "every check passed, work starts now" in milliseconds.

The dataset loader returns a small synthetic faces-like split; classification raises
:class:`ReachedWork`. Used by the schema layer's tests of `run`'s arguments and settings.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

from tinyemo_audit.audit import runner as audit_runner
from tinyemo_audit.data import registry
from tinyemo_audit.data.dataset import Dataset

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class ReachedWork(Exception):
    """Raised where `run` would start classifying: every check has passed."""


def reached_work(result) -> bool:
    """Whether a CliRunner result ended at :class:`ReachedWork`: the CLI's error boundary reports any
    unexpected exception as a bug (exit 3) naming its type."""
    return result.exit_code == 3 and f"{ReachedWork.__name__}:" in result.stderr


def faces_like(n: int = 60) -> Dataset:
    rng = np.random.default_rng(0)
    attributes = pd.DataFrame({
        "skin_group": rng.choice(["light", "medium", "dark"], n), "gender": rng.choice(["feminine", "masculine"], n),
        "age": rng.choice(["child", "adult", "older"], n), "glasses": ["no"] * n,
    })
    return Dataset(name="faces", split="test", classes=CLASSES, labels=rng.integers(0, 7, n),
                   ids=np.array([f"i{i}" for i in range(n)]), attributes=attributes,
                   features=np.zeros((n, 384), np.float32))


@contextlib.contextmanager
def no_work():
    def stop(*_, **__):
        raise ReachedWork

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "load_dataset", lambda *_, **__: faces_like())
        patch.setattr(audit_runner, "predict", stop)
        patch.setattr(audit_runner, "_stream", stop)  # a features dataset is classified by the chunked pass
        yield
