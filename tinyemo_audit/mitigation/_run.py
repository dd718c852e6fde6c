"""``mitigate``: audit, apply a method, write the mitigated bundle, re-audit it, compare (docs/mitigation.md).

Output folder (``--out``, written as one unit; nothing is written when anything fails)::

    before/results.json, report.html        the audit of the source bundle
    <method>/bundle/                         the mitigated bundle (bundle.json records "mitigation"; MODEL_CARD says what was done)
    <method>/after/results.json, report.html the same audit of the mitigated bundle
    <method>/comparison.json, .html          before → after, by the comparison package (as ``compare``)
    mitigation.json, tradeoff.html           every method's accuracy and tracked bias sizes, with CIs
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..errors import InputError, UnknownNameError
from ..user_text import shown
from ._methods import CITATIONS, METHODS, NEEDS_TRAINING, Mitigated, Plan
from ._refits import DEFAULT_REFITS, MAX_REFITS

ALL = "all"
METHOD_CHOICES = tuple(METHODS) + (ALL,)
MSG_TARGET = "--target {target} is not a class of the bundle's taxonomy ({classes})"
MSG_ATTRIBUTE = "--attribute {attribute} is not an attribute of {dataset} (it has {known})"
OPTIONS = {"alpha": float, "projection": str, "rank": int, "lam": float, "rates": str, "constraint": str,
           "refits": int}


@dataclass
class MitigationResult:
    """What ``mitigate`` did: the before-audit, each method's after-audit and comparison, the trade-off rows."""

    before: dict[str, Any]
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    tradeoff: list[dict[str, Any]] = field(default_factory=list)
    out: Path | None = None


def _check_options(options: dict[str, Any] | None) -> dict[str, Any]:
    from ._projection import PROJECTIONS
    from ._thresholds import CONSTRAINTS, RATES

    options = dict(options or {})
    for name, value in options.items():
        if name not in OPTIONS:
            raise UnknownNameError("mitigation option", name, OPTIONS)
        try:
            options[name] = OPTIONS[name](value)
        except (TypeError, ValueError):
            raise InputError(f"mitigation option {name} must be a {OPTIONS[name].__name__}, got {shown(value)}") from None
    if "alpha" in options and not 0.0 <= options["alpha"] <= 1.0:
        raise InputError(f"mitigation option alpha must be in [0, 1], got {shown(options['alpha'])}")
    if "projection" in options and options["projection"] not in PROJECTIONS:
        raise UnknownNameError("projection", options["projection"], PROJECTIONS)
    if "rates" in options and options["rates"] not in RATES:
        raise UnknownNameError("threshold rates", options["rates"], RATES)
    if "constraint" in options and options["constraint"] not in CONSTRAINTS:
        raise UnknownNameError("threshold constraint", options["constraint"], CONSTRAINTS)
    if "rank" in options and not 1 <= options["rank"] <= 64:
        raise InputError(f"mitigation option rank must be in [1, 64], got {shown(options['rank'])}")
    if "lam" in options and not 0.0 <= options["lam"] <= 1e9:
        raise InputError(f"mitigation option lam must be in [0, 1e9], got {shown(options['lam'])}")
    if "refits" in options and not 0 <= options["refits"] <= MAX_REFITS:
        raise InputError(f"mitigation option refits must be in [0, {MAX_REFITS}], got {shown(options['refits'])}")
    return options


