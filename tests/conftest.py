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


@pytest.fixture(scope="session")
def _settings_reasoning_off(tmp_path_factory):
    """configs/audit/default.yaml with ``reasoning.enabled: false``: the defaults most tests audit under."""
    from tinyemo_audit._yaml import read_yaml_mapping
    from tinyemo_audit.audit import settings as audit_settings

    import yaml

    values = read_yaml_mapping(audit_settings.DEFAULT_SETTINGS)
    values["reasoning"] = {**values["reasoning"], "enabled": False}
    path = tmp_path_factory.mktemp("settings") / "default.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    return path


@pytest.fixture(autouse=True)
def _reasoning_audit_only_where_asked(request, monkeypatch, _settings_reasoning_off):
    # The shipped default runs the reasoning audit on any bundle with an MM-LLM (the default bundle has
    # one): ~640 generations, 20-120 s a run. Tests that audit the default bundle for anything else get
    # the defaults with the reasoning audit off, as their small configs cut n_boot; a test marked
    # `shipped_settings` (and every test that sets reasoning.enabled itself) audits under the real file.
    # Subprocesses are not patched: they run the shipped defaults.
    if request.node.get_closest_marker("shipped_settings"):
        return
    from tinyemo_audit.audit import settings as audit_settings

    monkeypatch.setattr(audit_settings, "DEFAULT_SETTINGS", _settings_reasoning_off)
