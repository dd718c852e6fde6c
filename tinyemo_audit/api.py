"""The Python API: audit a model (a bundle, or its predictions) in a notebook or a pipeline; the CLI is a layer over it.

Five names (docs/api.md): :func:`audit_model` runs an audit and returns an :class:`AuditResult`;
:func:`load_results` reads a results.json back as one; :func:`compare` compares two of them as a
:class:`Comparison`. They take what the command line takes, and also in-memory pandas DataFrames
(predictions, counterfactual manifests) and numpy arrays (embeddings). Inputs are checked as the
command line checks them: a bad one raises :class:`~tinyemo_audit.errors.TinyEmoAuditError` with
the same one-line message the command line prints. Files are written only where a path is given,
under the same rules (an output replaces only what this tool wrote, never an input, all or nothing).

Examples
--------
>>> import pandas as pd
>>> from tinyemo_audit import audit
>>> table = pd.DataFrame({"id": [f"i{k}" for k in range(40)], "label": ["happy", "sad"] * 20,
...                       "prediction": ["happy", "sad"] * 19 + ["sad", "sad"], "site": ["a", "b"] * 20})
>>> result = audit_model(predictions=table, config={"n_boot": 100, "n_perm": 100})
>>> result.results["run"]["protected_attributes"], result.exit_code
(['site'], 0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AuditResult", "Comparison", "audit_model", "compare", "load_results", "mitigate"]


def _write(path: str | os.PathLike, text: str, *, option: str, inputs: tuple = ()) -> Path:
    """Write one file under the output rules (checked first, replacing only what this tool wrote)."""
    from .outputs import OutputPlan

    plan = OutputPlan()
    for source, what in inputs:
        plan.input(source, what)
    plan.file(path, option)
    plan.check()
    with plan.writing() as staged:
        staged.write_text(path, text)
    return Path(path)


@dataclass
class GateReport:
    """The gates of one audit: every check's outcome, whether CI passes, and its outputs.

    Attributes
    ----------
    outcomes : list of GateOutcome
    exit_code : int
        0 when no check failed (FAIL or ERROR), 1 otherwise: what ``tinyemo-audit gate`` exits with.
    """

    outcomes: list
    exit_code: int

    @property
    def passed(self) -> bool:
        """True when no check is FAIL or ERROR."""
        return self.exit_code == 0

    def summary(self) -> str:
        """The markdown summary (a verdict line and a table), as ``gate`` prints it."""
        from .gates import gates_markdown

        return gates_markdown(self.outcomes)

    def to_junit(self, path: str | os.PathLike) -> Path:
        """Write the JUnit XML (one test case per check) to ``path``."""
        from .gates import junit_xml

        return _write(path, junit_xml(self.outcomes), option="junit path")


@dataclass
class AuditResult:
    """One audit: its results (results.json as a dict) and what a pipeline does with them.

    Attributes
    ----------
    results : dict
        The whole audit (docs/results-schema.md).
    exit_code : int
        0, or 1 when gates given to :func:`audit_model` failed.
    run_dir : Path or None
        The run folder, when :func:`audit_model` was given ``out``.
    """

    results: dict[str, Any]
    exit_code: int = 0
    run_dir: Path | None = None
    source: str = field(default="audit", repr=False)

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The ranked findings (F1 most severe)."""
        return list(self.results.get("findings") or [])

    @property
    def causes(self) -> list[dict[str, Any]]:
        """The root causes the findings group into (C1 most severe)."""
        return list(self.results.get("causes") or [])

    @property
    def verdict(self) -> dict[str, Any]:
        """``status`` (biased, metric-space-only, clean, untested) and the ``headline``."""
        return dict(self.results.get("verdict") or {})

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The results as JSON text; also written to ``path`` when given."""
        from ._io import json_bytes

        text = json_bytes(self.results).decode("utf-8")
        if path is not None:
            _write(path, text, option="results path")
        return text

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the self-contained HTML report to ``path``."""
        from .report import render_report

        return _write(path, render_report(self.results), option="report path")

    def gate(self, spec: Any, *, baseline: Any = None) -> GateReport:
        """Check gates against these results.

        Parameters
        ----------
        spec : path, str or GateSpec
            A gate file, the name of a shipped set (``"strict"``, ``"lenient"``) or a parsed spec.
        baseline : path, AuditResult, Mapping or None
            The run that ``change: true`` gates compare against (default: the gate file's ``baseline``).

        Returns
        -------
        GateReport
        """
        from .gates import GateSpec, evaluate_gates, gates_exit_code, load_gates, resolve_baseline

        spec = spec if isinstance(spec, GateSpec) else load_gates(spec)
        base = resolve_baseline(spec, _results_of(baseline))
        if base is not None:
            from .comparison import check_comparable

            check_comparable(base, self.results)
        outcomes = evaluate_gates(spec, self.results, baseline=base)
        return GateReport(outcomes=outcomes, exit_code=gates_exit_code(outcomes))

    def compare(self, baseline: Any, *, seed: int = 0) -> Comparison:
        """Compare with a baseline run (these results are the new run)."""
        return compare(baseline, self, seed=seed)


