"""What each probe needs from the audited data, in one table, and the check the runner makes before each probe.

A probe that the data cannot support is not run: it is listed in ``run.skipped`` with the need
that was not met, and the results.json keys it would have filled are named. :data:`NEEDS` is the
single place where those needs live; docs/hostile-inputs.md (class 5) shows it as the table
:func:`needs_table` writes (a test keeps the two equal).

Counterfactual twins need counterfactual sets (the faces corpus renders them; any dataset can
be given a manifest, ``--counterfactuals``) and each class's probability, and the iEAT
associations need both label sets of ``association_sets`` among the candidate labels. A
predictions-only audit (``--predictions``) has no label space, so the text probes cannot run, and
has embeddings, per-class scores and probabilities only where its files give them. Bootstrap
CIs and permutation p-values need two rows (one row has nothing to resample or permute); the
row minimums include that. A protected attribute is one with at least :data:`MIN_GROUPS` groups
in the audited items (see ``runner._audit_attributes``). A probe that runs may still meet single
comparisons it cannot make; it leaves them out and names them through :class:`LeftOut`.

Examples
--------
>>> facts = AuditFacts(n=12, labelled=True, labels_present=1, n_classes=7, attributes=("gender",))
>>> unmet("stereotype", facts)
'needs at least 2 different true labels among the audited items; all 12 carry the same label'
>>> unmet("group_metrics", facts) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MIN_GROUPS = 2  # a comparison needs two groups
DISCOVERY_MIN_ROWS = 20  # UMAP's neighbour graph and the clustering need this many rows (discovery.MIN_ROWS)


@dataclass(frozen=True)
class ProbeNeeds:
    """What one probe needs before it can run, and what it would have written.

    Attributes
    ----------
    probe : str
        The probe's name as ``run.skipped[].probe`` shows it.
    metrics : tuple of str
        results.json paths it fills (left out, or null, when it is skipped).
    min_rows : int
        Audited items.
    labels : bool
        True labels for every item.
    min_labels_present : int
        Different true labels among the audited items.
    min_classes : int
        Candidate labels (the label space the classifier chooses from).
    attributes : bool
        At least one protected attribute (:data:`MIN_GROUPS` or more groups).
    min_group_rows : int
        Items a group (and the group it is compared with) must have to enter a comparison.
    min_distinct_embeddings : int
        Different projected embeddings.
    twins : bool
        Exact counterfactual twins (a dataset that renders them).
    label_sets : bool
        Both iEAT label sets (settings ``association_sets``) among the candidate labels.
    label_space : bool
        The model's label space (a bundle): prompts are embedded in it.
    embeddings : bool
        An embedding per item (a bundle's projection, or ``--embeddings``).
    class_scores : bool
        A score per item and class (a bundle's similarities, or the ``score_``/``prob_`` columns).
    probabilities : bool
        A probability per item and class (a bundle's softmax, or the ``prob_`` columns).
    reasoning : bool
        A bundle with a reasoning part (an MM-LLM that writes reasoning about an image).
    """

    probe: str
    metrics: tuple[str, ...]
    min_rows: int = 1
    labels: bool = False
    min_labels_present: int = 0
    min_classes: int = 1
    attributes: bool = False
    min_group_rows: int = 1
    min_distinct_embeddings: int = 0
    twins: bool = False
    label_sets: bool = False
    label_space: bool = False
    embeddings: bool = False
    class_scores: bool = False
    probabilities: bool = False
    reasoning: bool = False


NEEDS: dict[str, ProbeNeeds] = {
    "group_metrics": ProbeNeeds(
        "group metrics and disparities per protected attribute",
        ("performance.by_attribute", "disparities"), min_rows=2, attributes=True),
    "counterfactual": ProbeNeeds("counterfactual image twins", ("counterfactual",), twins=True, probabilities=True),
    "text_probes": ProbeNeeds(
        "counterfactual text probes (prompt pairs in the label space)", ("text_probes",), min_classes=2,
        label_space=True),
    "association": ProbeNeeds(
        "association (iEAT effect sizes between groups and label sets)", ("association",),
        min_rows=4, attributes=True, min_group_rows=2, label_sets=True, embeddings=True),
    "skew": ProbeNeeds("retrieval skew (MaxSkew@k, NDKL)", ("skew.by_label",), min_rows=2, attributes=True,
                       class_scores=True),
    "representation": ProbeNeeds(
        "dataset bias: representation of each attribute (ENS, imbalance)", ("dataset_bias.representation",),
        attributes=True),
    "stereotype": ProbeNeeds(
        "dataset bias: label–attribute association (Cramér's V, NMI, Theil's U)", ("dataset_bias.stereotype",),
        min_rows=2, labels=True, min_labels_present=2, attributes=True),
    "discovery": ProbeNeeds(
        "discovery (UMAP, clusters, names)", ("clusters",), min_rows=DISCOVERY_MIN_ROWS,
        min_distinct_embeddings=2, embeddings=True),
    "cluster_composition": ProbeNeeds(
        "discovery: over-represented groups per cluster",
        ("clusters.items.*.over_represented", "clusters.items.*.attribute_composition"),
        min_rows=DISCOVERY_MIN_ROWS, min_distinct_embeddings=2, attributes=True, embeddings=True),
    "reasoning": ProbeNeeds(
        "reasoning audit (what the MM-LLM writes about counterfactual twins)", ("reasoning",),
        attributes=True, twins=True, reasoning=True),
}
NO_ATTRIBUTE = ("the dataset has no protected attribute with at least {k} groups among the audited items "
                "(no attribute columns, or each has a single group), so no groups could be compared")
WHY = {
    "min_rows": "needs at least {need} audited items; {have} {were} audited",
    "labels": "needs true labels; the dataset has none",
    "min_labels_present": "needs at least {need} different true labels among the audited items; {all_have}",
    "min_classes": ("needs at least {need} candidate labels (similarities are compared across labels); "
                    "the label space has {have}"),
    "attributes": NO_ATTRIBUTE,
    "min_distinct_embeddings": ("needs at least {need} different projected embeddings; the audited items map "
                                "to {have} (identical or duplicate features)"),
    "twins": ("needs counterfactual sets (twins: the same face with one attribute changed): the faces corpus renders "
              "them, other data needs a manifest (--counterfactuals)"),
    "label_sets": "needs both label sets of association_sets ({sets}) among the candidate labels",
    "label_space": ("needs the model's label space (a TinyEmo bundle) to embed prompts; a predictions-only "
                    "audit has none"),
    "embeddings": "needs an embedding per item; a predictions-only audit has them only with --embeddings",
    "class_scores": ("needs a score per item and class to rank items by; a predictions file has them only "
                     "with prob_<class> (or score_<class>) columns"),
    "probabilities": ("needs each class's probability per item; a predictions file has them only with "
                      "prob_<class> columns"),
    "reasoning": ("needs a bundle with a reasoning part (an MM-LLM that explains its labels; add one with "
                  "`tinyemo-audit train-reasoning`), and rendered twin images to explain"),
}


@dataclass(frozen=True)
class AuditFacts:
    """What the runner knows about the audited data when it decides which probes can run.

    Attributes
    ----------
    n : int
        Audited items.
    labelled : bool
    labels_present : int
        Different true labels among them (0 when unlabelled).
    n_classes : int
        Candidate labels.
    attributes : tuple of str
        Protected attributes (each with at least :data:`MIN_GROUPS` groups).
    distinct_embeddings : int or None
        Different projected embeddings; None before classification.
    twins : bool
        Counterfactual sets are available (the dataset's own, or a manifest).
    label_sets : tuple of str
        The iEAT label-set names, when both have a label among the candidates; else empty.
    missing_label_sets : str
        How the label sets read in a reason (names and their labels).
    label_space, embeddings, class_scores, probabilities : bool
        What the model gives (a bundle gives all four; a predictions file what its columns hold).
    reasoning : bool
        The bundle has a reasoning part (and the twins are images it can explain).
    """

    n: int
    labelled: bool = False
    labels_present: int = 0
    n_classes: int = 0
    attributes: tuple[str, ...] = ()
    distinct_embeddings: int | None = None
    twins: bool = False
    label_sets: tuple[str, ...] = ()
    missing_label_sets: str = ""
    label_space: bool = True
    embeddings: bool = True
    class_scores: bool = True
    probabilities: bool = True
    reasoning: bool = False


def _reasons(needs: ProbeNeeds, facts: AuditFacts) -> list[str]:
    out = []
    if needs.twins and not facts.twins:
        out.append(WHY["twins"])
    for need in ("label_space", "embeddings", "class_scores", "probabilities", "reasoning"):
        if getattr(needs, need) and not getattr(facts, need):
            out.append(WHY[need])
    if needs.labels and not facts.labelled:
        out.append(WHY["labels"])
    if needs.attributes and not facts.attributes:
        out.append(WHY["attributes"].format(k=MIN_GROUPS))
    if facts.n < needs.min_rows:
        out.append(WHY["min_rows"].format(need=needs.min_rows, have=facts.n, were="was" if facts.n == 1 else "were"))
    if facts.labelled and facts.labels_present < needs.min_labels_present:
        all_have = (f"all {facts.n} carry the same label" if facts.labels_present == 1
                    else f"{facts.labels_present} found")
        out.append(WHY["min_labels_present"].format(need=needs.min_labels_present, all_have=all_have))
    if facts.n_classes < needs.min_classes:
        out.append(WHY["min_classes"].format(need=needs.min_classes, have=facts.n_classes))
    if needs.label_sets and len(facts.label_sets) < 2:
        out.append(WHY["label_sets"].format(sets=facts.missing_label_sets or "none configured"))
    if facts.distinct_embeddings is not None and facts.distinct_embeddings < needs.min_distinct_embeddings:
        out.append(WHY["min_distinct_embeddings"].format(need=needs.min_distinct_embeddings,
                                                         have=facts.distinct_embeddings))
    return out


def unmet(probe: str, facts: AuditFacts) -> str | None:
    """Why ``probe`` (a key of :data:`NEEDS`) cannot run on data with ``facts``; None when it can."""
    reasons = _reasons(NEEDS[probe], facts)
    return "; ".join(reasons) if reasons else None


def skip_entry(probe: str, reason: str, metrics: Sequence[str] | None = None) -> dict[str, Any]:
    """A ``run.skipped`` record for ``probe`` (a key of :data:`NEEDS`)."""
    needs = NEEDS[probe]
    return {"probe": needs.probe, "reason": reason, "metrics": list(needs.metrics if metrics is None else metrics)}


@dataclass
class ProbePlan:
    """The runner's check before each probe: run it, or record in ``skipped`` why not.

    Examples
    --------
    >>> plan = ProbePlan(AuditFacts(n=3, n_classes=7, attributes=("gender",)))
    >>> plan.runs("skew"), plan.runs("discovery")
    (True, False)
    >>> plan.skipped[0]["probe"], plan.skipped[0]["reason"]
    ('discovery (UMAP, clusters, names)', 'needs at least 20 audited items; 3 were audited')
    """

    facts: AuditFacts
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def runs(self, probe: str) -> bool:
        """Whether ``probe`` can run; if not, its ``run.skipped`` entry is added (once)."""
        reason = unmet(probe, self.facts)
        if reason is None:
            return True
        if not any(s["probe"] == NEEDS[probe].probe for s in self.skipped):
            self.skipped.append(skip_entry(probe, reason))
        return False

    def left_out(self, probe: str) -> LeftOut:
        """A collector for the comparisons ``probe`` runs but cannot make (listed in ``skipped``)."""
        return LeftOut(NEEDS[probe], self.skipped)

    def learn(self, **facts: Any) -> None:
        """Add what becomes known later (e.g. ``distinct_embeddings`` after classification)."""
        from dataclasses import replace

        self.facts = replace(self.facts, **facts)


def label_sets_present(settings: dict, classes: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """The iEAT label-set names that have a candidate label each, and how the sets read in a reason."""
    sets = list((settings.get("association_sets") or {}).items())[:2]
    present = tuple(name for name, labels in sets if any(label in classes for label in labels))
    described = "; ".join(f"{name}: {', '.join(map(str, labels))}" for name, labels in sets)
    return (present if len(present) == 2 else ()), described


MAX_NAMED = 10  # comparisons named in one reason; the rest are counted


@dataclass
class LeftOut:
    """Comparisons a running probe could not make, one ``run.skipped`` entry per reason.

    A probe that runs may still meet a comparison the data cannot support (a group of one item, a
    statistic that is undefined because the embeddings do not vary). Such a comparison is left out
    of the probe's results, never written with a NaN or a null main statistic, and named here.

    Examples
    --------
    >>> skipped = []
    >>> out = LeftOut(NEEDS["association"], skipped)
    >>> out.add("a group has fewer than 2 items", "gender: x (1) vs y (9)")
    >>> skipped[0]["probe"], skipped[0]["reason"]
    ('association (iEAT effect sizes between groups and label sets): some comparisons', \
'a group has fewer than 2 items; left out: gender: x (1) vs y (9)')
    """

    needs: ProbeNeeds
    skipped: list[dict[str, Any]]
    _named: dict[str, list[str]] = field(default_factory=dict)
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, reason: str, what: str) -> None:
        """Record that comparison ``what`` was left out because of ``reason``."""
        named = self._named.setdefault(reason, [])
        named.append(what)
        if reason not in self._entries:
            self._entries[reason] = {"probe": f"{self.needs.probe}: some comparisons", "reason": "",
                                     "metrics": list(self.needs.metrics)}
            self.skipped.append(self._entries[reason])
        shown = ", ".join(named[:MAX_NAMED]) + (f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else "")
        self._entries[reason]["reason"] = f"{reason}; left out: {shown}"


def needs_table() -> str:
    """:data:`NEEDS` as a markdown table (the one in docs/hostile-inputs.md)."""
    def flag(value: bool) -> str:
        return "yes" if value else "–"

    def count(value: int, floor: int = 1) -> str:
        return str(value) if value > floor else "–"

    lines = ["| probe | `run.skipped` name | items | labels | labels present | candidate labels | protected "
             "attribute | items per compared group | distinct embeddings | other |",
             "|---|---|---:|---|---:|---:|---|---:|---:|---|"]
    for key, n in NEEDS.items():
        other = "; ".join(x for x, on in (("counterfactual sets", n.twins),
                                          ("both association label sets", n.label_sets),
                                          ("a label space (bundle)", n.label_space), ("embeddings", n.embeddings),
                                          ("per-class scores", n.class_scores),
                                          ("per-class probabilities", n.probabilities),
                                          ("a reasoning part (bundle)", n.reasoning)) if on) or "–"
        lines.append(f"| `{key}` | {n.probe} | {count(n.min_rows)} | {flag(n.labels)} | "
                     f"{count(n.min_labels_present, 0)} | {count(n.min_classes)} | {flag(n.attributes)} | "
                     f"{count(n.min_group_rows)} | {count(n.min_distinct_embeddings, 0)} | {other} |")
    return "\n".join(lines)
