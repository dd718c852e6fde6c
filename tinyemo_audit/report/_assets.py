"""Files the report embeds: its stylesheet, its script and the vendored partial plotly.js bundle.

The plotly bundle is npm's ``plotly.js-cartesian-dist-min`` (scatter, bar, heatmap and the other cartesian
traces), unmodified, with its MIT licence beside it in ``assets/``. It is pinned to the plotly.js version that
the installed plotly Python package targets; ``tests/report/test_assets.py`` checks the digest, the version
and that every trace type the report draws is in the bundle. To update it::

    npm pack plotly.js-cartesian-dist-min@<version of plotly.offline.get_plotlyjs_version()>

then copy ``plotly-cartesian.min.js`` and ``LICENSE`` here and update the three constants below.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

PLOTLY_PACKAGE = "plotly.js-cartesian-dist-min"
PLOTLY_VERSION = "4.1.1"
PLOTLY_SHA256 = "79542150855a52c567260e3137095dbe2b744e6d702a5cabe67da246942fba7a"
PLOTLY_FILE = "plotly-cartesian.min.js"
PLOTLY_LICENCE_FILE = "plotly-cartesian.LICENSE"
# Every trace type a report figure may use; each must be registered by the bundle.
TRACE_TYPES = ("scatter", "bar", "heatmap")


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """The text of ``assets/<name>`` (package data)."""
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """The vendored plotly.js bundle, embedded once in a page that has charts."""
    return asset(PLOTLY_FILE)
