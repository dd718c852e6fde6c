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
    Unique within the file; it names the check in JUnit XML and in the markdown summary.
``metric`` (required)
    A dotted path into ``results.json``, e.g. ``performance.overall.accuracy``. Two kinds of
    segment expand into several checks, each reported on its own:

    - ``{attribute}`` (at most once) stands for a protected attribute; ``attributes`` says which.
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
    Free text shown beside the check.
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
nothing, a null/NaN or non-numeric observed number) or SKIP (the metric is absent and the gate says
``when_missing: skip``). **ERROR counts as a failure**: a gate that cannot be checked must not let
CI pass unless it says so. SKIP does not fail the run and is reported with its reason (JUnit
``<skipped/>``, the markdown table). ``gates_exit_code`` is 0 when no check is FAIL or ERROR,
1 otherwise.

Shipped gate sets live in ``configs/gates/`` (``strict``, ``lenient``); :func:`load_gates` takes a
file path or the name of a shipped set.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError, UnknownNameError
from ..paths import configs_dir

GATE_FILE_VERSION = 1
ATTRIBUTE_PLACEHOLDER = "{attribute}"
WILDCARD = "*"
BOUND_TARGETS = ("value", "ci_low", "ci_high")
SEVERITIES = ("fail", "warn")
WHEN_MISSING = ("error", "skip")
TOP_LEVEL_KEYS = ("version", "description", "when_missing", "gates")
GATE_KEYS = ("name", "metric", "attributes", "min", "max", "on", "severity", "description", "when_missing",
             "skip_reason")

# User-facing messages (tests import them). ``{where}`` is "<file>" or "<file>: gates[i] ('name')".
MSG_NOT_FOUND = "gate file not found: {path}"
MSG_UNREADABLE = "cannot read gate file {path}: {reason}"
MSG_BAD_YAML = "{where}: not valid YAML: {reason}"
MSG_DUPLICATE_YAML_KEY = "{where}: duplicate key {key!r} on line {line}"
MSG_NOT_MAPPING = "{where}: must be a mapping with keys 'version' and 'gates'"
MSG_UNKNOWN_TOP_KEY = "{where}: unknown top-level key {key!r}; valid keys: " + ", ".join(TOP_LEVEL_KEYS)
MSG_BAD_VERSION = "{where}: 'version' must be " + str(GATE_FILE_VERSION) + ", got {got!r}"
MSG_NO_GATES = "{where}: 'gates' must be a non-empty list of gates"
MSG_GATE_NOT_MAPPING = "{where}: each gate must be a mapping, got {type}"
MSG_UNKNOWN_KEY = "{where}: unknown key {key!r}; valid keys: " + ", ".join(GATE_KEYS)
MSG_MISSING_KEY = "{where}: missing required key {key!r}"
MSG_NOT_STRING = "{where}: {key!r} must be a non-empty string, got {got!r}"
MSG_DUPLICATE_NAME = "{where}: duplicate gate name (gate names must be unique)"
MSG_BAD_PATH = "{where}: bad metric path {metric!r}: {reason}"
MSG_BAD_ATTRIBUTES = "{where}: 'attributes' must be a non-empty list of names, or [\"*\"]; got {got!r}"
MSG_ATTRIBUTES_WITHOUT_PLACEHOLDER = (
    "{where}: 'attributes' given but metric {metric!r} has no {{attribute}} segment"
)
MSG_MISSING_BOUND = "{where}: missing bound: give 'min' and/or 'max'"
MSG_BAD_NUMBER = "{where}: {key!r} must be a finite number, got {got!r}"
MSG_EMPTY_RANGE = "{where}: 'min' ({min}) is greater than 'max' ({max})"
MSG_BAD_ON = "{where}: 'on' must be one of " + ", ".join(BOUND_TARGETS) + "; got {got!r}"
MSG_BAD_SEVERITY = "{where}: 'severity' must be one of " + ", ".join(SEVERITIES) + "; got {got!r}"
MSG_BAD_WHEN_MISSING = "{where}: 'when_missing' must be one of " + ", ".join(WHEN_MISSING) + "; got {got!r}"

