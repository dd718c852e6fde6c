"""Every argument and setting of a command, checked in one place before any work starts.

``run`` is checked in two steps, because some checks need the data:

1. :func:`check_run_request` (before the first stage line): the dataset name, ``--seed``,
   ``--n``, ``--n-twins``, the settings file (:mod:`~tinyemo_audit.schema.settings`) and the gate
   file (:mod:`~tinyemo_audit.schema.gates`), and the model bundle.
2. :func:`check_against_data` (right after the data has loaded, before the next stage line): what
   the probes need of the settings. A reference group or association label the user's settings
   name must exist in the data (a named group that is not there would otherwise be recorded but
   not used); a *default* that does not fit the data (the faces corpus's ``gender: masculine`` on
   a dataset whose groups are ``female``/``male``) is simply not applied, and ``run.reference_groups``
   records null for it, never a group the probes did not use.

The other commands' numbers (``--seed``, ``--batch-size``, ``--encoder-dim``, ...) go through
:func:`check_seed` and :func:`check_count`, called at the top of each command's library function.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, UsageError
from ..user_text import shown
from ._base import SEED_MAX
from ._errors import key_text, source_text

N_MAX = 1_000_000_000  # items to audit (--n): any real dataset fits, and numpy's indices stay sane
MSG_RANGE = "{option} must be an integer from {low:,} to {high:,}; got {got}"
MSG_NO_ATTRIBUTE = ("{source}: reference_groups.{attribute}: the data has no attribute {shown_attribute} "
                    "(its attributes: {present})")
MSG_NO_GROUP = ("{source}: reference_groups.{attribute}: {group} is not a group of {shown_attribute} in the "
                "{n:,} audited items (groups: {present})")
DEFAULT_DATASET = "faces"
DEFAULT_MODEL = "tinyemo-faces-mini"
MSG_PREDICTIONS_WITH_MODEL = ("--predictions audits a model's answers read from a file; it takes no {option} "
                              "(drop {option}, or drop --predictions to run a bundle)")
MSG_EMBEDDINGS_WITHOUT_PREDICTIONS = "--embeddings go with --predictions (a bundle computes its own embeddings)"
MSG_NO_CLASS = ("{source}: association_sets.{name}: {label} is not a class of this audit (classes: {present})")


def check_count(value: Any, option: str, *, low: int, high: int) -> int | None:
    """``value`` if it is None or an integer in ``[low, high]``; otherwise a UsageError naming ``option``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(MSG_RANGE.format(option=option, low=low, high=high, got=shown(value)))
    return value


def check_seed(seed: Any, option: str = "--seed", *, high: int = SEED_MAX) -> int:
    """``seed`` if it is an integer in ``[0, high]`` (numpy and torch take 32-bit seeds); else a UsageError."""
    checked = check_count(seed, option, low=0, high=high)
    if checked is None:
        raise UsageError(MSG_RANGE.format(option=option, low=0, high=high, got="None"))
    return checked


@dataclass(frozen=True)
class RunRequest:
    """A checked ``run``: its arguments, validated settings, gate spec and bundle.

    Attributes
    ----------
    dataset, model : str or None
        Dataset spec and bundle name or folder; both None for a predictions-only audit.
    seed : int
        In ``[0, 2**32 - 1]``.
    n, n_twins : int or None
        Items to audit and twin identities per attribute (None: all / from the settings).
    settings : LoadedSettings
        Validated settings and which of them the user's file set.
    gate_spec : GateSpec or None
        The gate file, validated.
    bundle : Bundle or None
        The model bundle (bundle.json validated; weights load lazily); None for a predictions-only audit.
    baseline : dict or None
        The baseline results.json (checked), for gates that bound a change.
    """

    dataset: str | None
    model: str | None
    seed: int
    n: int | None
    n_twins: int | None
    settings: Any
    gate_spec: Any
    bundle: Any
    baseline: Any = None


