"""Gate evaluation: expand each gate over results.json and turn observed numbers into verdicts."""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from ..errors import UsageError
from ..user_text import shorten, shown, visible
from ._spec import ATTRIBUTE_PLACEHOLDER, WILDCARD, Gate, GateSpec

PASS, WARN, FAIL, ERROR, SKIP = "PASS", "WARN", "FAIL", "ERROR", "SKIP"
STATUSES = (PASS, WARN, FAIL, ERROR, SKIP)
# Worst first: the order of tables and of the overall verdict. A FAIL (a confident violation)
# outranks an ERROR (could not check); both fail the run. A SKIP (absent, and allowed to be) checked
# nothing, so it ranks above PASS in tables but only decides the verdict when nothing else ran.
STATUS_ORDER = (FAIL, ERROR, WARN, SKIP, PASS)
# Leaf fields quoted in details, in this order, when present.
_CONTEXT_FIELDS = ("value", "ci_low", "ci_high", "q_value", "n", "base", "new")
NO_BASELINE = "bounds a change from a baseline run (change: true), but no baseline was given"
_MAX_LISTED_KEYS = 12
NO_ATTRIBUTES = ("the audit has no protected attribute (run.protected_attributes is empty), so there is "
                 "nothing to compare")

Status = Literal["PASS", "WARN", "FAIL", "ERROR", "SKIP"]


@dataclasses.dataclass(frozen=True)
class GateOutcome:
    """The verdict of one expanded check of a gate.

    Attributes
    ----------
    gate : str
        The gate's name.
    path : str
        The resolved metric path, e.g. ``"disparities.gender.fpr_difference.angry"``.
    attribute : str or None
        The attribute ``{attribute}`` resolved to; None if the metric has no placeholder.
    status : {"PASS", "WARN", "FAIL", "ERROR", "SKIP"}
    observed : float or None
        The number the bound was applied to; None for ERROR and SKIP.
    bound : str
        The bound as text, e.g. ``"ci_low <= 0.05"``.
    details : str
        One line explaining the verdict (or what was missing, and for SKIP the gate's skip reason).
    severity : {"fail", "warn"}
        The gate's severity.
    description : str
        The gate's description.
    """

    gate: str
    path: str
    attribute: str | None
    status: Status
    observed: float | None
    bound: str
    details: str
    severity: str = "fail"
    description: str = ""

    @property
    def failed(self) -> bool:
        """True for FAIL and ERROR: the outcomes that fail a CI run."""
        return self.status in (FAIL, ERROR)