_SEGMENT_RE = re.compile(r"[^{}*]+")


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
        Attributes ``{attribute}`` expands to (``("*",)`` = all present); None without placeholder.
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

    @property
    def segments(self) -> tuple[str, ...]:
        """The metric path split into its segments."""
        return tuple(self.metric.split("."))

    @property
    def bound_text(self) -> str:
        """The bound as text, e.g. ``"ci_low <= 0.05"`` or ``"0.1 <= value <= 0.9"``."""
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= {self.on} <= {self.max:g}"
        if self.max is not None:
            return f"{self.on} <= {self.max:g}"
        return f"{self.on} >= {self.min:g}"


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
    """

    gates: tuple[Gate, ...]
    source: str = "<dict>"
    description: str = ""
    version: int = GATE_FILE_VERSION


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
    if path.exists():
        return path
    text = str(path_or_name)
    # A bare word (no folder, no suffix) names a shipped gate set.
    if os.sep not in text and "/" not in text and not path.suffix:
        if text in list_gate_sets():
            return _gate_sets_dir() / f"{text}.yaml"
        raise UnknownNameError("gate set", text, list_gate_sets())
    raise InputError(MSG_NOT_FOUND.format(path=text))


def _gate_loader_class():
    import yaml

    class GateLoader(yaml.SafeLoader):
        """SafeLoader with YAML 1.2 booleans and no silently duplicated keys.

        YAML 1.1 reads the bare key ``on`` (and on/off/yes/no values) as booleans, which would
        turn the documented ``on: ci_low`` into ``True: ci_low``; only true/false are booleans here.
        """

        source = "<string>"

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, (str, int, float, bool)):
                    continue  # unhashable keys are reported by SafeLoader itself
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise InputError(MSG_DUPLICATE_YAML_KEY.format(where=self.source, key=key, line=line))
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    bool_tag = "tag:yaml.org,2002:bool"
    GateLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    GateLoader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return GateLoader


def _parse_yaml(text: str, source: str) -> Any:
    loader = _gate_loader_class()(text)
    loader.source = source
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_error_text(err) -> str:
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


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
        The file is missing, unreadable, not YAML, or not a valid gate file. The message is one
        line naming the file and, where it applies, the gate index and name.
    UnknownNameError
        A bare name that is not a shipped gate set (the message lists them).

    Examples
    --------
    >>> spec = load_gates("strict")
    >>> spec.gates[0].on in ("value", "ci_low", "ci_high")
    True
    """
    import yaml

    path = _resolve_source(path_or_name)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise InputError(MSG_UNREADABLE.format(path=source, reason=reason)) from None
    try:
        data = _parse_yaml(text, source)
    except yaml.YAMLError as err:
        raise InputError(MSG_BAD_YAML.format(where=source, reason=_yaml_error_text(err))) from None
    return parse_gates(data, source=source)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_metric(metric: str, where: str) -> None:
    def bad(reason: str) -> InputError:
        return InputError(MSG_BAD_PATH.format(where=where, metric=metric, reason=reason))

    segments = metric.split(".")
    for segment in segments:
        if segment == "":
            raise bad("empty segment (two dots in a row, or a leading/trailing dot)")
        if segment not in (ATTRIBUTE_PLACEHOLDER, WILDCARD) and not _SEGMENT_RE.fullmatch(segment):
            raise bad(f"segment {segment!r}: use a key, '*' or '{{attribute}}' as a whole segment")
    if segments.count(ATTRIBUTE_PLACEHOLDER) > 1:
        raise bad("'{attribute}' may appear only once")


def _optional_text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(MSG_NOT_STRING.format(where=where, key=key, got=value))
    return " ".join(value.split())


def _when_missing(raw: dict, where: str, default: str) -> str:
    value = raw.get("when_missing", default)
    if value not in WHEN_MISSING:
        raise InputError(MSG_BAD_WHEN_MISSING.format(where=where, got=value))
    return value


