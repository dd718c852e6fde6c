"""Test-session set-up: one throw-away folder for everything the session writes, offline Hugging Face."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Everything a test session writes outside the checkout lies in one folder, removed when the session
# ends: the shared cache (~1 GB: rendered faces, the SmolLM2 table, reasoning parts), pytest's tmp_path
# folders, every tempfile of the tests, of the package and of the subprocesses (TMPDIR), and Ray's
# session folders (Ray reads TMPDIR). A session that kept them filled a CI disk after a few hundred runs.
# The folder's path is short (/tmp/tea-XXXXXXXX/t): a Unix socket's path must fit in 108 bytes.
# TINYEMO_AUDIT_KEEP_TEST_FILES=1 keeps it, for looking into a failure.
_SESSION_ROOT: Path | None = None


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path plugin reads --basetemp
def pytest_configure(config):
    global _SESSION_ROOT
    _SESSION_ROOT = Path(tempfile.mkdtemp(prefix="tea-", dir="/tmp"))
    scratch = _SESSION_ROOT / "t"
    scratch.mkdir()
    os.environ["TMPDIR"] = tempfile.tempdir = str(scratch)
    if not config.option.basetemp:  # tmp_path folders as short as pytest's own: messages elide long paths
        config.option.basetemp = str(_SESSION_ROOT / "p")
    # Shared by every test that does not set its own: expensive caches (the SmolLM2 table, rendered
    # faces) are built once per session instead of once per test.
    if "TINYEMO_AUDIT_TEST_CACHE" not in os.environ:
        os.environ["TINYEMO_AUDIT_TEST_CACHE"] = str(_SESSION_ROOT / "cache")
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
    path = Path(tempfile.mkdtemp(prefix="settings-")) / "default.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    audit_settings.DEFAULT_SETTINGS = path


def pytest_unconfigure(config):
    if _SESSION_ROOT is not None and os.environ.get("TINYEMO_AUDIT_KEEP_TEST_FILES") != "1":
        shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


@pytest.fixture
def session_cache():
    """The session's shared cache folder."""
    return os.environ["TINYEMO_AUDIT_TEST_CACHE"]




@pytest.fixture(autouse=True)
def _shipped_settings_where_marked(request, monkeypatch):
    if request.node.get_closest_marker("shipped_settings"):
        from tinyemo_audit.audit import settings as audit_settings

        monkeypatch.setattr(audit_settings, "DEFAULT_SETTINGS", SHIPPED_SETTINGS)


def pytest_collection_modifyitems(config, items):
    # `timeout` in pyproject.toml bounds every test of `make test`; the `slow` checks (full training,
    # validity sweeps; `make test-slow`) run for hours by design, so theirs is 8 hours.
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(8 * 3600))
