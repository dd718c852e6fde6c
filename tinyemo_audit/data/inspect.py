"""Dataset inspection: counts per split, label and attribute, and the problems found while loading."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .dataset import UNLABELLED, Dataset
from .layout_spec import get_layout, list_layouts
from .layouts import MissingSplitError
from .registry import SPLITS, load_dataset

# Images are decoded (to find unreadable files) but kept tiny: inspection counts, it does not look.
INSPECT_IMAGE_SIZE = 16


def describe_layouts() -> list[dict[str, Any]]:
    """Every named dataset layout: name, kind, taxonomy, splits and description."""
    rows = []
    for name in list_layouts():
        layout = get_layout(name)
        rows.append({
            "name": name,
            "spec": f"{name}:<manifest.csv>" if name == "csv" else f"{name}:<root>",
            "kind": layout.kind,
            "taxonomy": layout.taxonomy,
            "splits": sorted(layout.splits, key=SPLITS.index),
            "description": layout.description,
        })
    return rows


def _split_summary(data: Dataset) -> dict[str, Any]:
    labelled = bool(len(data)) and bool((data.labels != UNLABELLED).any())
    summary: dict[str, Any] = {"n": len(data), "labelled": labelled}
    if labelled:
        counts = np.bincount(data.labels[data.labels >= 0], minlength=len(data.classes))
        summary["labels"] = {c: int(n) for c, n in zip(data.classes, counts)}
    summary["attributes"] = {
        column: {str(k): int(v) for k, v in data.attributes[column].value_counts().sort_index().items()}
        for column in data.attributes.columns
    }
    skipped = list(data.meta.get("skipped", ()))
    summary["n_skipped"] = len(skipped)
    summary["skipped"] = skipped
    summary["problems"] = list(data.meta.get("problems", ()))
    return summary


def inspect_dataset(spec: str, *, split_names: tuple[str, ...] = SPLITS, **options) -> dict[str, Any]:
    """Load every split of ``spec`` and report counts and problems.

    Parameters
    ----------
    spec : str
        A dataset spec, e.g. ``"webemo:/data/webemo"``, ``"csv:/data/manifest.csv"``, ``"faces"``.
    split_names : tuple of str
        Splits to look at.
    **options
        Passed to :func:`~tinyemo_audit.data.registry.load_dataset` (layout overrides such as
        ``splits={"test": ["holdout"]}``).

    Returns
    -------
    dict
        ``spec``, ``classes``, ``splits`` (per present split: ``n``, ``labelled``, ``labels``,
        ``attributes``, ``n_skipped``, ``skipped``, ``problems``), ``missing_splits`` and
        ``problems`` (one line each, prefixed by the split).

    Raises
    ------
    InputError
        If no split at all can be loaded.
    UsageError
        For an unknown spec or option, or when every label of a split is outside the taxonomy.
    """
    scheme = spec.partition(":")[0]
    if ":" in spec and scheme in list_layouts():
        options.setdefault("size", INSPECT_IMAGE_SIZE)
    report: dict[str, Any] = {"spec": spec, "taxonomy": None, "classes": [], "splits": {}, "missing_splits": [], "problems": []}
    paths: dict[str, set] = {}
    errors: list[str] = []
    for split in split_names:
        try:
            data = load_dataset(spec, split, **options)
        except MissingSplitError as err:
            report["missing_splits"].append(split)
            report["problems"].append(f"{split}: missing split ({err})")
            continue
        except InputError as err:  # UsageError (bad spec, option, all labels unknown) propagates
            if spec.startswith("features:") and "has no" in str(err):
                report["missing_splits"].append(split)
                report["problems"].append(f"{split}: missing split ({err})")
                continue
            errors.append(str(err))
            report["splits"][split] = {"n": 0, "error": str(err)}
            report["problems"].append(f"{split}: {err}")
            continue
        summary = _split_summary(data)
        report["splits"][split] = summary
        report["classes"] = list(data.classes) or report["classes"]
        report["taxonomy"] = data.meta.get("taxonomy")
        report["problems"].extend(f"{split}: {p}" for p in summary["problems"])
        if summary["labelled"]:
            empty = [c for c, n in summary["labels"].items() if n == 0]
            if empty:
                report["problems"].append(f"{split}: empty classes (no item): {', '.join(empty)}")
        paths[split] = {p for p in data.meta.get("paths", []) if p}
    if not report["splits"] or len(errors) == len(report["splits"]) and errors:
        detail = errors[0] if errors else "every split is missing: " + "; ".join(report["problems"])
        raise InputError(f"cannot inspect {spec}: {detail}")
    names = list(paths)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = len(paths[a] & paths[b])
            if shared:
                report["problems"].append(f"{a} and {b} share {shared} image file(s)")
    report["n_items"] = sum(s.get("n", 0) for s in report["splits"].values())
    report["n_skipped"] = sum(s.get("n_skipped", 0) for s in report["splits"].values())
    return report
