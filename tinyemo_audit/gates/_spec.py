"""Gate files: the YAML format of CI gates, loaded and validated into a :class:`GateSpec`.

Gate file format (version 1)
============================

A gate file is YAML with two top-level keys, ``version`` (must be ``1``) and ``gates`` (a non-empty
list), plus an optional one-line ``description``::

    version: 1
    description: Tight bounds; only confident violations fail.
    gates:
      - name: accuracy gap between groups
        metric: disparities.{attribute}.accuracy_difference
        attributes: ["*"]
        max: 0.05
        on: ci_low
        severity: fail
        description: Accuracy differs between the groups of a protected attribute.

Keys of one gate
----------------
``name`` (required)
    Unique within the file; it names the check in JUnit XML and in the markdown summary. Control
    characters are refused (a name is echoed on terminals and into XML).
``metric`` (required)
    A dotted path into ``results.json``, e.g. ``performance.overall.accuracy``. Two kinds of
    segment expand into several checks, each reported on its own:

    - ``{attribute}`` (at most once) stands for a protected attribute; ``attributes`` says which.
      ``["*"]`` means every protected attribute of the audit (``run.protected_attributes``); an
      audit without one has nothing to check there, and the check is an ERROR (or a SKIP).
    - ``*`` stands for every key present at that level, e.g. every emotion class in
      ``disparities.{attribute}.fpr_difference.*``.
``attributes``
    A list of attribute names, or ``["*"]`` for every attribute present at the ``{attribute}``
    level of the results. Defaults to ``["*"]`` when the metric has ``{attribute}``; not allowed
    when it has none. A listed attribute that the results lack is an ERROR, not a silent pass.
``min`` / ``max`` (at least one)
    Inclusive bounds: the check passes when ``min <= observed <= max``.
``on``
    Which number of the metric the bound applies to: ``value`` (the point estimate, default),
    ``ci_low`` or ``ci_high`` (an end of its confidence interval). A metric leaf is either a plain
    number (only ``on: value`` applies) or a mapping such as
    ``{"value": 0.12, "ci_low": 0.08, "ci_high": 0.16, "q_value": 0.004, "n": 1200}``.
    To fail only on *confident* violations, put a ``max`` on ``ci_low`` (the whole interval is
    above the bound) and a ``min`` on ``ci_high`` (the whole interval is below it).
``severity``
    ``fail`` (default): a violation fails the gate run. ``warn``: a violation is reported as WARN
    and does not fail it.
``description``
    Free text shown beside the check (folded onto one line).
``when_missing``
    ``error`` (default) or ``skip``: what a check becomes when its metric is absent from the results
    (a missing key, a null section, an expansion that found nothing). ``skip`` is for metrics a
    dataset cannot have: a label-free audit has no accuracy, a dataset without twins no flip rate.
    The file may set a default with a top-level ``when_missing``; a gate's own key wins.
``skip_reason``
    Why a missing metric may be skipped (e.g. "needs labels"); shown with every SKIP of the gate.

Statuses and exit code
----------------------
Each expanded check ends as PASS, WARN (a ``warn`` gate violated), FAIL (a ``fail`` gate violated)
ERROR (the check could not be evaluated: a missing path segment, an expansion that found
nothing, a null, NaN, infinite or non-numeric observed number) or SKIP (the metric is absent and the gate says
``when_missing: skip``). **ERROR counts as a failure**: a gate that cannot be checked must not let
CI pass unless it says so. SKIP does not fail the run and is reported with its reason (JUnit
``<skipped/>``, the markdown table). ``gates_exit_code`` is 0 when no check is FAIL or ERROR,
1 otherwise.

The schema of the file (types, unknown keys, metric paths) is
:mod:`tinyemo_audit.schema.gates`; the YAML is read by :mod:`tinyemo_audit._yaml` (bounded size,
aliases and nesting).

Shipped gate sets live in ``configs/gates/`` (``strict``, ``lenient``); :func:`load_gates` takes a
file path or the name of a shipped set.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError, UnknownNameError
from ..input_files import shown_path
from ..paths import configs_dir

GATE_FILE_VERSION = 1
ATTRIBUTE_PLACEHOLDER = "{attribute}"
WILDCARD = "*"
WHAT = "gate file"
MSG_NOT_FOUND = "gate file not found: {path}"


@dataclasses.dataclass(frozen=True)
class Gate:
    """One gate: a bound on a metric path of results.json.

    Attributes
    ----------
    name : str
        Unique name within its gate file.
    metric : str
        Dotted path; may contain one ``{attribute}`` segment and ``*`` segments.
    attributes : tuple of str or None
        Attributes ``{attribute}`` expands to (``("*",)`` = every protected attribute); None
        without placeholder.
    min, max : float or None
        Inclusive bounds; at least one is set.
    on : {"value", "ci_low", "ci_high"}
        The number of the metric leaf the bounds apply to.
    severity : {"fail", "warn"}
        What a violation becomes: FAIL or WARN.
    description : str
        Free text for reports.
    when_missing : {"error", "skip"}
        What a check becomes when its metric is absent from the results: ERROR or SKIP.
    skip_reason : str
        Why skipping a missing metric is acceptable; quoted in every SKIP outcome.
    change : bool
        Bound the change from the baseline run (new − baseline, with its CI where both runs carry
        the counts) instead of the metric itself.
    """

    name: str
    metric: str
    attributes: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    on: Literal["value", "ci_low", "ci_high"] = "value"
    severity: Literal["fail", "warn"] = "fail"
    description: str = ""
    when_missing: Literal["error", "skip"] = "error"
    skip_reason: str = ""
    change: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        """The metric path split into its segments."""
        return tuple(self.metric.split("."))

    @property
    def bound_text(self) -> str:
        """The bound as text, e.g. ``"ci_low <= 0.05"``, ``"0.1 <= value <= 0.9"`` or ``"change ci_low <= 0.02"``."""
        on = f"change {self.on}" if self.change else self.on
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= {on} <= {self.max:g}"
        if self.max is not None:
            return f"{on} <= {self.max:g}"
        return f"{on} >= {self.min:g}"


@dataclasses.dataclass(frozen=True)
class GateSpec:
    """A validated gate file.

    Attributes
    ----------
    gates : tuple of Gate
        In file order.
    source : str
        Where the spec came from (a file path, or ``"<dict>"``).
    description : str
        The file's optional description.
    version : int
        Gate file format version.
    baseline : str or None
        The baseline results.json the file names (resolved against the file's folder), if any.
    """

    gates: tuple[Gate, ...]
    source: str = "<dict>"
    description: str = ""
    version: int = GATE_FILE_VERSION
    baseline: str | None = None


def _gate_sets_dir() -> Path:
    return configs_dir() / "gates"


def list_gate_sets() -> list[str]:
    """Names of the gate sets shipped in ``configs/gates/``.

    Returns
    -------
    list of str
        Sorted names, e.g. ``["lenient", "strict"]``.
    """
    folder = _gate_sets_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _resolve_source(path_or_name: str | os.PathLike) -> Path:
    path = Path(path_or_name)
    if os.path.lexists(path):
        return path
    text = str(path_or_name)
    # A bare word (no folder, no suffix) names a shipped gate set.
    if os.sep not in text and "/" not in text and not path.suffix:
        if text in list_gate_sets():
            return _gate_sets_dir() / f"{text}.yaml"
        raise UnknownNameError("gate set", text, list_gate_sets())
    raise InputError(MSG_NOT_FOUND.format(path=shown_path(text)))


def load_gates(path_or_name: str | os.PathLike) -> GateSpec:
    """Load and validate a gate file.

    Parameters
    ----------
    path_or_name : str or path-like
        A YAML file, or the name of a shipped gate set (``"strict"``, ``"lenient"``; see
        :func:`list_gate_sets`).

    Returns
    -------
    GateSpec

    Raises
    ------
    InputError
        The file is missing, not a regular file, too large, not YAML (or YAML this tool refuses:
        aliases that expand too far, nesting too deep, a duplicate key), or not a valid gate
        file. The message is one bounded line naming the file and, where it applies, the gate
        index, its name and the key.
    UnknownNameError
        A bare name that is not a shipped gate set (the message lists them).

    Examples
    --------
    >>> spec = load_gates("strict")
    >>> spec.gates[0].on in ("value", "ci_low", "ci_high")
    True
    """
    from .._yaml import read_yaml

    path = _resolve_source(path_or_name)
    return parse_gates(read_yaml(path, what=WHAT), source=str(path))


def parse_gates(data: Any, *, source: str = "<dict>") -> GateSpec:
    """Validate an already-parsed gate file (a dict as YAML would give it).

    Parameters
    ----------
    data : Any
        The parsed document: ``{"version": 1, "gates": [...]}``.
    source : str, default "<dict>"
        Named in error messages.

    Returns
    -------
    GateSpec

    Raises
    ------
    InputError
        One line naming ``source`` and, where it applies, the gate index, its name and the key.
    """
    from ..schema._errors import validate
    from ..schema.gates import GateFile

    if data is None:
        data = {}  # an empty file: reported as missing 'version' and 'gates'
    model = validate(GateFile, data, source=source)
    gates = tuple(
        Gate(
            name=entry.name,
            metric=entry.metric,
            attributes=None if ATTRIBUTE_PLACEHOLDER not in entry.metric.split(".")
            else tuple(entry.attributes or (WILDCARD,)),
            min=entry.min,
            max=entry.max,
            on=entry.on,
            severity=entry.severity,
            description=entry.description or "",
            when_missing=entry.when_missing or model.when_missing,
            skip_reason=entry.skip_reason or "",
            change=entry.change,
        )
        for entry in model.gates
    )
    baseline = model.baseline
    if baseline is not None and source != "<dict>" and not os.path.isabs(baseline):
        baseline = str(Path(source).parent / baseline)
    return GateSpec(gates=gates, source=source, description=model.description or "", version=model.version,
                    baseline=baseline)


__all__ = ["Gate", "GateSpec", "list_gate_sets", "load_gates", "parse_gates"]