@dataclass
class Comparison:
    """Two audits compared (docs/compare.md).

    Attributes
    ----------
    data : dict
        The comparison as plain data (comparison.json).
    """

    data: dict[str, Any]

    def _findings(self, status: str) -> list[dict[str, Any]]:
        return [f for f in self.data["findings"] if f["status"] == status]

    @property
    def new(self) -> list[dict[str, Any]]:
        """Findings of the new run that the baseline did not have."""
        return self._findings("new")

    @property
    def crossed(self) -> list[dict[str, Any]]:
        """Findings of the new run only whose change a paired test cannot tell from none (docs/compare.md)."""
        return self._findings("crossed")

    @property
    def gone(self) -> list[dict[str, Any]]:
        """Findings of the baseline that the new run no longer has."""
        return self._findings("gone")

    @property
    def changed(self) -> list[dict[str, Any]]:
        """Findings of both runs whose effect or severity moved (see docs/compare.md)."""
        return self._findings("changed")

    def metric(self, path: str) -> dict[str, Any] | None:
        """One metric's change (``"disparities.gender.accuracy_difference"``), or None."""
        return next((m for m in self.data["metrics"] if m["path"] == path), None)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The comparison as JSON text; also written to ``path`` when given."""
        from ._io import json_bytes

        text = json_bytes(self.data).decode("utf-8")
        if path is not None:
            _write(path, text, option="comparison path")
        return text

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the comparison's HTML page to ``path``."""
        from .comparison import render_comparison

        return _write(path, render_comparison(self.data), option="comparison page path")


def _results_of(value: Any) -> Any:
    """An AuditResult's dict; paths and mappings as they are; None stays None."""
    return value.results if isinstance(value, AuditResult) else value


def load_results(path: str | os.PathLike) -> AuditResult:
    """Read a results.json written by ``tinyemo-audit run`` (checked against the results schema)."""
    from .audit.results import read_results

    return AuditResult(results=read_results(path), source=os.fspath(path))


def _as_results(value: Any, name: str) -> tuple[dict[str, Any], str]:
    if isinstance(value, AuditResult):
        return value.results, value.source if value.source != "audit" else name
    if isinstance(value, Mapping):
        from .audit.results import check_results

        return check_results(dict(value), source=name), name
    from .audit.results import read_results
    from .input_files import shown_path

    return read_results(value), shown_path(value)


def compare(baseline: Any, new: Any, *, seed: int = 0) -> Comparison:
    """Compare a new audit with a baseline: findings new, gone or changed, and every metric's change.

    Parameters
    ----------
    baseline, new : path, AuditResult or Mapping
        results.json files, results of :func:`audit_model`, or parsed results.
    seed : int
        Seed of the bootstrap draws of the changes' CIs.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        The runs are of different schema versions or datasets, or a file is no results.json.
    """
    from .comparison import compare_results
    from .schema.run_request import check_seed

    base, base_name = _as_results(baseline, "baseline")
    after, new_name = _as_results(new, "new")
    return Comparison(compare_results(base, after, base_name=base_name, new_name=new_name, seed=check_seed(seed)))