def _fmt(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return shown(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    return f"{float(x):.4g}"


def _is_number(x: Any) -> bool:
    # numbers.Real also admits numpy scalars, for results still in memory.
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _list_keys(node: Mapping) -> str:
    keys = [shorten(visible(str(k), one_line=True), 40) for k in itertools.islice(node, _MAX_LISTED_KEYS)]
    return ", ".join(keys) + (f", ... ({len(node)} in all)" if len(node) > _MAX_LISTED_KEYS else "")


def _where(resolved: Sequence[str]) -> str:
    # Keys come from the results file: shown bounded, with control characters visible.
    return shown(".".join(resolved), limit=120) if resolved else "the results root"


def _is_statistic(node: Any) -> bool:
    return isinstance(node, Mapping) and _is_number(node.get("value"))


@dataclasses.dataclass(frozen=True)
class _Found:
    """A walk's end: a leaf at ``path``, or a problem that makes the check an ERROR (or a SKIP).

    ``missing`` marks problems where the metric is simply absent (a missing key, a null section, an
    empty expansion), as opposed to present with the wrong shape; only those may be skipped.
    """

    path: tuple[str, ...]
    attribute: str | None
    leaf: Any = None
    problem: str | None = None
    missing: bool = False


def protected_attributes(results: Mapping) -> list[str] | None:
    """The audit's protected attributes (``run.protected_attributes``), or None when the results lack them.

    ``{attribute}`` with ``attributes: ["*"]`` expands over these, not over whatever keys a section
    happens to hold: an attribute the audit compared but a section lacks is then a visible ERROR
    (or SKIP), never a silently shorter list of checks; and an audit without protected attributes
    has nothing to check, which is an ERROR (or SKIP), never a PASS.
    """
    run = results.get("run")
    names = run.get("protected_attributes") if isinstance(run, Mapping) else None
    if isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names):
        return list(names)
    return None


def _walk(node: Any, gate: Gate, i: int, resolved: tuple[str, ...], attribute: str | None,
          audited: list[str] | None = None) -> Iterator[_Found]:
    segments = gate.segments
    if i == len(segments):
        yield _Found(resolved, attribute, leaf=node)
        return
    segment = segments[i]
    rest = segments[i:]

    def problem(text: str, path: tuple[str, ...] = resolved + rest, attr: str | None = attribute,
                missing: bool = False) -> _Found:
        if attr is not None:
            path = tuple(attr if s == ATTRIBUTE_PLACEHOLDER else s for s in path)
        return _Found(path, attr, problem=text, missing=missing)

    every_attribute = segment == ATTRIBUTE_PLACEHOLDER and gate.attributes == (WILDCARD,)
    expand_all = segment == WILDCARD or (every_attribute and audited is None)
    if every_attribute and audited is not None:
        if not audited:
            yield problem(NO_ATTRIBUTES, missing=True)
            return
        keys: Iterable[str] = audited
    elif segment == ATTRIBUTE_PLACEHOLDER and not expand_all:
        keys = gate.attributes or ()
    elif expand_all:
        if not isinstance(node, Mapping):
            yield problem(f"cannot expand {segment!r}: {_where(resolved)} is {_kind(node)}, not a mapping",
                          missing=node is None)
            return
        if _is_statistic(node):
            yield problem(f"cannot expand {segment!r}: {_where(resolved)} is a single statistic, not a mapping of keys")
            return
        if not node:
            yield problem(f"expansion of {segment!r} found nothing: {_where(resolved)} is empty", missing=True)
            return
        keys = [str(k) for k in node]
    else:
        keys = [segment]

    for key in keys:
        attr = key if segment == ATTRIBUTE_PLACEHOLDER else attribute
        if not isinstance(node, Mapping):
            yield problem(
                f"{_where(resolved)} is {_kind(node)}, not a mapping; cannot look up {shown(key, limit=60)}", attr=attr,
                missing=node is None,
            )
            continue
        if key not in node:
            # In-memory results may carry non-str keys; JSON ones are always str.
            match = [k for k in node if str(k) == key]
            if not match:
                yield problem(
                    f"missing key {shown(key, limit=60)} under {_where(resolved)} (present: {_list_keys(node) or 'none'})",
                    attr=attr, missing=True,
                )
                continue
            child = node[match[0]]
        else:
            child = node[key]
        yield from _walk(child, gate, i + 1, resolved + (key,), attr, audited)


def _kind(node: Any) -> str:
    if node is None:
        return "null"
    if _is_number(node):
        return f"a number ({_fmt(node)})"
    if isinstance(node, str):
        return "a string"
    if isinstance(node, (list, tuple)):
        return "a list"
    return f"a {type(node).__name__}"


def _context(leaf: Mapping, on: str) -> str:
    parts = [f"{field} {_fmt(leaf[field])}" for field in _CONTEXT_FIELDS if field != on and field in leaf]
    return f" ({', '.join(parts)})" if parts else ""


def _judge(gate: Gate, found: _Found) -> GateOutcome:
    def outcome(status: str, observed: float | None, details: str) -> GateOutcome:
        return GateOutcome(
            gate=gate.name,
            path=".".join(found.path),
            attribute=found.attribute,
            status=status,
            observed=observed,
            bound=gate.bound_text,
            details=details,
            severity=gate.severity,
            description=gate.description,
        )

    if found.problem is not None:
        if found.missing and gate.when_missing == "skip":
            reason = f"{gate.skip_reason} ({found.problem})" if gate.skip_reason else found.problem
            return outcome(SKIP, None, f"skipped: {reason}")
        return outcome(ERROR, None, found.problem)
    leaf = found.leaf
    where = _where(found.path)
    context = ""
    if isinstance(leaf, Mapping):
        if gate.on not in leaf:
            return outcome(ERROR, None, f"{where} has no {gate.on!r} (keys: {_list_keys(leaf) or 'none'})")
        observed = leaf[gate.on]
        context = _context(leaf, gate.on)
    elif gate.on != "value" and _is_number(leaf):
        return outcome(ERROR, None, f"{where} is a plain number without a CI; it has no {gate.on!r} (use on: value)")
    else:
        observed = leaf
    if observed is None:
        note = leaf.get("note") if isinstance(leaf, Mapping) else None
        return outcome(ERROR, None, f"{gate.on} of {where} is null" + (f" ({note})" if isinstance(note, str) else ""))
    if not _is_number(observed):
        return outcome(ERROR, None, f"{gate.on} of {where} is {_kind(observed)}, not a number")
    observed = float(observed)
    if not math.isfinite(observed):
        # NaN compares false with every bound and ±inf passes one side of it: neither may decide a gate.
        return outcome(ERROR, None, f"{gate.on} of {where} is {_fmt(observed)}, not a finite number"
                                    f"{context}")

    shown = f"{gate.on} = {_fmt(observed)}"
    if gate.max is not None and observed > gate.max:
        verdict = f"{shown} > max {gate.max:g}"
    elif gate.min is not None and observed < gate.min:
        verdict = f"{shown} < min {gate.min:g}"
    else:
        checks = []
        if gate.min is not None:
            checks.append(f">= min {gate.min:g}")
        if gate.max is not None:
            checks.append(f"<= max {gate.max:g}")
        return outcome(PASS, observed, f"{shown} {' and '.join(checks)}{context}")
    status = FAIL if gate.severity == "fail" else WARN
    return outcome(status, observed, f"{verdict}{context}")


def _evaluate_gate(gate: Gate, results: Mapping) -> list[GateOutcome]:
    found = _walk(results, gate, 0, (), None, protected_attributes(results))
    outcomes = [_judge(gate, f) for f in found]
    if not outcomes:  # only an explicit, empty attribute list could get here; validation forbids it
        outcomes.append(
            GateOutcome(gate.name, gate.metric, None, ERROR, None, gate.bound_text,
                        f"expansion of {gate.metric!r} found nothing", gate.severity, gate.description)
        )
    return outcomes


def evaluate_gates(spec: GateSpec | Iterable[Gate], results: Mapping[str, Any], *,
                   baseline: Mapping[str, Any] | None = None) -> list[GateOutcome]:
    """Evaluate every gate against an audit's results.

    Parameters
    ----------
    spec : GateSpec or iterable of Gate
        From :func:`load_gates` or :func:`parse_gates`.
    results : Mapping
        The parsed results.json (an AuditResult as plain data).
    baseline : Mapping, optional
        A baseline run's results. A gate with ``change: true`` bounds the change of its metric
        from the baseline (new − baseline, with a CI where both runs carry the counts;
        :func:`tinyemo_audit.comparison.metric_changes`); without a baseline such a gate is an ERROR.

    Returns
    -------
    list of GateOutcome
        One per expanded check, grouped by gate in spec order. A check that cannot be evaluated
        (missing path segment, empty expansion, null/NaN/non-numeric observed number, or an
        unexpected exception) is an ERROR outcome, except that an absent metric (missing key, null
        section, empty expansion) of a gate with ``when_missing: skip`` is a SKIP outcome;
        evaluation never raises for bad results.

    Raises
    ------
    UsageError
        ``results`` is not a mapping.

    Examples
    --------
    >>> from tinyemo_audit.gates import parse_gates
    >>> spec = parse_gates({"version": 1, "gates": [
    ...     {"name": "accuracy", "metric": "performance.overall.accuracy", "min": 0.5}]})
    >>> results = {"performance": {"overall": {"accuracy": {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}}}}
    >>> [o.status for o in evaluate_gates(spec, results)]
    ['PASS']
    """
    if not isinstance(results, Mapping):
        raise UsageError(f"results must be a mapping (the parsed results.json), got {type(results).__name__}")
    gates = spec.gates if isinstance(spec, GateSpec) else tuple(spec)
    outcomes: list[GateOutcome] = []
    changes = None
    for gate in gates:
        try:
            if gate.change and baseline is None:
                outcomes.append(GateOutcome(gate.name, gate.metric, None, ERROR, None, gate.bound_text, NO_BASELINE,
                                            gate.severity, gate.description))
                continue
            if gate.change and changes is None:
                from ..comparison import change_tree, metric_changes

                changes = change_tree(metric_changes(baseline, results), results)
            outcomes.extend(_evaluate_gate(gate, changes if gate.change else results))
        except Exception as err:  # a gate that raises is an ERROR, never a crashed gate run
            outcomes.append(
                GateOutcome(gate.name, gate.metric, None, ERROR, None, gate.bound_text,
                            f"could not evaluate: {type(err).__name__}: {shorten(visible(' '.join(str(err).split())), 200)}",
                            gate.severity, gate.description)
            )
    return outcomes


def gates_exit_code(outcomes: Iterable[GateOutcome]) -> int:
    """The CI exit code of a gate run.

    Parameters
    ----------
    outcomes : iterable of GateOutcome

    Returns
    -------
    int
        0 when no outcome is FAIL or ERROR (WARN and SKIP pass; no outcomes passes), 1 otherwise.
        ERROR counts as a failure: a gate that could not be checked must not let CI pass.
    """
    return 1 if any(o.failed for o in outcomes) else 0


def gates_counts(outcomes: Iterable[GateOutcome]) -> dict[str, int]:
    """Number of outcomes per status, every status present (``{"PASS": 3, "WARN": 0, ..., "SKIP": 0}``)."""
    counts = dict.fromkeys(STATUSES, 0)
    for o in outcomes:
        counts[o.status] += 1
    return counts


def gates_verdict(outcomes: Iterable[GateOutcome]) -> str:
    """The worst status among ``outcomes`` (FAIL > ERROR > WARN > PASS); PASS when empty.

    SKIP is the verdict only when every outcome is a SKIP: then nothing was checked at all.
    """
    counts = gates_counts(outcomes)
    return next((s for s in (FAIL, ERROR, WARN, PASS, SKIP) if counts[s]), PASS)


def gates_summary_line(outcomes: Sequence[GateOutcome]) -> str:
    """One line for humans, e.g. ``"FAIL: 2 failed, 1 error, 0 warnings, 9 passed (12 checks)"``.

    Skipped checks are counted only when there are some (``"..., 9 passed, 3 skipped (15 checks)"``).
    """
    counts = gates_counts(outcomes)
    if not outcomes:
        return "PASS: no gates were checked"
    skipped = f", {counts[SKIP]} skipped" if counts[SKIP] else ""
    return (
        f"{gates_verdict(outcomes)}: {counts[FAIL]} failed, {counts[ERROR]} "
        f"error{'s' if counts[ERROR] != 1 else ''}, {counts[WARN]} "
        f"warning{'s' if counts[WARN] != 1 else ''}, {counts[PASS]} passed{skipped} ({len(outcomes)} checks)"
    )


def gates_to_json(outcomes: Iterable[GateOutcome]) -> list[dict[str, Any]]:
    """Outcomes as plain JSON-ready dicts (for ``results["gates"]``).

    Parameters
    ----------
    outcomes : iterable of GateOutcome

    Returns
    -------
    list of dict
        Keys ``gate, path, attribute, status, observed, bound, details, severity, description``;
        ``observed`` is null for ERROR and SKIP (never NaN, so strict JSON writers accept it).
    """
    return [dataclasses.asdict(o) for o in outcomes]


__all__ = [
    "ERROR",
    "FAIL",
    "PASS",
    "SKIP",
    "STATUSES",
    "WARN",
    "GateOutcome",
    "evaluate_gates",
    "gates_counts",
    "gates_exit_code",
    "gates_summary_line",
    "gates_to_json",
    "gates_verdict",
]
