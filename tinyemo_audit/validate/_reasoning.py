"""``validate --reasoning``: power and false alarms of the reasoning probes, on MM-LLMs retrained per trial.

Each planted trial retrains the bundle's reasoning part on instruct data with the annotator-bias
knob of ``configs/instruct/faces-annotator-bias.yaml``; each clean trial on the same data without
it (planted and clean trial ``i`` share the seed ``seed * 1000 + i + 1``: the same template
choices and training batches, the knob the only difference). :mod:`._reasoning_trial` runs one
trial; this module holds the plans, the definitions and the counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..reasoning.settings import ReasoningTrainConfig
from ._reasoning_trial import KNOB_CONFIG
from ._run import MAX_MASTER_SEED, _rate_row, _say

DEFAULT_MODEL = "tinyemo-faces-mini"
MAX_TRIALS = 100  # planted (and clean) trials a plan may ask for: minutes each
WORKSPACE = "validate-reasoning"  # under the cache: instruct data and the bundle copy, removed at the end
# Trial recipes. The full plan retrains with the shipped recipe on as many faces as the shipped part
# (configs/reasoning/faces-mini.yaml = ReasoningTrainConfig's defaults; configs/instruct: 4 000 faces): a
# shorter one (20 + 100 steps on 2 000 faces) was measured not to learn the plant (docs/validity.md). The
# quick plan's recipe is shorter still: a smoke test of the machinery, not a validity figure.
TRIAL_RECIPE = ReasoningTrainConfig()
TRIAL_IMAGES = 4000
QUICK_RECIPE = replace(ReasoningTrainConfig(), stage1_steps=10, stage2_steps=40)
MSG_FACES_ONLY = ("validate --reasoning retrains the reasoning part of bundle {bundle} on faces instruct data, "
                  "but its classes ({classes}) are not the faces corpus's expressions in their order ({faces})")


@dataclass(frozen=True)
class ReasoningPlan:
    """How many planted and clean trials, on how many training faces, with which training recipe."""

    planted_trials: int = 5
    clean_trials: int = 5
    n_images: int = TRIAL_IMAGES
    train: ReasoningTrainConfig = field(default_factory=lambda: TRIAL_RECIPE)

    def to_dict(self) -> dict[str, Any]:
        return {"planted_trials": self.planted_trials, "clean_trials": self.clean_trials,
                "n_images": self.n_images, "train": self.train.to_dict()}


REASONING_FULL = ReasoningPlan()
REASONING_QUICK = ReasoningPlan(planted_trials=1, clean_trials=1, n_images=1000, train=QUICK_RECIPE)

DEFINITIONS = {
    "trial": ("Trial i of master seed m has seed s = m * 1000 + i + 1. It builds instruct data from the first "
              "n_images faces of the train split with the real builder (instruct build, seed s: its own "
              "template choices); a planted trial with the annotator-bias knob of "
              "configs/instruct/faces-annotator-bias.yaml (as that file says it), a clean trial without it. It "
              "retrains the reasoning part (connector + LoRA; the plan's recipe, seed s, the base LLM of the "
              "bundle's own part) into a private copy of the bundle, whose encoder and projector stay. Planted and "
              "clean trial i share s, so the knob is all that differs between them."),
    "audit": ("Each trial audits only the reasoning probes, with run's own functions: collect_texts (the "
              "settings' reasoning twins of the faces test split, free and conditional mode, greedy), "
              "reasoning_section (stated label, wording, attribute mentions, leakage), one Benjamini–Hochberg "
              "over the trial's reasoning p-values (_findings.apply_fdr) and the flag rule "
              "(_findings.rank_findings) under configs/audit/default.yaml, seed s. The conditional hints are the "
              "bundle projector's labels of the reference twins, the same in every trial."),
    "power": ("Share of planted trials with at least one reasoning finding in the planted direction, on the "
              "knob's attribute with the knob's group as the changed twin against the reference group: the "
              "free-mode twins of that group state a label other than the knob's (the twins' true label) more "
              "often (reasoning_label); or their conditional-mode text reads more toward a negative emotion "
              "(reasoning_text toward one of association_sets.negative); or the leakage of the attribute from "
              "the generated reasoning is amplified over the reference reasoning (reasoning_leakage, the "
              "amplification record). A finding on another attribute, with another changed group, toward the "
              "knob's own label or a non-negative emotion, about attribute mentions, or of leakage above chance "
              "without amplification is no hit."),
    "false_alarm_rate": ("Share of clean trials (knob off) with any reasoning finding: stated label, wording, "
                         "attribute mentions or leakage, on any audited attribute, in any direction."),
    "realised": ("Per trial, over the knob attribute's twins whose true label is the knob's: how many texts "
                 "per group hold a knob word (the words every knob sentence shares, stop words aside; whole "
                 "word, any case), in conditional and free mode, and how many free-mode texts state another "
                 "label; 'knob_rows' is how many fine-tuning rows the knob marked."),
    "timings": ("Seconds per trial (instruct build, training, audit) are under 'timings' only: every other "
                "figure is the same for the same seed."),
}


def check_plan(plan: ReasoningPlan) -> ReasoningPlan:
    """``plan`` if its trial counts are in range (1..MAX_TRIALS); else a one-line UsageError."""
    from ..schema.run_request import check_count

    check_count(plan.planted_trials, "planted trials", low=1, high=MAX_TRIALS)
    check_count(plan.clean_trials, "clean trials", low=1, high=MAX_TRIALS)
    return plan


def summarise(trials: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(power row, false-alarm row), each with its Wilson 95 % CI, from trial rows.

    Power counts planted trials whose ``found`` is true; the false-alarm rate counts clean trials
    with any finding (``n_flags > 0``); the false-alarm row also says how many of those clean
    trials had a finding in the planted direction (``found``).
    """
    planted = [t for t in trials if t["planted"]]
    clean = [t for t in trials if not t["planted"]]
    power = _rate_row(sum(bool(t["found"]) for t in planted), len(planted))
    false_alarm = _rate_row(sum(t["n_flags"] > 0 for t in clean), len(clean),
                            in_planted_direction=sum(bool(t["found"]) for t in clean))
    return power, false_alarm