def _requested(before: dict[str, Any], attributes: list[str] | None, target: str | None,
               audited: list[str], classes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Attributes and targets: as given; else those of the before-audit's flagged twin shifts; else all."""
    flagged = [(a, row["label"]) for a, probe in (before.get("counterfactual") or {}).items() if isinstance(probe, dict)
               for row in probe.get("shifts") or [] if row.get("finding_id")]
    chosen = list(attributes or dict.fromkeys(a for a, _ in flagged) or audited)
    targets = [target] if target else list(dict.fromkeys(t for a, t in flagged if a in chosen)) or list(classes)
    return chosen, targets


def _source_card(source) -> str:
    """The source bundle's MODEL_CARD.md, read by the rule for user files (a title when it has none)."""
    from ..input_files import MiB, read_text

    path = source.path / "MODEL_CARD.md"
    if not path.is_file():
        return f"# {source.name}\n"
    text = read_text(path, what="model card", max_bytes=4 * MiB)
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read gave it


def _copy_reasoning_part(source, folder: Path) -> None:
    """Copy the source's reasoning part: its reasoning.json and the two weight files it names, nothing else.

    The part is read through its checked record first (a damaged one is the reasoning package's one
    line), and each file by the rule for user files (regular files only, bounded): a FIFO or a
    link to a device in a hostile bundle's ``reasoning/`` never blocks the copy.
    """
    from ..input_files import MiB, read_bytes
    from ..reasoning.part import PART_DIR, SPEC_FILE

    part = source.reasoning
    target = folder / PART_DIR
    target.mkdir()
    for name in (SPEC_FILE, part.spec["connector"]["file"], part.spec["adapter"]["file"]):
        atomic_write_bytes(target / name, read_bytes(part.path / name, what="reasoning part file", max_bytes=1024 * MiB))


def _write_bundle(source, folder: Path, mitigated: Mitigated, plan: Plan, card: str) -> None:
    """The mitigated bundle: the source's files, the parts the method changed, bundle.json and ``card``.

    The reasoning part (an MM-LLM) is copied unchanged: no method touches it, and without it the
    after-audit would skip the reasoning probes that the before-audit ran, so the comparison would
    list their findings as gone when they were only not audited.
    """
    import torch
    from safetensors.numpy import save_file as save_numpy
    from safetensors.torch import save_file

    from ..model.bundle import BUNDLE_FILE, LABELS_FILE, PROJECTOR_FILE
    from ..model.projector import save_projector

    folder.mkdir(parents=True)
    spec = dict(source.spec)
    encoder = spec.get("encoder") or {}
    if encoder.get("weights"):
        shutil.copyfile(source.path / encoder["weights"], folder / encoder["weights"])
    if source.has_reasoning:  # the MM-LLM is the source's, unchanged: the after-audit reads it as the before-audit did
        _copy_reasoning_part(source, folder)
    if mitigated.projector is not None:
        save_projector(mitigated.projector, folder / PROJECTOR_FILE)
    else:
        shutil.copyfile(source.path / PROJECTOR_FILE, folder / PROJECTOR_FILE)
    labels = mitigated.label_embeddings if mitigated.label_embeddings is not None else source.label_embeddings
    save_file({"label_embeddings": torch.as_tensor(labels).float().contiguous()}, str(folder / LABELS_FILE))
    for name, tensors in mitigated.step_files.items():
        save_numpy({k: v.astype("float32") for k, v in tensors.items()}, str(folder / name))
    if mitigated.projector is not None:
        # a retrained projector was fitted on the raw encoder features (or on this method's own step)
        spec.pop("preprocessing", None)
    spec.update(mitigated.spec)
    spec["name"] = f"{source.name}-{mitigated.method}"
    spec["description"] = f"{source.name} mitigated by {mitigated.method}. " + (source.spec.get("description") or "")
    spec["mitigation"] = {
        "method": mitigated.method, "source": source.name, "reference": CITATIONS[mitigated.method],
        "attributes": plan.attributes, "targets": plan.targets, "options": dict(plan.options),
        "uses_protected_attribute_at_prediction": mitigated.uses_attribute_at_prediction, **mitigated.record,
    }
    atomic_write_json(folder / BUNDLE_FILE, spec)
    atomic_write_text(folder / "MODEL_CARD.md", card)


def _card(original: str, mitigated: Mitigated, plan: Plan, row: dict[str, Any] | None) -> str:
    lines = [original.rstrip(), "", f"## Mitigation: {mitigated.method}", "",
             f"Made by `tinyemo-audit mitigate --method {mitigated.method}` from `{plan.bundle.name}` "
             f"(reference: {CITATIONS[mitigated.method]}). Attributes: {', '.join(plan.attributes)}; "
             f"target label(s): {', '.join(plan.targets)}.", "", *mitigated.card, ""]
    lines.append("Uses the protected attribute at prediction time: **"
                 + ("yes" if mitigated.uses_attribute_at_prediction else "no") + "**.")
    if row is not None:
        acc = row.get("accuracy") or {}
        lines += ["", "Measured by the after-audit (same audit code, same seed as the before-audit):", ""]
        if acc:
            lines.append(f"- test accuracy {acc['value']:.4f} [{acc['ci_low']:.4f}, {acc['ci_high']:.4f}]"
                         + (f", {100 * row['accuracy_change']:+.2f} points" if "accuracy_change" in row else ""))
        for b in row["biases"]:
            if isinstance(b.get("prob_shift"), (int, float)):
                cut = "" if b.get("cut") is None else f", cut {100 * b['cut']:.0f} %"
                lines.append(f"- {b['name']}: P shift {100 * b['prob_shift']:+.1f} points{cut}; similarity shift "
                             f"{b['mean_shift']:.3f} [{b['ci_low']:.3f}, {b['ci_high']:.3f}]"
                             + ("; still flagged" if b.get("flagged") else "; not flagged"))
        new = row.get("new_findings") or []
        lines.append(f"- new findings: {len(new)}" + (": " + "; ".join(f["title"] for f in new) if new else ""))
        crossed = row.get("crossed_findings") or []
        if crossed:
            lines.append(f"- flagged now, but their change since the source is not significant (paired test): "
                         + "; ".join(f["title"] for f in crossed))
    return "\n".join(visible_lines(lines)) + "\n"


def visible_lines(lines: list[str]) -> list[str]:
    from ..user_text import visible

    return [visible(line) for line in lines]


def _check_inputs(bundle, dataset: str, methods: list[str], attributes: list[str] | None, target: str | None):
    """Every bad input of the issue, before any work: one InputError/UsageError line."""
    from ..data.registry import load_dataset
    from ._data import check_training, validation_split

    if target is not None and target not in bundle.classes:
        raise InputError(MSG_TARGET.format(target=shown(target), classes=", ".join(bundle.classes)))
    for method in methods:
        if method in NEEDS_TRAINING:
            check_training(bundle, method)
    data = load_dataset(dataset, "test")
    known = [str(c) for c in data.attributes.columns]
    for attribute in attributes or []:
        if attribute not in known:
            raise InputError(MSG_ATTRIBUTE.format(attribute=shown(attribute), dataset=shown(dataset),
                                                  known=", ".join(known) or "none"))
    if "thresholds" in methods:
        validation_split(dataset)
    audited = list(data.meta.get("protected_attributes") or known)
    return [a for a in audited if a in known]


def mitigate(*, model: str | None = None, dataset: str | None = None, method: str = ALL,
             attributes: list[str] | None = None, target: str | None = None, out: str | Path | None = None,
             options: dict[str, Any] | None = None, seed: int = 0, n: int | None = None, n_twins: int | None = None,
             config: str | Path | None = None, progress: bool = False) -> MitigationResult:
    """Mitigate a bundle's bias with a documented method and measure the effect (see the module docstring).

    Parameters
    ----------
    model, dataset : str, optional
        Bundle (default ``tinyemo-faces-mini``) and the dataset audited before and after (default ``faces``).
    method : {"reweigh", "correlation-remover", "prompt-projection", "thresholds", "all"}
    attributes : list of str, optional
        Protected attributes to mitigate (default: those of the before-audit's flagged twin shifts).
    target : str, optional
        The label a bias pushes toward (default: those of the flagged shifts). With ``thresholds``,
        a target selects fairlearn's ThresholdOptimizer on "is it ``target``?".
    out : path, optional
        Output folder; nothing is written without it.
    options : dict, optional
        ``alpha`` (correlation-remover), ``projection`` ("orthogonal" | "calibrated"), ``rank``, ``lam``
        (prompt-projection), ``rates``, ``constraint`` (thresholds), ``refits`` (how many refits of the
        source's projector a retraining method's new skew findings are measured against; 0: the
        paired test alone; :mod:`._refits`).
    seed, n, n_twins, config
        As ``run``: both audits use the same.

    Returns
    -------
    MitigationResult
    """
    from ..audit._embedding_probes import skew_change_test
    from ._refits import with_refit_null
    from ..audit.runner import run_audit
    from ..audit.settings import load_settings
    from ..comparison import compare_results, render_comparison
    from ..model.bundle import load_bundle
    from ..outputs import OutputPlan, dataset_inputs, model_spec_path
    from ._tradeoff import BEFORE, render_tradeoff, tracked_biases, tradeoff_row

    if method not in METHOD_CHOICES:
        raise UnknownNameError("mitigation method", method, METHOD_CHOICES)
    methods = list(METHODS) if method == ALL else [method]
    options = _check_options(options)
    dataset = dataset or "faces"
    model = model or "tinyemo-faces-mini"
    bundle = load_bundle(model)
    audited = _check_inputs(bundle, dataset, methods, attributes, target)
    plan_out = None
    if out is not None:
        plan_out = OutputPlan(cache=True)
        plan_out.folder(out, "--out")
        for path, what in dataset_inputs(dataset):
            plan_out.input(path, what)
        plan_out.input(model_spec_path(model), f"model {model}")
        if config is not None:
            plan_out.input(config, "audit settings")
        plan_out.check()
    audit = {"dataset": dataset, "seed": seed, "n": n, "n_twins": n_twins, "config": config, "progress": progress}

    def say(text: str) -> None:
        if progress:
            sys.stderr.write(text + "\n")

    import tempfile

    say("mitigate: before-audit")
    audited_before = run_audit(model=model, write=False, **audit)
    before = audited_before.results
    settings = load_settings(config)
    chosen, targets = _requested(before, attributes, target, audited, bundle.classes)
    plan = Plan(bundle=bundle, dataset=dataset, attributes=chosen, targets=targets, options=options,
                target_given=target is not None, seed=seed, config=config)
    biases = tracked_biases(before, chosen, targets)
    original = _source_card(bundle)
    result = MitigationResult(before=before)
    n_refits = options.get("refits", DEFAULT_REFITS)
    refits: dict[str, Any] = {}

    def refit_null():
        """The source's refits (mitigation._refits), fitted on the first new skew finding of a retraining method."""
        if "null" not in refits:
            from ..model.classifier import dataset_features
            from ._refits import fit_refits

            say(f"mitigate: {n_refits} refits of the source projector (the refit null)")
            features = dataset_features(bundle, audited_before.retrieval.items, progress=progress)
            refits["null"] = fit_refits(bundle, features, n_refits, progress=progress)
        return refits["null"]

    with tempfile.TemporaryDirectory(prefix="tinyemo-mitigate-") as scratch:
        work = Path(scratch)
        for name in methods:
            say(f"mitigate: {name}")
            mitigated = METHODS[name](plan)
            folder = work / name / "bundle"
            # the after-audit reads (and records) the card as the method wrote it; the measured effect is added after
            _write_bundle(bundle, folder, mitigated, plan, _card(original, mitigated, plan, None))
            say(f"mitigate: after-audit of {name}")
            audited_after = run_audit(model=str(folder), write=False, **audit)
            after = audited_after.results
            # A skew flagged after only is new when the paired test shows it moved (else it crossed the bar).
            change_test = skew_change_test(audited_before.retrieval, audited_after.retrieval,
                                           n_perm=settings["n_perm"], n_boot=settings["n_boot"], seed=seed)
            if name in NEEDS_TRAINING and n_refits and audited_before.retrieval is not None \
                    and audited_before.retrieval.items is not None:
                # a retrained projector: new only if the change also exceeds what another fit gives
                change_test = with_refit_null(change_test, refit_null, audited_after.retrieval)
            comparison = compare_results(before, after, base_name="before", new_name=name, seed=seed,
                                         change_test=change_test, q_max=settings["q_max"])
            row = tradeoff_row(name, after, biases, before, comparison)
            atomic_write_text(folder / "MODEL_CARD.md", _card(original, mitigated, plan, row))
            result.methods[name] = {"after": after, "comparison": comparison, "row": row, "folder": folder}
        result.tradeoff = [tradeoff_row(BEFORE, before, biases)] + [m["row"] for m in result.methods.values()]
        summary = {"model": bundle.name, "dataset": dataset, "seed": seed, "attributes": chosen, "targets": targets,
                   "methods": methods, "options": options, "tradeoff": result.tradeoff,
                   "refit_null": ({"refits": n_refits, "seeds": list(refits["null"].seeds)} if "null" in refits
                                  else None)}
        if plan_out is not None:
            with plan_out.writing() as staged:
                root = staged.path(out)
                root.mkdir(parents=True, exist_ok=True)
                _write_run(root / "before", before)
                for name, entry in result.methods.items():
                    shutil.copytree(entry["folder"], root / name / "bundle")
                    _write_run(root / name / "after", entry["after"])
                    atomic_write_json(root / name / "comparison.json", entry["comparison"])
                    atomic_write_text(root / name / "comparison.html", render_comparison(entry["comparison"]))
                atomic_write_json(root / "mitigation.json", summary)
                atomic_write_text(root / "tradeoff.html",
                                  render_tradeoff(result.tradeoff, model=bundle.name, dataset=dataset))
            result.out = Path(out)
            for entry in result.methods.values():
                entry["folder"] = result.out / entry["row"]["method"] / "bundle"
    return result


def _write_run(folder: Path, results: dict[str, Any]) -> None:
    """results.json and report.html of one audit, written as the runner writes a run folder's."""
    from ..report import write_report

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "results.json", results)
    write_report(results, folder / "report.html")
