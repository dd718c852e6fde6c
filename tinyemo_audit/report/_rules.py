"""The audit's flagging rules as the report states and applies them: read from ``run.rules`` (schema 1.1).

Schema 1.0 results carry only ``run.q_max``, ``run.min_group_size`` and, in later 1.0 runs, ``run.min_effect``;
the report then says which rule was not recorded instead of guessing it. The report never decides what is a
finding: it only marks a table row as significant (q below the threshold) and says why such a row is not a
finding (the record's own ``not_flagged`` reason, a group below the minimum size, or an effect under the bar).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._format import DASH, as_number, qval
from ._html import Safe, esc, join, tag

# Probe family → the keys its minimum effect may be recorded under (first match wins), and what it measures.
BAR_KEYS: dict[str, tuple[str, ...]] = {
    "counterfactual": ("prob_shift", "counterfactual", "counterfactual twins", "counterfactual_twins"),
    "text_probe": ("text_shift", "text_probe", "text probes", "text_probes"),
    "disparity": ("disparity", "group disparity"),
    "association": ("effect_size", "association"),
    "skew": ("skew", "max_skew", "retrieval skew"),
    "flip_rate": ("flip_rate", "flip rate"),
    "cluster": ("cluster", "error_ratio", "error cluster"),
}


def _points(x: float) -> str:
    return f"{100 * x:g} points"


def _plain(x: float) -> str:
    return f"{x:g}"


def _cosine(x: float) -> str:
    return f"{x:g} cosine"


# key → (what the bar applies to, how its value reads). Schema 1.1 keys the bars by probe kind and states what
# each measures (run.rules.min_effect_measures), which then replaces these words; 1.0 keyed them by setting.
BAR_WORDS: dict[str, tuple[str, Callable[[float], str]]] = {
    "counterfactual": ("counterfactual twins: change of P(label) between twins", _points),
    "prob_shift": ("counterfactual twins: change of P(label) between twins", _points),
    "disparity": ("group disparities: gap between groups (accuracy, TPR, FPR, share predicted)", _points),
    "text_probe": ("text probes: cosine shift between prompts that differ in one group word", _cosine),
    "text_shift": ("text probes: cosine shift between prompts that differ in one group word", _cosine),
    "association": ("associations (iEAT): |effect size d|", lambda x: f"d = {x:g}"),
    "effect_size": ("associations (iEAT): |effect size d|", lambda x: f"d = {x:g}"),
    "skew": ("retrieval skew: MaxSkew@k", lambda x: f"{x:g}"),
    "flip_rate": ("counterfactual twins: share of pairs whose prediction changes", lambda x: f"{100 * x:g} %"),
    "cluster": ("error clusters: error rate ÷ overall error rate", lambda x: f"{x:g}×"),
    "error_ratio": ("error clusters: error rate ÷ overall error rate", lambda x: f"{x:g}×"),
}
NOT_RECORDED = "not recorded in this results.json (schema {version})"
SMALL_GROUP = "a group it compares has fewer than {n} items"
UNDER_BAR = "effect under the {bar} bar"


@dataclass(frozen=True)
class Rules:
    """What makes a result a finding, as recorded by the audit that wrote the results."""

    q_max: float = 0.05
    min_group_size: int = 0
    min_effect: Mapping[str, float] = field(default_factory=dict)
    flag_rule: str | None = None
    severity: str | None = None
    tests: Mapping[str, str] = field(default_factory=dict)
    measures: Mapping[str, str] = field(default_factory=dict)  # probe kind → what its bar measures
    probe_names: Mapping[str, str] = field(default_factory=dict)  # probe kind → human name
    version: str = "1.0"

    @classmethod
    def from_results(cls, results: Mapping[str, Any]) -> Rules:
        """The rules of ``results`` (``run.rules``, else the 1.0 fields of ``run``)."""
        run = results.get("run") if isinstance(results.get("run"), Mapping) else {}
        rules = run.get("rules") if isinstance(run.get("rules"), Mapping) else {}
        q = as_number(rules.get("q_max", run.get("q_max")))
        m = as_number(rules.get("min_group_size", run.get("min_group_size")))
        bars = rules.get("min_effect", run.get("min_effect"))
        bars = {str(k): float(v) for k, v in bars.items() if as_number(v) is not None} if isinstance(bars, Mapping) else {}
        return cls(q_max=q if q is not None else 0.05, min_group_size=int(m) if m is not None else 0,
                   min_effect=bars, flag_rule=_text(rules.get("flag_rule")), severity=_text(rules.get("severity")),
                   tests=_strings(rules.get("tests")), measures=_strings(rules.get("min_effect_measures")),
                   probe_names=_strings(rules.get("probes")), version=str(results.get("schema_version") or "1.0"))

    def bar_key(self, family: str) -> str | None:
        """The key under which ``family``'s minimum effect is recorded, or None."""
        return next((k for k in BAR_KEYS.get(family, (family,)) if k in self.min_effect), None)

    def bar(self, family: str) -> float | None:
        """The minimum effect of a probe family (e.g. ``"counterfactual"``), or None when not recorded."""
        key = self.bar_key(family)
        return self.min_effect[key] if key is not None else None

    def bar_text(self, family: str) -> str | None:
        """The minimum effect as read, e.g. ``"3 points"``."""
        key = self.bar_key(family)
        if key is None:
            return None
        return BAR_WORDS.get(key, ("", _plain))[1](self.min_effect[key])

    def bar_words(self, key: str) -> str:
        """What the bar under ``key`` applies to: the audit's own words (1.1), else the report's."""
        if key in self.measures:
            return f"{self.probe_names.get(key, key.replace('_', ' '))}: {self.measures[key]}"
        return BAR_WORDS.get(key, (key.replace("_", " "), _plain))[0]

    def over_bar(self, family: str, effect: Any) -> bool:
        """Whether ``|effect|`` reaches the family's bar (False when either is unknown)."""
        bar, value = self.bar(family), as_number(effect)
        return bar is not None and value is not None and abs(value) >= bar

    def significant(self, record: Any) -> bool:
        """Whether a tested record's q-value is below the threshold."""
        q = as_number(record.get("q_value")) if isinstance(record, Mapping) else None
        return q is not None and q < self.q_max

    def not_flagged(self, record: Mapping[str, Any], family: str | None = None, effect: Any = None) -> str | None:
        """Why a significant record is not a finding: its own reason, a small group, or an effect under the bar."""
        reason = _text(record.get("not_flagged"))
        if reason:
            return reason
        if record.get("flaggable") is False:
            return SMALL_GROUP.format(n=self.min_group_size)
        if family is not None and effect is not None and self.bar(family) is not None \
                and as_number(effect) is not None and not self.over_bar(family, effect):
            return UNDER_BAR.format(bar=self.bar_text(family))
        return None

    def q_cell(self, record: Any, family: str | None = None, effect: Any = None) -> Safe:
        """A q-value cell: significance as a ★ and a word for screen readers (never colour alone), and the reason
        when a significant row is not a finding."""
        if not isinstance(record, Mapping) or as_number(record.get("q_value")) is None:
            return Safe(DASH)
        text = esc(qval(record.get("q_value")))
        if not self.significant(record):
            return text
        why = self.not_flagged(record, family, effect)
        note = tag("span", f"not a finding: {why}", class_="not-flagged") if why else ""
        return Safe(f'<span class="sig">{text} <span class="sig-mark" aria-hidden="true">★</span>'
                    f'<span class="sr-only"> significant</span></span>{note}')

    def legend(self) -> str:
        """One sentence for table captions."""
        return f"★ q below {self.q_max:g} (significant after Benjamini–Hochberg)."


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)} if isinstance(value, Mapping) else {}


