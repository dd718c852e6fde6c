"""Test-session set-up: one throw-away cache for the whole session, offline Hugging Face."""

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config):
    # Shared by every test that does not set its own: expensive caches (the SmolLM2 table, rendered
    # faces) are built once per session instead of once per test.
    if "TINYEMO_AUDIT_TEST_CACHE" not in os.environ:
        os.environ["TINYEMO_AUDIT_TEST_CACHE"] = tempfile.mkdtemp(prefix="tinyemo-audit-tests-")
    os.environ["TINYEMO_AUDIT_CACHE"] = os.environ["TINYEMO_AUDIT_TEST_CACHE"]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # UMAP's numba kernels compile once per machine, not once per session (as `make` sets it too).
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def session_cache():
    """The session's shared cache folder."""
    return os.environ["TINYEMO_AUDIT_TEST_CACHE"]
