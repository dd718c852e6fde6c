"""Multiclass group metrics (one-vs-rest per emotion) with bootstrap CIs, disparities and permutation p-values."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.metrics._bootstrap import (
    bootstrap_rng,
    stratified_cell_bootstrap,
)
from tinyemo_audit.metrics._checks import (
    as_labels,
    check_choice,
    check_confidence,
    check_count,
    native,
    same_length,
    sorted_unique,
)
from tinyemo_audit.metrics._stats import homogeneity_test, percentile_interval, wilson_interval

METRICS = ("accuracy", "tpr", "fpr", "selection_rate")
KINDS = ("difference", "ratio")
RELATIVE_TO = ("groups", "overall")
OVERALL = "*"
ALL_CLASSES = "*"

UNKNOWN_GROUP = "sensitive contains values not listed in groups: {values}"
UNKNOWN_CLASS = "cls {cls!r} is not one of the classes {classes}"
CLS_REQUIRED = "metric {metric!r} is per class: pass cls= (one of {classes})"
CLS_NOT_ALLOWED = "metric 'accuracy' is over all classes: leave cls=None"
DUPLICATE_LABELS = "{name} lists a value more than once"

INTERVALS = ("wilson", "bootstrap")
BAD_INTERVAL = "interval must be one of {choices}, got {interval!r}"
NOTE_EMPTY = "empty group: no rows"
NOTE_NO_POSITIVES = "class absent from group: no rows with y_true == cls, TPR undefined"
NOTE_NO_NEGATIVES = "no rows with y_true != cls in group: FPR undefined"
NOTE_SMALL = "n < min_group_size ({min_group_size}): reported, not flaggable"
NOTE_SMALL_DENOMINATOR = ("a deciding group has fewer than min_group_size ({min_group_size}) items in the rate's "
                          "denominator: reported, not flaggable")
NOTE_EXCLUDED = "groups left out because the metric is undefined there: {groups}"


@dataclass(frozen=True)
class _Table:
    """Cell counts ``cells[g, true, pred]`` with the labels that index them."""

    groups: np.ndarray  # group labels, len G
    classes: np.ndarray  # reported classes, len L (the first L label codes)
    cells: np.ndarray  # (G, U, U) int64, U >= L (labels outside ``classes`` come last)

    @property
    def sizes(self) -> np.ndarray:
        return self.cells.sum(axis=(1, 2))


def cell_counts(true: np.ndarray, predicted: np.ndarray, group_codes: np.ndarray, groups, n_classes: int) -> _Table:
    """Cell counts of integer-coded data, as :func:`group_table` and :func:`disparity` tabulate them.

    Parameters
    ----------
    true, predicted : ndarray of int, shape (n,)
        Class indices in ``0 .. n_classes - 1``.
    group_codes : ndarray of int, shape (n,)
        Index of each row's group in ``groups``.
    groups : sequence
        Group labels, in the order the results list them (sorted, as the array functions sort).
    n_classes : int

    Returns
    -------
    _Table
        For :func:`group_table_counts`, :func:`disparity_counts`, :func:`equalized_odds_counts`.

    Examples
    --------
    >>> t = cell_counts(np.array([0, 1, 1]), np.array([0, 1, 0]), np.array([0, 0, 1]), ["a", "b"], 2)
    >>> t.cells.tolist()
    [[[1, 0], [0, 1]], [[0, 0], [1, 0]]]
    """
    k = int(n_classes)
    return _Table(np.asarray(list(groups), dtype=object), np.arange(k),
                  _cells(group_codes, true, predicted, len(groups), k))


def _cells(g, t, p, n_groups: int, n_labels: int) -> np.ndarray:
    """(group, true, predicted) counts of index-coded rows: int64 (n_groups, n_labels, n_labels)."""
    key = (np.asarray(g, dtype=np.int64) * n_labels + np.asarray(t, dtype=np.int64)) * n_labels + np.asarray(p)
    return np.bincount(key, minlength=n_groups * n_labels * n_labels).reshape(
        n_groups, n_labels, n_labels).astype(np.int64)


def _index_of(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return pd.Index(labels).get_indexer(values)


def _tabulate(y_true, y_pred, sensitive, classes=None, groups=None) -> _Table:
    categories = None
    if groups is None and isinstance(getattr(sensitive, "dtype", None), pd.CategoricalDtype):
        categories = np.asarray(sensitive.cat.categories if hasattr(sensitive, "cat") else sensitive.categories)
    y_true = as_labels(y_true, "y_true")
    y_pred = as_labels(y_pred, "y_pred")
    sensitive = as_labels(sensitive, "sensitive")
    same_length(y_true=y_true, y_pred=y_pred, sensitive=sensitive)
    if len(y_true) == 0:
        raise InputError("y_true is empty")

    observed = sorted_unique(np.concatenate([y_true.astype(object), y_pred.astype(object)]), "labels")
    if classes is None:
        class_arr = observed
        labels = observed
    else:
        class_arr = as_labels(np.asarray(list(classes), dtype=object), "classes")
        if len(pd.unique(class_arr)) != len(class_arr):
            raise UsageError(DUPLICATE_LABELS.format(name="classes"))
        extra = observed[_index_of(observed, class_arr) < 0]
        labels = np.concatenate([class_arr, extra])
    if groups is not None:
        group_arr = as_labels(np.asarray(list(groups), dtype=object), "groups")
    elif categories is not None:
        group_arr = categories
    else:
        group_arr = sorted_unique(sensitive, "sensitive")
    if len(pd.unique(group_arr)) != len(group_arr):
        raise UsageError(DUPLICATE_LABELS.format(name="groups"))

    g = _index_of(sensitive, group_arr)
    if (g < 0).any():
        raise InputError(UNKNOWN_GROUP.format(values=list(pd.unique(sensitive[g < 0]))[:5]))
    cells = _cells(g, _index_of(y_true, labels), _index_of(y_pred, labels), len(group_arr), len(labels))
    return _Table(group_arr, class_arr, cells)


def _with_overall(cells: np.ndarray) -> np.ndarray:
    """Prepend the overall population (sum over groups) along the group axis (-3)."""
    return np.concatenate([cells.sum(axis=-3, keepdims=True), cells], axis=-3)


def _rates(cells: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """Every metric and its denominator from cell counts of shape ``(..., G, U, U)``."""
    n = cells.sum(axis=(-2, -1)).astype(float)
    positives = cells.sum(axis=-1)[..., :n_classes].astype(float)
    predicted = cells.sum(axis=-2)[..., :n_classes].astype(float)
    diagonal = np.diagonal(cells, axis1=-2, axis2=-1)
    true_pos = diagonal[..., :n_classes].astype(float)
    negatives = n[..., None] - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "accuracy": diagonal.sum(axis=-1) / n,
            "tpr": true_pos / positives,
            "fpr": (predicted - true_pos) / negatives,
            "selection_rate": predicted / n[..., None],
            "n": n,
            "positives": positives,
            "negatives": negatives,
        }


def _wide(rates: dict[str, np.ndarray]) -> np.ndarray:
    """Stack the metrics as ``(..., G, 1 + 3L)``: accuracy, then tpr, fpr, selection_rate per class."""
    return np.concatenate(
        [rates["accuracy"][..., None], rates["tpr"], rates["fpr"], rates["selection_rate"]], axis=-1
    )


def _bootstrap_replicates(table: _Table, n_boot: int, seed: int, summary) -> np.ndarray:
    """Apply ``summary(cells (b, G, U, U)) -> (b, ...)`` to every stratified bootstrap replicate."""
    g, u, _ = table.cells.shape
    out = []
    for chunk in stratified_cell_bootstrap(table.cells.reshape(g, u * u), n_boot, bootstrap_rng(seed)):
        out.append(summary(chunk.reshape(-1, g, u, u)))
    return np.concatenate(out, axis=0)


def group_table(
    y_true,
    y_pred,
    sensitive,
    *,
    classes=None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_group_size: int = 30,
    groups=None,
    interval: str = "wilson",
) -> pd.DataFrame:
    """Per-group multiclass metrics with confidence intervals, in long format.

    For every group (and the overall population, group ``"*"``) it reports accuracy
    (cls ``"*"``) and, one-vs-rest for every class, the true-positive rate, false-positive
    rate and selection rate. Point estimates equal fairlearn's ``MetricFrame`` on the
    binarised labels. One bootstrap resample (rows resampled within each group, drawn
    as multinomial cell counts) serves every metric.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels (strings or numbers). Missing values raise InputError.
    sensitive : array-like of shape (n,)
        Protected-attribute value of each row. A pandas Categorical keeps its unused
        categories as empty groups.
    classes : sequence, optional
        Classes to report, in this order. Default: every label seen in ``y_true`` or
        ``y_pred``, sorted. Labels outside ``classes`` still count as (wrong) predictions.
    n_boot : int, default 1000
        Bootstrap replicates for ``interval="bootstrap"``; 0 skips the bootstrap (CI columns
        are NaN).
    confidence : float, default 0.95
        Two-sided coverage of the intervals.
    seed : int, default 0
        Seed of the ``numpy.random.Generator``; same seed, same output.
    min_group_size : int, default 30
        Rows with ``n`` below this are reported but ``flaggable`` is False.
    groups : sequence, optional
        Groups to report, in this order (groups without rows get NaN values).
    interval : {"wilson", "bootstrap"}, default "wilson"
        Every value here is one proportion with a known denominator (``support``), so the
        default is its Wilson score interval: the percentile bootstrap under-covers when a
        group has only a handful of errors (measured: 0.885 at n = 500 for accuracy near
        0.98, see ``tinyemo-audit validate``). ``"bootstrap"`` gives the stratified
        percentile bootstrap instead (what fairlearn's ``MetricFrame(n_boot=...)`` does).
        Differences between groups (``disparity``) are always bootstrapped.

    Returns
    -------
    pandas.DataFrame
        Columns ``group, cls, metric, value, ci_low, ci_high, n, support, flaggable, note``.
        ``n`` is the group size, ``support`` the metric's denominator (positives for TPR,
        negatives for FPR, ``n`` otherwise). An undefined value is NaN and ``note`` says why.

    Examples
    --------
    >>> table = group_table(["happy", "sad", "sad", "happy"], ["happy", "sad", "happy", "happy"],
    ...                     ["a", "a", "b", "b"], n_boot=0)
    >>> row = table.query("group == 'b' and metric == 'tpr' and cls == 'sad'").iloc[0]
    >>> float(row.value), int(row.n), bool(row.flaggable)
    (0.0, 2, False)
    >>> table.query("group == 'a' and metric == 'accuracy'").value.item()
    1.0
    """
    return group_table_counts(_tabulate(y_true, y_pred, sensitive, classes, groups), n_boot=n_boot,
                              confidence=confidence, seed=seed, min_group_size=min_group_size, interval=interval)


def group_table_counts(table: _Table, *, n_boot: int = 1000, confidence: float = 0.95, seed: int = 0,
                       min_group_size: int = 30, interval: str = "wilson") -> pd.DataFrame:
    """:func:`group_table` from cell counts (:func:`cell_counts`): equal output for equal counts.

    Parameters
    ----------
    table : _Table
        From :func:`cell_counts`.
    n_boot, confidence, seed, min_group_size, interval
        As in :func:`group_table`.

    Returns
    -------
    pandas.DataFrame
        As :func:`group_table`.

    Examples
    --------
    >>> counts = cell_counts(np.array([0, 1, 1]), np.array([0, 1, 0]), np.array([0, 0, 1]), ["a", "b"], 2)
    >>> table = group_table_counts(counts, n_boot=0)
    >>> table.query("group == 'a' and metric == 'accuracy'").value.item()
    1.0
    """
    n_boot = check_count(n_boot, "n_boot")
    confidence = check_confidence(confidence)
    min_group_size = check_count(min_group_size, "min_group_size")
    if interval not in INTERVALS:
        raise UsageError(BAD_INTERVAL.format(interval=interval, choices=", ".join(INTERVALS)))
    n_classes = len(table.classes)

    rates = _rates(_with_overall(table.cells), n_classes)
    values = _wide(rates)  # (G+1, M)
    n_rows, n_cols = values.shape
    n = np.repeat(rates["n"][:, None], n_cols, axis=1)
    support = np.concatenate([rates["n"][:, None], rates["positives"], rates["negatives"], n[:, :n_classes]], axis=1)
    if interval == "wilson":
        # values * support recovers the integer numerators; the rounding only removes float noise.
        ci_low, ci_high = wilson_interval(np.rint(np.nan_to_num(values) * support), support, confidence)
    elif n_boot:
        replicates = _bootstrap_replicates(
            table, n_boot, seed, lambda c: _wide(_rates(_with_overall(c), n_classes))
        )
        ci_low, ci_high = percentile_interval(replicates, confidence)
    else:
        ci_low = ci_high = np.full(values.shape, np.nan)

    metric = np.array(["accuracy"] + [m for m in METRICS[1:] for _ in range(n_classes)], dtype=object)
    cls = np.array([ALL_CLASSES] + list(table.classes) * 3, dtype=object)
    group = np.array([OVERALL] + list(table.groups), dtype=object)

    is_tpr = np.broadcast_to(metric == "tpr", values.shape)
    is_fpr = np.broadcast_to(metric == "fpr", values.shape)
    notes = np.full(values.shape, "", dtype=object)
    small = (n > 0) & (n < min_group_size)
    for mask, text in (
        (n == 0, NOTE_EMPTY),
        ((n > 0) & is_tpr & (support == 0), NOTE_NO_POSITIVES),
        ((n > 0) & is_fpr & (support == 0), NOTE_NO_NEGATIVES),
        (small, NOTE_SMALL.format(min_group_size=min_group_size)),
    ):
        notes[mask] = np.where(notes[mask] == "", text, notes[mask] + "; " + text)

    frame = pd.DataFrame(
        {
            "group": np.repeat(group, n_cols),
            "cls": np.tile(cls, n_rows),
            "metric": np.tile(metric, n_rows),
            "value": values.ravel(),
            "ci_low": ci_low.ravel(),
            "ci_high": ci_high.ravel(),
            "n": n.ravel().astype(np.int64),
            "support": support.ravel().astype(np.int64),
            "flaggable": ((n >= min_group_size) & np.isfinite(values)).ravel(),
            "note": notes.ravel(),
        }
    )
    return frame


def _metric_values(cells: np.ndarray, metric: str, cls_index: int | None, n_classes: int) -> np.ndarray:
    """Values of one metric for overall + every group, from cells ``(..., G, U, U)`` → ``(..., G+1)``."""
    rates = _rates(_with_overall(cells), n_classes)
    if metric == "accuracy":
        return rates["accuracy"]
    return rates[metric][..., cls_index]


def _metric_counts(cells: np.ndarray, metric: str, cls_index: int | None, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Successes and trials per group of one metric (its numerator and denominator), from cells ``(G, U, U)``."""
    rates = _rates(cells, n_classes)
    if metric == "accuracy":
        trials = rates["n"]
        successes = np.diagonal(cells, axis1=-2, axis2=-1).sum(axis=-1)
    elif metric == "tpr":
        trials = rates["positives"][:, cls_index]
        successes = cells[:, cls_index, cls_index]
    elif metric == "fpr":
        trials = rates["negatives"][:, cls_index]
        successes = cells[:, :, cls_index].sum(axis=-1) - cells[:, cls_index, cls_index]
    else:
        trials = rates["n"]
        successes = cells[:, :, cls_index].sum(axis=-1)
    return np.asarray(successes, dtype=np.int64), np.asarray(trials, dtype=np.int64)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with the conventions 0/0 → 1 and x/0 → 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = num / den
    ratio = np.where(den == 0, np.where(num == 0, 1.0, 0.0), ratio)
    return np.where(np.isnan(num) | np.isnan(den), np.nan, ratio)