def rules_list(rules: Rules) -> Safe:
    """The rules as a definition list: flag rule, q threshold, group size, bars per probe, severity, tests."""
    missing = NOT_RECORDED.format(version=rules.version)
    bars = [tag("li", Safe(f"{esc(rules.bar_words(k))}: <b>{esc(BAR_WORDS.get(k, ('', _plain))[1](v))}</b>"))
            for k, v in rules.min_effect.items()]
    tests = [tag("li", Safe(f"{esc(rules.probe_names.get(k, k.replace('_', ' ')))}: {esc(v)}"))
             for k, v in rules.tests.items()]
    items = [
        ("What makes a finding", rules.flag_rule or
         f"q-value below {rules.q_max:g}, an effect at least the probe's minimum, and groups of at least "
         f"{rules.min_group_size} items (the exact rule is {missing})."),
        ("q threshold", Safe(f"q &lt; <b>{esc(f'{rules.q_max:g}')}</b> (Benjamini–Hochberg over every test of the "
                             f"audit)")),
        ("Minimum group size", Safe(f"<b>{esc(rules.min_group_size)}</b> items: smaller groups are shown in the "
                                    f"tables, never flagged")),
        ("Minimum effect per probe", Safe(f"<ul>{join(bars)}</ul>") if bars else missing),
        ("Severity", rules.severity or f"a 0–1 score that ranks findings; its formula is {missing}"),
    ]
    if tests:
        items.append(("Tests behind the p-values", Safe(f"<ul>{join(tests)}</ul>")))
    return Safe('<dl class="rules">' + join(Safe(f"{tag('dt', k)}{tag('dd', v)}") for k, v in items) + "</dl>")

