"""The self-contained HTML bias report: renders a results.json dict, never recomputes a statistic.

Examples
--------
>>> from tinyemo_audit.report import render_report
>>> page = render_report({"run": {"model": "m"}, "verdict": {"status": "no-flag", "headline": "No bias flagged."}})
>>> page.startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..errors import InputError, UsageError
from . import _appendix, _causes, _reasoning, _sections, _verdict
from ._assets import asset, plotly_js
from ._charts import CONFIG
from ._html import neutralise, neutralise_strings, page
from ._rules import Rules
from ._sections import Context

__all__ = ["render_report", "write_report", "SUPPORTED_SCHEMA_MAJOR"]

SUPPORTED_SCHEMA_MAJOR = "1"
# (anchor, table-of-contents label, section function), in page order.
SECTIONS = (
    ("verdict", "Verdict", _verdict.header),
    ("skipped", "Skipped", _sections.skipped),
    ("findings", "Findings by cause", _causes.findings),
    ("rules", "Rules", _verdict.rules),
    ("groups", "Per-group metrics", _sections.group_metrics),
    ("confusion", "Confusion matrices", _sections.confusion),
    ("twins", "Counterfactual twins", _sections.counterfactual),
    ("reasoning", "Reasoning", _reasoning.section),
    ("map", "Embedding map", _sections.embedding),
    ("probes", "Probes, WEAT, skew", _appendix.probes),
    ("dataset", "Dataset", _appendix.dataset),
    ("gates", "CI gates", _appendix.gates),
    ("methods", "Methods", _appendix.methods),
)
RUN_META_KEYS = ("tool_version", "dataset", "split", "model", "seed", "n")
NOT_A_DICT = "results must be a dict (the parsed results.json), got {type}"
BAD_SCHEMA = "results schema version {version!r} is not supported by this report (expected {major}.x)"
BAD_THUMBNAILS = "thumbnails must map item ids to data:image URIs"


def render_report(results: Mapping[str, Any], *, thumbnails: Mapping[str, str] | None = None) -> str:
    """Render an audit's results as one self-contained HTML page.

    Parameters
    ----------
    results : Mapping
        The parsed ``results.json`` (schema 1.x). Missing or null sections are left out, or shown as
        "not run: <reason>" when ``run.skipped`` says why.
    thumbnails : Mapping of str to str, optional
        Item id → ``data:image/...;base64,...`` URI, shown beside counterfactual examples. Anything that
        is not an inline image is ignored, so the page never makes a network request.

    Returns
    -------
    str
        The HTML document: inline CSS, a partial plotly.js bundle embedded once (when there is a chart), every
        user string escaped and its
        control characters (C0 but tab and newline, DEL, C1, bidi marks and overrides) shown as
        ``\\uXXXX``.

    Raises
    ------
    UsageError
        If ``results`` is not a mapping or ``thumbnails`` is not a mapping.
    InputError
        If ``results`` declares an unsupported schema major version.
    """
    if not isinstance(results, Mapping):
        raise UsageError(NOT_A_DICT.format(type=type(results).__name__))
    if thumbnails is not None and not isinstance(thumbnails, Mapping):
        raise UsageError(BAD_THUMBNAILS)
    version = results.get("schema_version")
    if version is not None and str(version).split(".")[0] != SUPPORTED_SCHEMA_MAJOR:
        raise InputError(BAD_SCHEMA.format(version=version, major=SUPPORTED_SCHEMA_MAJOR))

    digest = results_digest(results)
    # Once, here: every user string (labels, groups, ids, names) reaches text, attributes, figures and
    # the embedded JSON with its control and bidi characters shown as visible \uXXXX escapes.
    results = neutralise_strings(results)
    ctx = Context(results=results, thumbnails={neutralise(str(k)): v for k, v in (thumbnails or {}).items()},
                  rules=Rules.from_results(results))
    toc, body = [], []
    for anchor, label, section in SECTIONS:
        html = section(ctx)
        if html:
            toc.append((anchor, label))
            body.append(html)
    run = ctx.run
    run_meta = {k: run.get(k) for k in RUN_META_KEYS} | {"results_digest": digest}
    # The reviewer's browser storage is keyed by the run, so two reports never share decisions.
    run_meta["review_key"] = "|".join(str(run_meta.get(k)) for k in ("dataset", "model", "seed", "results_digest"))
    scripts = ([plotly_js()] if ctx.charts else []) + [asset("report.js")]
    title = f"tinyemo-audit: {run.get('model', 'model')} on {run.get('dataset', 'dataset')}"
    return page(title=title, toc=toc, body="".join(body), scripts=scripts, css=asset("report.css"),
                run_meta=run_meta, chart_config=CONFIG if ctx.charts else None)


def results_digest(results: Mapping[str, Any]) -> str:
    """A short digest of the results (canonical JSON), naming the run in the reviewer's saved state."""
    text = json.dumps(results, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def write_report(results: Mapping[str, Any], path: str | os.PathLike, *,
                 thumbnails: Mapping[str, str] | None = None) -> Path:
    """Render ``results`` and write the page to ``path`` atomically.

    Parameters
    ----------
    results : Mapping
        The parsed ``results.json``.
    path : str or os.PathLike
        Where to write the HTML file; parent folders are created.
    thumbnails : Mapping of str to str, optional
        See :func:`render_report`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    atomic_write_text(path, render_report(results, thumbnails=thumbnails))
    return path