def check_run_request(*, dataset: str | None, model: str | None, seed: Any, n: Any, n_twins: Any,
                      config: str | os.PathLike | None, gates: Any, predictions: bool = False,
                      embeddings: bool = False, baseline: Any = None) -> RunRequest:
    """Check every argument of ``run`` (see the module docstring); nothing is computed yet.

    ``dataset`` and ``model`` default to the faces corpus and its bundle; a predictions-only audit
    (``predictions``) takes neither. ``gates`` is a gate file, a shipped set's name or a GateSpec;
    ``baseline`` a results.json path or its parsed dict.

    Raises
    ------
    UsageError, InputError
        One line: an unknown dataset or model, a number out of range, a bad settings or gate file,
        --predictions with --dataset or --model, gates that bound a change without a baseline.
    """
    from ..audit.settings import read_settings
    from ..data.registry import check_dataset_spec
    from ..model.bundle import load_bundle
    from .settings import TWINS_MAX

    if predictions:
        for option, value in (("--dataset", dataset), ("--model", model)):
            if value is not None:
                raise UsageError(MSG_PREDICTIONS_WITH_MODEL.format(option=option))
    else:
        if embeddings:
            raise UsageError(MSG_EMBEDDINGS_WITHOUT_PREDICTIONS)
        dataset, model = dataset or DEFAULT_DATASET, model or DEFAULT_MODEL
        check_dataset_spec(dataset)
    seed = check_seed(seed)
    n = check_count(n, "--n", low=2, high=N_MAX)
    n_twins = check_count(n_twins, "--n-twins", low=2, high=TWINS_MAX)
    settings = read_settings(config)
    gate_spec = None
    if gates is not None:
        from ..gates import GateSpec, load_gates

        gate_spec = gates if isinstance(gates, GateSpec) else load_gates(gates)
    from ..gates import resolve_baseline

    baseline = resolve_baseline(gate_spec, baseline)
    if baseline is not None:
        from ..audit.runner import RESULTS_SCHEMA_VERSION
        from ..comparison import check_comparable

        this_run = {"schema_version": RESULTS_SCHEMA_VERSION, "run": {"dataset": dataset or "predictions"}}
        check_comparable(baseline, this_run, base_name="the baseline", new_name="this run")
    bundle = load_bundle(model) if model is not None else None
    return RunRequest(dataset=dataset, model=model, seed=seed, n=n, n_twins=n_twins, settings=settings,
                      gate_spec=gate_spec, bundle=bundle, baseline=baseline)


def _listed(names) -> str:
    names = [str(x) for x in names]
    return shown(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def check_against_data(request: RunRequest, attributes, audited: Sequence[str],
                       classes: Sequence[str]) -> dict[str, str | None]:
    """Check the settings against the audited data; return the reference group of each audited attribute.

    Parameters
    ----------
    request : RunRequest
        From :func:`check_run_request`.
    attributes : pandas.DataFrame
        The audited items' attributes: every column the data has, one row per audited item.
    audited : sequence of str
        The attributes the group probes compare.
    classes : sequence of str
        The audit's classes (the dataset's, else the bundle's).

    Returns
    -------
    dict
        Audited attribute → reference group: the configured group when the audited items have it,
        else None (the probes then start from their first group).

    Raises
    ------
    InputError
        The user's settings name an attribute or group the data lacks, or an association label
        that is not a class (one line naming the settings file and the key).
    """
    settings = request.settings
    source = source_text(settings.source)
    configured = settings.values["reference_groups"]
    groups = {a: sorted(set(attributes[a].dropna().astype(str))) for a in attributes.columns}
    for attribute, group in configured.items():
        if group is None or not settings.set_by_user(f"reference_groups.{attribute}"):
            continue
        where = dict(source=source, attribute=key_text(attribute), shown_attribute=shown(attribute))
        if attribute not in groups:
            raise InputError(MSG_NO_ATTRIBUTE.format(**where, present=_listed(groups) if groups else "none"))
        if group not in groups[attribute]:
            raise InputError(MSG_NO_GROUP.format(**where, group=shown(group), n=len(attributes),
                                                 present=_listed(groups[attribute])))
    for name, labels in settings.values["association_sets"].items():
        if settings.set_by_user(f"association_sets.{name}"):
            for label in labels:
                if label not in classes:
                    raise InputError(MSG_NO_CLASS.format(source=source, name=key_text(name), label=shown(label),
                                                         present=_listed(classes)))
    return {a: (configured.get(a) if configured.get(a) in groups.get(a, ()) else None) for a in audited}
