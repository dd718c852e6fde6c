"""The vendored plotly.js bundle: unmodified (digest), pinned to plotly's own plotly.js, every trace we draw in it."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from tinyemo_audit.report import _assets

ROOT = Path(__file__).resolve().parents[2]


def test_bundle_is_the_published_file():
    raw = (ROOT / "tinyemo_audit/report/assets" / _assets.PLOTLY_FILE).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == _assets.PLOTLY_SHA256


def test_bundle_matches_the_plotly_js_version_of_the_installed_plotly():
    from plotly.offline import get_plotlyjs_version

    head = _assets.plotly_js()[:200]
    assert get_plotlyjs_version() == _assets.PLOTLY_VERSION
    assert f"plotly.js (cartesian - minified) v{_assets.PLOTLY_VERSION}" in head


def test_every_trace_type_the_report_uses_is_registered():
    registered = set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', _assets.plotly_js()))
    assert set(_assets.TRACE_TYPES) <= registered
    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tinyemo_audit/report").glob("*.py"))
    source += _assets.asset("report.js")
    used = set(re.findall(r"""["']type["']\s*:\s*["']([a-z0-9]+)["']""", source))
    # not traces: "data" (error bars), "line" (shapes), "category" (axes)
    assert used - {"data", "line", "category"} <= set(_assets.TRACE_TYPES), used


def test_licence_ships_beside_the_bundle_as_package_data():
    licence = _assets.asset(_assets.PLOTLY_LICENCE_FILE)
    assert "MIT License" in licence and "Plotly" in licence
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "report/assets/*" in config["tool"]["setuptools"]["package-data"]["tinyemo_audit"]


def test_bundle_is_much_smaller_than_the_full_one():
    from plotly.offline import get_plotlyjs

    assert len(_assets.plotly_js()) < 0.4 * len(get_plotlyjs())