def _parse_gate(raw: Any, where: str, when_missing: str = "error") -> Gate:
    if not isinstance(raw, dict):
        raise InputError(MSG_GATE_NOT_MAPPING.format(where=where, type=type(raw).__name__))
    for key in raw:
        if key not in GATE_KEYS:
            raise InputError(MSG_UNKNOWN_KEY.format(where=where, key=key))
    for key in ("name", "metric"):
        if key not in raw:
            raise InputError(MSG_MISSING_KEY.format(where=where, key=key))
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise InputError(MSG_NOT_STRING.format(where=where, key=key, got=raw[key]))
    metric = raw["metric"].strip()
    _check_metric(metric, where)

    has_placeholder = ATTRIBUTE_PLACEHOLDER in metric.split(".")
    attributes = raw.get("attributes")
    if attributes is not None:
        valid = (
            isinstance(attributes, list)
            and attributes
            and all(isinstance(a, str) and a.strip() and "." not in a for a in attributes)
            and len(set(attributes)) == len(attributes)
            and (WILDCARD not in attributes or attributes == [WILDCARD])
        )
        if not valid:
            raise InputError(MSG_BAD_ATTRIBUTES.format(where=where, got=attributes))
        if not has_placeholder:
            raise InputError(MSG_ATTRIBUTES_WITHOUT_PLACEHOLDER.format(where=where, metric=metric))
        attributes = tuple(attributes)
    elif has_placeholder:
        attributes = (WILDCARD,)

    bounds = {}
    for key in ("min", "max"):
        value = raw.get(key)
        if value is not None and not (_is_number(value) and math.isfinite(value)):
            raise InputError(MSG_BAD_NUMBER.format(where=where, key=key, got=value))
        bounds[key] = None if value is None else float(value)
    if bounds["min"] is None and bounds["max"] is None:
        raise InputError(MSG_MISSING_BOUND.format(where=where))
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise InputError(MSG_EMPTY_RANGE.format(where=where, min=bounds["min"], max=bounds["max"]))

    on = raw.get("on", "value")
    if on not in BOUND_TARGETS:
        raise InputError(MSG_BAD_ON.format(where=where, got=on))
    severity = raw.get("severity", "fail")
    if severity not in SEVERITIES:
        raise InputError(MSG_BAD_SEVERITY.format(where=where, got=severity))
    return Gate(
        name=raw["name"].strip(),
        metric=metric,
        attributes=attributes,
        min=bounds["min"],
        max=bounds["max"],
        on=on,
        severity=severity,
        description=_optional_text(raw, "description", where),
        when_missing=_when_missing(raw, where, when_missing),
        skip_reason=_optional_text(raw, "skip_reason", where),
    )


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
        One line naming ``source`` and, where it applies, the gate index and name.
    """
    if not isinstance(data, dict):
        raise InputError(MSG_NOT_MAPPING.format(where=source))
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise InputError(MSG_UNKNOWN_TOP_KEY.format(where=source, key=key))
    version = data.get("version")
    if not (isinstance(version, int) and not isinstance(version, bool) and version == GATE_FILE_VERSION):
        raise InputError(MSG_BAD_VERSION.format(where=source, got=version))
    raw_gates = data.get("gates")
    if not isinstance(raw_gates, list) or not raw_gates:
        raise InputError(MSG_NO_GATES.format(where=source))
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        raise InputError(MSG_NOT_STRING.format(where=source, key="description", got=description))
    when_missing = _when_missing(data, source, "error")

    gates: list[Gate] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_gates):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{source}: gates[{index}]"
        if isinstance(name, str) and name.strip():
            where += f" ({name.strip()!r})"
        gate = _parse_gate(raw, where, when_missing)
        if gate.name in names:
            raise InputError(MSG_DUPLICATE_NAME.format(where=where))
        names.add(gate.name)
        gates.append(gate)
    return GateSpec(
        gates=tuple(gates), source=source, description=" ".join(description.split()), version=version
    )


__all__ = ["Gate", "GateSpec", "list_gate_sets", "load_gates", "parse_gates"]
