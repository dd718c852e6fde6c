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
    _reasoning_audit_off_for_the_session()


# The shipped default runs the reasoning audit on any bundle with an MM-LLM (the default bundle has one):
# ~640 generations, 20-120 s a run. Tests (and module- or session-scoped fixtures) that audit the default
# bundle for anything else audit under the defaults with the reasoning audit off, as their small configs
# cut n_boot; a test marked `shipped_settings` (and every run that sets reasoning.enabled itself) audits
# under the real file. Subprocesses are not patched: they run the shipped defaults.
SHIPPED_SETTINGS = None


def _reasoning_audit_off_for_the_session():
    global SHIPPED_SETTINGS
    import yaml

    from tinyemo_audit._yaml import read_yaml_mapping
    from tinyemo_audit.audit import settings as audit_settings

    SHIPPED_SETTINGS = audit_settings.DEFAULT_SETTINGS
    values = read_yaml_mapping(SHIPPED_SETTINGS)
    values["reasoning"] = {**values["reasoning"], "enabled": False}
    path = Path(tempfile.mkdtemp(prefix="tinyemo-audit-settings-")) / "default.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    audit_settings.DEFAULT_SETTINGS = path


@pytest.fixture
def session_cache():
    """The session's shared cache folder."""
    return os.environ["TINYEMO_AUDIT_TEST_CACHE"]




@pytest.fixture(autouse=True)
def _shipped_settings_where_marked(request, monkeypatch):
    if request.node.get_closest_marker("shipped_settings"):
        from tinyemo_audit.audit import settings as audit_settings

        monkeypatch.setattr(audit_settings, "DEFAULT_SETTINGS", SHIPPED_SETTINGS)