def audit_model(*, model: str | None = None, dataset: str | None = None, predictions: Any = None, embeddings: Any = None,
          counterfactuals: Any = None, config: Any = None, gates: Any = None, baseline: Any = None, seed: int = 0,
          n: int | None = None, n_twins: int | None = None, out: str | os.PathLike | None = None,
          junit: str | os.PathLike | None = None, progress: bool = False, chunk_size: int | None = None,
          device: str | None = None, engine: str = "local", ray_address: str | None = None,
          actors: int | None = None) -> AuditResult:
    """Audit a model for bias: a bundle on a dataset, or a model's predictions.

    Parameters
    ----------
    model, dataset : str, optional
        A bundle (name or folder) and a dataset spec, as ``run --model/--dataset`` (defaults: the
        faces corpus and its bundle). Not with ``predictions``.
    predictions : path or DataFrame, optional
        A predictions table (``id``, ``prediction``, optional ``label``, ``prob_<class>``,
        ``score_<class>``, attribute columns; docs/bring-your-own.md).
    embeddings : path or ndarray, optional
        ``[N, D]`` embeddings aligned with ``predictions``' rows (a ``.npy`` or Parquet file, or an array).
    counterfactuals : path or DataFrame, optional
        A counterfactual manifest (``set_id``, ``attribute``, ``value``, ``path`` or ``id``).
    config : path or dict, optional
        Audit settings overriding configs/audit/default.yaml (a YAML file, or a dict of the same keys).
    gates : path, str or GateSpec, optional
        Gates checked at the end (:attr:`AuditResult.exit_code` is 1 when one fails).
    baseline : path, AuditResult or Mapping, optional
        The run that ``change: true`` gates compare against.
    seed, n, n_twins : int
        As ``run --seed/--n/--n-twins``.
    out : path, optional
        Write the run folder here (results.json, report.html, gates' outputs); nothing is written without it.
    junit : path, optional
        Also write the gates' JUnit XML here.
    progress : bool
        Print stage lines and progress bars on stderr.
    chunk_size : int, optional
        Items read at once from a features dataset (default 65 536; at least 1): the audit's memory
        is bounded by it, its results do not depend on it (docs/scale.md).
    device : str, optional
        ``auto``, ``cpu``, ``cuda[:N]`` or ``mps`` for the encoder and projector (default ``auto``).
    engine : {"local", "ray"}
        Where the image encoder runs: this process, or Ray Data actors (the same path as ``embed
        --engine ray``); its features go into the same encoder-feature cache. Not with features or predictions.
    ray_address, actors : optional
        With ``engine="ray"``: a running cluster to join (else a local Ray for the call) and the number of
        encoder actors.

    Returns
    -------
    AuditResult
    """
    from .audit.runner import run_audit

    outcome = run_audit(dataset=dataset, model=model, predictions=predictions, embeddings=embeddings,
                        counterfactuals=counterfactuals, out=out, seed=seed, n=n, n_twins=n_twins, config=config,
                        gates=gates, junit=junit, baseline=_results_of(baseline), progress=progress,
                        write=out is not None, chunk_size=chunk_size, device=device, engine=engine,
                        ray_address=ray_address, actors=actors)
    return AuditResult(results=outcome.results, exit_code=outcome.exit_code,
                       run_dir=outcome.run_dir if out is not None else None)


def mitigate(*, model: str | None = None, dataset: str | None = None, method: str = "all",
             attributes: list[str] | None = None, target: str | None = None, options: dict[str, Any] | None = None,
             out: str | os.PathLike | None = None, seed: int = 0, n: int | None = None, n_twins: int | None = None,
             config: Any = None, progress: bool = False):
    """Mitigate a bundle's bias with a documented method and measure it (docs/mitigation.md).

    Runs the audit of ``model`` on ``dataset``, applies ``method`` ("reweigh", "correlation-remover",
    "prompt-projection", "thresholds" or "all"), audits each mitigated bundle with the same code and
    compares it with the first audit. Files (bundles, audits, comparisons, the trade-off page) are
    written only when ``out`` is given, all or nothing.

    Returns
    -------
    tinyemo_audit.mitigation.MitigationResult
        ``before`` (results), ``methods`` (after-audit, comparison and trade-off row per method), ``tradeoff``.
    """
    from .mitigation import mitigate as run
    from .schema.run_request import check_seed

    return run(model=model, dataset=dataset, method=method, attributes=attributes, target=target, options=options,
               out=out, seed=check_seed(seed), n=n, n_twins=n_twins, config=config, progress=progress)