def plan_mode(plan: ReasoningPlan) -> str:
    """``quick`` or ``full`` for those plans' faces and recipe (whatever the trial counts), else ``custom``."""
    for name, default in (("quick", REASONING_QUICK), ("full", REASONING_FULL)):
        if (plan.n_images, plan.train) == (default.n_images, default.train):
            return name
    return "custom"


def _check_bundle(bundle) -> None:
    from ..data.faces import EXPRESSIONS
    from ..errors import InputError
    from ..user_text import shown

    bundle.reasoning  # noqa: B018 - no reasoning part: its one-line InputError, before any work
    if tuple(bundle.classes) != tuple(EXPRESSIONS):
        raise InputError(MSG_FACES_ONLY.format(bundle=shown(bundle.name), classes=", ".join(bundle.classes),
                                               faces=", ".join(EXPRESSIONS)))


def run_reasoning_validation(*, quick: bool = False, seed: int = 0, progress: bool = True,
                             plan: ReasoningPlan | None = None, model: str | Path = DEFAULT_MODEL,
                             settings: dict | None = None, resume: bool = True) -> dict[str, Any]:
    """Measure power and false alarms of the reasoning probes; returns one JSON-ready dict.

    Parameters
    ----------
    quick : bool
        ``REASONING_QUICK`` (1 planted + 1 clean trial, a smaller recipe) instead of ``REASONING_FULL``.
    seed : int
        Master seed, 0..8 (trial seeds are ``seed * 1000 + i + 1``).
    progress : bool
        A line per trial stage and the training and generation bars, on stderr.
    plan : ReasoningPlan, optional
        Overrides ``quick``.
    model : str or Path
        The bundle whose reasoning part is retrained (name or folder; it must have one: its base LLM
        is the trials' base). The bundle itself is never written: trials train a private copy.
    settings : dict, optional
        Audit settings (default configs/audit/default.yaml). ``reasoning.enabled`` is not read: the
        plan always runs the reasoning probes.
    resume : bool
        Read trials an earlier run of the same plan finished (:mod:`._trial_cache`: same code,
        bundle, recipe, knob and settings) instead of rerunning them; every finished trial is kept
        either way. Their timings say ``"reused": true``.

    Returns
    -------
    dict
        ``mode``, ``seed``, headline ``reasoning_power`` and ``reasoning_false_alarm_rate``, and
        ``reasoning``: ``power``, ``false_alarm``, ``trials``, ``plan`` (with the recipe as trained), ``knob``,
        ``settings``, ``definitions`` and ``timings`` (the only part that differs between runs).

    Raises
    ------
    UsageError
        Seed or trial counts out of range.
    InputError
        The bundle has no reasoning part, or does not classify the faces corpus's expressions.
    """
    from ..audit.settings import load_settings
    from ..model.bundle import load_bundle
    from .._io import scratch_folder
    from ..paths import cache_folder
    from ..schema.run_request import check_seed
    from . import _trial_cache
    from ._reasoning_trial import knob_file, prepare, run_trial

    check_seed(seed, high=MAX_MASTER_SEED)
    chosen = check_plan(plan or (REASONING_QUICK if quick else REASONING_FULL))
    settings = settings or load_settings()
    bundle = load_bundle(model)
    _check_bundle(bundle)
    # A plan killed midway leaves its workspace; the next plan removes it (the writer lock is gone).
    with scratch_folder(cache_folder(WORKSPACE) / "plan") as workspace:
        _say(progress, f"reasoning plan: {chosen.planted_trials} planted + {chosen.clean_trials} clean trials, "
                       f"{chosen.n_images} faces, {chosen.train.stage1_steps} + {chosen.train.stage2_steps} steps")
        context = prepare(bundle, settings, n_images=chosen.n_images, train=chosen.train, workspace=workspace,
                          progress=progress)
        trials, timings = [], []
        keyed = {"bundle_files": _trial_cache.bundle_digest(bundle.path), "base": bundle.reasoning.spec["base"],
                 "n_images": chosen.n_images, "knob": knob_file().read_bytes(), "settings": settings}
        schedule = [(i, planted) for i in range(max(chosen.planted_trials, chosen.clean_trials))
                    for planted in (True, False)
                    if i < (chosen.planted_trials if planted else chosen.clean_trials)]
        for count, (i, planted) in enumerate(schedule, start=1):
            trial_seed = seed * 1000 + i + 1
            key = _trial_cache.trial_key(recipe={**context.recipe.to_dict(), "seed": trial_seed}, planted=planted,
                                         **keyed)
            kept = _trial_cache.read_trial(key) if resume else None
            _say(progress, f"reasoning trial {count}/{len(schedule)}: {'planted' if planted else 'clean'}, "
                           f"seed {trial_seed}" + (" (finished by an earlier run: reused)" if kept else ""))
            if kept is not None:
                row, timing = kept[0], {**kept[1], "reused": True}
            else:
                row, timing = run_trial(context, planted=planted, seed=trial_seed, progress=progress)
                _trial_cache.write_trial(key, row, timing)
            trials.append(row)
            timings.append(timing)
    trials.sort(key=lambda t: (not t["planted"], t["seed"]))
    timings.sort(key=lambda t: (not t["planted"], t["seed"]))
    power, false_alarm = summarise(trials)
    options = settings["reasoning"]
    return {
        "mode": plan_mode(chosen),
        "seed": seed,
        "reasoning_power": power["rate"],
        "reasoning_false_alarm_rate": false_alarm["rate"],
        "reasoning": {
            "power": power,
            "false_alarm": false_alarm,
            "trials": trials,
            # The recipe as trained: the plan's, with the base LLM of the bundle's part and each trial's seed.
            "plan": {**chosen.to_dict(), "train": {**context.recipe.to_dict(), "seed": "the trial's seed"}},
            "bundle": bundle.name,
            "knob": {"file": "/".join(("configs",) + KNOB_CONFIG),
                     "annotator_bias": [b.to_dict() for b in context.instruct.annotator_bias],
                     "direction": {"attribute": context.direction.attribute, "value": context.direction.value,
                                   "label": context.direction.label, "negative": list(context.direction.negative),
                                   "words": list(context.direction.words)}},
            "settings": {"q_max": settings["q_max"], "min_group_size": settings["min_group_size"],
                         "n_boot": settings["n_boot"], "n_perm_paired": settings["n_perm_paired"],
                         "twins_per_attribute": settings["twins_per_attribute"],
                         "reference_groups": dict(context.references),
                         "min_effect": {k: settings["min_effect"][k] for k in
                                        ("stated_label_shift", "reasoning_shift", "mention_rate", "leakage")},
                         "reasoning": {k: options[k] for k in ("twins_per_attribute", "max_new_tokens", "attributes",
                                                               "expressions", "leakage")}},
            "definitions": DEFINITIONS,
            "timings": {"trials": timings,
                        "mean_trial_s": round(sum(t["total_s"] for t in timings) / len(timings), 1)},
        },
    }