def _statistic(values: np.ndarray, kind: str, relative_to: str) -> np.ndarray:
    """Disparity statistic over ``values[..., 0]`` (overall) and ``values[..., 1:]`` (groups); NaN groups skipped."""
    overall, by_group = values[..., 0], values[..., 1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every group undefined → NaN statistic
        if relative_to == "groups":
            high, low = np.nanmax(by_group, axis=-1), np.nanmin(by_group, axis=-1)
            return high - low if kind == "difference" else _safe_ratio(low, high)
        if kind == "difference":
            return np.nanmax(np.abs(by_group - overall[..., None]), axis=-1)
        return np.nanmin(_safe_ratio(by_group, np.broadcast_to(overall[..., None], by_group.shape)), axis=-1)


def _extreme_groups(by_group: np.ndarray, overall: float, metric: str) -> tuple[int, int]:
    """Indices of the worst and best group (NaN groups never chosen)."""
    if metric == "selection_rate":
        # No direction is better for a selection rate: distance from the overall rate decides.
        distance = np.where(np.isnan(by_group), -np.inf, np.abs(by_group - overall))
        closeness = np.where(np.isnan(by_group), -np.inf, -np.abs(by_group - overall))
        return int(np.argmax(distance)), int(np.argmax(closeness))
    goodness = -by_group if metric == "fpr" else by_group
    worst = np.where(np.isnan(goodness), np.inf, goodness)
    best = np.where(np.isnan(goodness), -np.inf, goodness)
    return int(np.argmin(worst)), int(np.argmax(best))


def _resolve_cls(table: _Table, metric: str, cls) -> int | None:
    classes = list(table.classes)
    if metric == "accuracy":
        if cls not in (None, ALL_CLASSES):
            raise UsageError(CLS_NOT_ALLOWED)
        return None
    if cls is None:
        raise UsageError(CLS_REQUIRED.format(metric=metric, classes=classes))
    index = _index_of(np.asarray([cls], dtype=object), table.classes)[0]
    if index < 0:
        raise UsageError(UNKNOWN_CLASS.format(cls=cls, classes=classes))
    return int(index)


def disparity(
    y_true,
    y_pred,
    sensitive,
    *,
    metric: str,
    cls=None,
    kind: str = "difference",
    relative_to: str = "groups",
    n_boot: int = 1000,
    n_perm: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_group_size: int = 30,
    classes=None,
    groups=None,
) -> dict:
    """Disparity of one group metric, with a bootstrap CI and a permutation p-value.

    ``kind="difference"``: max_a m_a − min_a m_a (``relative_to="groups"``) or
    max_a |m_a − m| (``"overall"``). ``kind="ratio"``: min_a m_a / max_a m_a or
    min_a m_a / m. Ratios use the conventions 0/0 → 1 (all groups at zero are equal)
    and x/0 → 0. Note fairlearn's ``ratio(method="to_overall")`` instead takes
    min(m_a/m, m/m_a); we follow METRICS.md. Groups where the metric is undefined
    (e.g. no positives for TPR) are left out and listed in ``note``.

    The p-value tests the null "every group has the same rate" on the metric's own 2×G table
    (successes and trials per group, e.g. true positives and positives for TPR) with
    :func:`~tinyemo_audit.metrics._stats.homogeneity_test`: Pearson's X² against chi-square where
    every expected count is at least 5, else exactly (every table with the same margins), else by
    ``n_perm`` permutations; ``test`` says which. Differences, ratios and both references share
    that null, so they share the p-value. The CI reuses the stratified bootstrap resample that
    ``group_table`` draws for the same seed.

    Parameters
    ----------
    y_true, y_pred, sensitive : array-like of shape (n,)
        As in :func:`group_table`.
    metric : {"accuracy", "tpr", "fpr", "selection_rate"}
    cls : label, optional
        The class (one-vs-rest) for ``tpr``, ``fpr``, ``selection_rate``; None for accuracy.
    kind : {"difference", "ratio"}, default "difference"
    relative_to : {"groups", "overall"}, default "groups"
    n_boot : int, default 1000
        Bootstrap replicates for the CI (0: NaN CI).
    n_perm : int, default 1000
        Permutations when the table is too sparse for chi-square and too large to enumerate
        (0: no p-value at all).
    confidence : float, default 0.95
    seed : int, default 0
    min_group_size : int, default 30
        The result is not ``flaggable`` when a group that decides it has fewer items in the
        metric's denominator (all its items for accuracy and selection rate, its items of ``cls``
        for TPR, its other items for FPR).
    classes, groups : sequence, optional
        As in :func:`group_table`.

    Returns
    -------
    dict
        ``value, ci_low, ci_high, p_value, worst_group, best_group`` and also ``metric, cls,
        kind, relative_to, n, by_group, n_by_group, trials_by_group, successes_by_group, overall,
        flaggable, note, test``. Worst/best:
        lowest/highest for accuracy and TPR, highest/lowest for FPR, farthest from/closest
        to the overall rate for selection rate.

    Examples
    --------
    >>> y_true = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> y_pred = [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0]
    >>> sf = list("bbabbcccaacabccbcc")
    >>> result = disparity(y_true, y_pred, sf, metric="selection_rate", cls=1, n_boot=200, n_perm=200)
    >>> round(result["value"], 4), result["worst_group"], result["flaggable"]
    (0.25, 'a', False)
    >>> round(disparity(y_true, y_pred, sf, metric="selection_rate", cls=1, kind="ratio", n_boot=0, n_perm=0)["value"], 4)
    0.6667
    """
    check_choice(metric, "metric", METRICS)
    return disparity_counts(_tabulate(y_true, y_pred, sensitive, classes, groups), metric=metric, cls=cls, kind=kind,
                            relative_to=relative_to, n_boot=n_boot, n_perm=n_perm, confidence=confidence, seed=seed,
                            min_group_size=min_group_size)


def disparity_counts(table: _Table, *, metric: str, cls=None, kind: str = "difference", relative_to: str = "groups",
                     n_boot: int = 1000, n_perm: int = 1000, confidence: float = 0.95, seed: int = 0,
                     min_group_size: int = 30) -> dict:
    """:func:`disparity` from cell counts (:func:`cell_counts`): equal output for equal counts.

    Parameters
    ----------
    table : _Table
        From :func:`cell_counts`.
    metric, cls, kind, relative_to, n_boot, n_perm, confidence, seed, min_group_size
        As in :func:`disparity`.

    Returns
    -------
    dict
        As :func:`disparity`.

    Examples
    --------
    >>> counts = cell_counts(np.array([0, 1, 1, 1]), np.array([0, 1, 0, 0]), np.array([0, 0, 1, 1]), ["a", "b"], 2)
    >>> disparity_counts(counts, metric="accuracy", n_boot=0, n_perm=0)["value"]
    1.0
    """
    check_choice(metric, "metric", METRICS)
    check_choice(kind, "kind", KINDS)
    check_choice(relative_to, "relative_to", RELATIVE_TO)
    n_boot = check_count(n_boot, "n_boot")
    n_perm = check_count(n_perm, "n_perm")
    confidence = check_confidence(confidence)
    min_group_size = check_count(min_group_size, "min_group_size")
    cls_index = _resolve_cls(table, metric, cls)
    n_classes = len(table.classes)

    values = _metric_values(table.cells, metric, cls_index, n_classes)
    observed = float(_statistic(values, kind, relative_to))
    overall, by_group = float(values[0]), values[1:]
    sizes = table.sizes

    def summary(cells):
        return _statistic(_metric_values(cells, metric, cls_index, n_classes), kind, relative_to)

    if n_boot:
        ci_low, ci_high = (float(v) for v in percentile_interval(_bootstrap_replicates(table, n_boot, seed, summary), confidence))
    else:
        ci_low = ci_high = float("nan")
    successes, trials = _metric_counts(table.cells, metric, cls_index, n_classes)
    if n_perm and len(table.groups) > 1:
        # The same null for every kind and reference (the groups share one rate), tested on the metric's
        # own 2×G table: chi-square where valid, exact or permuted where the table is sparse.
        tested = homogeneity_test(successes, trials, n_perm=n_perm, seed=seed)
        p_value, test = tested["p_value"], tested["test"]
    else:
        p_value, test = float("nan"), None
    defined = ~np.isnan(by_group)
    notes = []
    if (~defined).any():
        notes.append(NOTE_EXCLUDED.format(groups=[native(x) for x in table.groups[~defined]]))
    if defined.any():
        worst, best = _extreme_groups(by_group, overall, metric)
        worst_group, best_group = native(table.groups[worst]), native(table.groups[best])
        if relative_to == "groups":
            deciding = [worst, best] if metric != "selection_rate" else [int(np.nanargmax(by_group)), int(np.nanargmin(by_group))]
        else:
            deviation = np.abs(by_group - overall) if kind == "difference" else -_safe_ratio(by_group, np.full_like(by_group, overall))
            deciding = [int(np.nanargmax(deviation))]
        # A rate rests on its denominator (the group's items for accuracy and selection rate, its items
        # of the class for TPR, the others for FPR): that count must reach min_group_size.
        large = all(trials[i] >= min_group_size for i in deciding)
        flaggable = bool(np.isfinite(observed) and large)
        if not large:
            notes.append(NOTE_SMALL_DENOMINATOR.format(min_group_size=min_group_size))
    else:
        worst_group = best_group = None
        flaggable = False
    if len(table.groups) < 2:
        notes.append("a single group: nothing to compare, p-value undefined")
    return {
        "value": observed,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": p_value,
        "worst_group": worst_group,
        "best_group": best_group,
        "metric": metric,
        "cls": native(table.classes[cls_index]) if cls_index is not None else ALL_CLASSES,
        "kind": kind,
        "relative_to": relative_to,
        "n": int(sizes.sum()),
        "overall": overall,
        "by_group": {native(k): float(v) for k, v in zip(table.groups, by_group)},
        "n_by_group": {native(k): int(v) for k, v in zip(table.groups, sizes)},
        "trials_by_group": {native(k): int(v) for k, v in zip(table.groups, trials)},
        "successes_by_group": {native(k): int(v) for k, v in zip(table.groups, successes)},
        "test": test,
        "flaggable": flaggable,
        "note": "; ".join(notes),
    }


def _eod_by_class(table: _Table) -> np.ndarray:
    rates = _rates(table.cells, len(table.classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d_tpr = np.nanmax(rates["tpr"], axis=0) - np.nanmin(rates["tpr"], axis=0)
        d_fpr = np.nanmax(rates["fpr"], axis=0) - np.nanmin(rates["fpr"], axis=0)
    return np.fmax(d_tpr, d_fpr)


def equalized_odds_difference(y_true, y_pred, sensitive, *, cls, classes=None) -> float:
    """Equalized-odds difference for class ``cls`` (one-vs-rest): max(ΔTPR, ΔFPR) between groups.

    Parameters
    ----------
    y_true, y_pred, sensitive : array-like of shape (n,)
    cls : label or None
        The positive class. None gives the multiclass aggregate, the maximum over classes
        (see :func:`equalized_odds` for the arg-max class).
    classes : sequence, optional
        As in :func:`group_table`.

    Returns
    -------
    float
        For binary labels and ``cls=1`` this equals
        ``fairlearn.metrics.equalized_odds_difference``. Groups where a rate is undefined
        are skipped for that rate; NaN when no two groups define it.

    Examples
    --------
    >>> y_true = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> y_pred = [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0]
    >>> equalized_odds_difference(y_true, y_pred, list("bbabbcccaacabccbcc"), cls=1)
    1.0
    """
    table = _tabulate(y_true, y_pred, sensitive, classes)
    by_class = _eod_by_class(table)
    if cls is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(np.nanmax(by_class))
    return float(by_class[_resolve_cls(table, "tpr", cls)])


def equalized_odds(y_true, y_pred, sensitive, *, classes=None) -> dict:
    """Multiclass equalized-odds difference: the maximum over classes and the class attaining it.

    Parameters
    ----------
    y_true, y_pred, sensitive : array-like of shape (n,)
    classes : sequence, optional
        As in :func:`group_table`.

    Returns
    -------
    dict
        ``value`` (max over classes), ``cls`` (the arg-max class) and ``by_class``.

    Examples
    --------
    >>> result = equalized_odds(["a", "b", "a", "b"], ["a", "a", "a", "b"], [0, 0, 1, 1])
    >>> result["value"], result["by_class"]
    (1.0, {'a': 1.0, 'b': 1.0})
    """
    return equalized_odds_counts(_tabulate(y_true, y_pred, sensitive, classes))


def equalized_odds_counts(table: _Table) -> dict:
    """:func:`equalized_odds` from cell counts (:func:`cell_counts`).

    Parameters
    ----------
    table : _Table
        From :func:`cell_counts`.

    Returns
    -------
    dict
        As :func:`equalized_odds`.

    Examples
    --------
    >>> counts = cell_counts(np.array([0, 1, 0, 1]), np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]), ["a", "b"], 2)
    >>> equalized_odds_counts(counts)["value"]
    1.0
    """
    by_class = _eod_by_class(table)
    finite = np.isfinite(by_class)
    best = int(np.argmax(np.where(finite, by_class, -np.inf))) if finite.any() else None
    return {
        "value": float(by_class[best]) if best is not None else float("nan"),
        "cls": native(table.classes[best]) if best is not None else None,
        "by_class": {native(k): float(v) for k, v in zip(table.classes, by_class)},
    }
