"""Hypothesis strategies for the schema layer's property tests: hostile settings, gate files, results, bundles.

Inputs are generated structurally: the real keys of each file type with values of the wrong type,
out-of-range and non-finite numbers, huge and control-character strings, nested junk, and YAML
aliases, so that the properties cover classes of inputs, not a list of examples.
"""

from __future__ import annotations

import json
import math

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

ERROR_PREFIX = "tinyemo-audit: error: "
LINE_LIMIT = 400  # one stderr line, prefix included
# Budgets: small in the default suite, large under `-m slow` (`make test-slow`).
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTROL = ["\x00", "\x07", "\x1b[31m", "\u202e", "\u2066", "\x85", "\t", "\n"]
text_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "hdbscan", "kmeans", "light", "masculine", "angry", "value", "ci_low", "*",
                     "{attribute}", "{emotion} {group}", "{group}", "a {emotion} {group}", "{x}", "{0}", "{",
                     "performance.overall.accuracy", "disparities.{attribute}.tpr_difference.*", "1.0", "nan"]),
    st.builds(lambda c, s: s + c + s, st.sampled_from(CONTROL), st.text(max_size=4)),
    st.integers(1000, 20_000).map(lambda n: "x" * n),  # huge strings: never echoed whole
)
number_values = st.one_of(
    st.integers(-10, 10),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 99, 100, 1000, 2**32 - 1, 2**32, 10**6, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, -0.0, 1e308, -1e-300, math.inf, -math.inf, math.nan]),
)
scalar_values = st.one_of(st.none(), st.booleans(), number_values, text_values)
junk_values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


def _maybe(strategy):
    return st.one_of(strategy, junk_values)


# ---------------------------------------------------------------- audit settings

term_lists = st.lists(_maybe(text_values), max_size=4)
settings_values = {
    "n_boot": _maybe(st.integers(-5, 200_000)), "n_perm": _maybe(st.integers(-5, 200_000)),
    "n_perm_paired": _maybe(st.integers(0, 200_000)), "q_max": _maybe(st.floats(-1, 2)),
    "min_group_size": _maybe(st.integers(-3, 100)), "twins_per_attribute": _maybe(st.integers(-3, 6000)),
    "skew_k": _maybe(st.integers(-3, 1000)),
    "min_effect": _maybe(st.dictionaries(st.sampled_from(["disparity", "prob_shift", "text_shift", "effect_size",
                                                          "skew", "flip_rate", "bogus"]),
                                         _maybe(st.floats(-1, 25)), max_size=4)),
    "discovery": _maybe(st.dictionaries(st.sampled_from(["method", "umap_cap", "mthod"]),
                                        _maybe(st.sampled_from(["hdbscan", "kmeans", "dbscan", 5000, 10, 10**9])),
                                        max_size=3)),
    "reference_groups": _maybe(st.dictionaries(st.sampled_from(["skin_group", "gender", "age", "race"]),
                                               st.one_of(st.none(), text_values), max_size=3)),
    "association_sets": _maybe(st.dictionaries(st.sampled_from(["negative", "positive", "calm"]),
                                               st.one_of(st.none(), term_lists), max_size=3)),
    "text_probes": _maybe(st.fixed_dictionaries({}, optional={
        "templates": _maybe(st.lists(text_values, max_size=3)),
        "neutral_templates": _maybe(st.lists(text_values, max_size=3)),
        "terms": _maybe(st.dictionaries(st.sampled_from(["gender", "age", "race"]),
                                        st.one_of(st.none(), st.dictionaries(text_values, term_lists, max_size=3)),
                                        max_size=2)),
    })),
    "bogus_key": junk_values,
}
settings_documents = st.one_of(
    st.fixed_dictionaries({}, optional=settings_values),
    junk_values,
)


# ---------------------------------------------------------------- gate files

gate_entries = st.one_of(
    st.fixed_dictionaries(
        {"name": _maybe(text_values), "metric": _maybe(text_values)},
        optional={"attributes": _maybe(st.lists(text_values, max_size=3)), "min": number_values,
                  "max": number_values, "on": _maybe(st.sampled_from(["value", "ci_low", "ci_high", "ci_mid"])),
                  "severity": _maybe(st.sampled_from(["fail", "warn", "error"])),
                  "when_missing": _maybe(st.sampled_from(["error", "skip", "ignore"])),
                  "description": _maybe(text_values), "skip_reason": _maybe(text_values), "mx": junk_values},
    ),
    junk_values,
)
gate_documents = st.one_of(
    st.fixed_dictionaries({}, optional={"version": _maybe(st.sampled_from([1, 2, True, "1"])),
                                        "description": _maybe(text_values),
                                        "when_missing": _maybe(st.sampled_from(["error", "skip"])),
                                        "gates": _maybe(st.lists(gate_entries, max_size=4)),
                                        "gate": junk_values}),
    junk_values,
)


# ---------------------------------------------------------------- YAML text

def yaml_text(document) -> str:
    """``document`` as YAML (non-finite floats and any Python data safe_dump can write)."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


# The 440-byte "billion laughs" of the issue: nine levels of nine aliases, 10^9 strings once expanded.
BILLION_LAUGHS = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)


@st.composite
def alias_bombs(draw) -> str:
    """A document of nested aliases: ``levels`` anchors, each repeating the previous one ``fanout`` times."""
    fanout, levels = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    lines = [f"a0: &a0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


yaml_fragments = st.lists(st.sampled_from(
    ["a", ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "&y ", "*y", "!!python/object:os.system ",
     "!!binary ", "!!set ", "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!omap ", "!!pairs ", "!!str ", "!!map ", "<<: ", "'", '"', "#", "|", ">", "? ", "1", "9" * 200, "1e999", ".nan", "~", "on", "yes",
     "2001-01-01", "0x1F", "1:20", "\t", "\x07", "\u202e", "\ufeff", "---\n", "...\n", "%YAML 1.1\n"]),
    max_size=40).map("".join)


# ---------------------------------------------------------------- results.json

def valid_results() -> dict:
    """A small results.json (schema 1.1) with every section a reader walks."""
    stat = {"value": 0.1, "ci_low": 0.05, "ci_high": 0.15, "n": 100, "p_value": 0.01, "q_value": 0.02,
            "flaggable": True, "worst_group": "dark", "best_group": "light"}
    doc = {
        "schema_version": "1.1",
        "run": {"tool_version": "0.1.0", "dataset": "faces", "split": "test", "model": "m", "model_card": "",
                "classes": ["angry", "happy"], "protected_attributes": ["skin_group"],
                "reference_groups": {"skin_group": "light"}, "seed": 0, "n": 200, "n_skipped_items": 0,
                "skipped_items": {}, "n_boot": 1000, "n_perm": 1000, "q_max": 0.05, "min_group_size": 30,
                "min_effect": {"disparity": 0.05}, "labelled": True, "skipped": [],
                "rules": {"q_max": 0.05, "min_group_size": 30, "min_effect": {"disparity": 0.05},
                          "flag_rule": "q and effect", "severity": "formula", "tests": {"twins": "sign flip"}}},
        "verdict": {"status": "biased", "headline": "1 potential bias found.", "n_findings": 1, "n_causes": 1,
                    "untested": [{"what": "twins", "why": "none"}], "next_steps": ["retrain"]},
        "findings": [{"id": "F1", "rank": 1, "kind": "disparity", "category": "decision", "cause_id": "C1",
                      "probe": "group disparities", "severity": 0.5, "title": "t", "summary": "s",
                      "attribute": "skin_group", "groups": ["light", "dark"], "direction": "toward angry",
                      "evidence": {"statistic": "d", "value": 0.1, "n": 10},
                      "examples": [{"id": "x1", "caption": "c", "image": "data:image/png;base64,AA==",
                                    "label": "dark", "true_label": "angry", "predicted_label": "happy"}],
                      "review": {"status": "unreviewed", "note": ""}}],
        "causes": [{"id": "C1", "rank": 1, "category": "decision", "title": "t", "finding_ids": ["F1"],
                    "gate": {"name": "g", "metric": "m", "file": "f"}}],
        "findings_count": 1,
        "gates": [{"gate": "g", "path": "findings_count", "attribute": None, "status": "PASS", "observed": 1.0,
                   "bound": "value <= 1", "details": "ok", "severity": "fail", "description": ""}],
        "performance": {"overall": {"accuracy": stat, "per_class": {"angry": stat}, "confusion": [[1, 0], [0, 1]]},
                        "by_attribute": {"skin_group": {"groups": {"dark": {"n": 100, "accuracy": stat,
                                                                            "tpr": {"angry": stat}}}}}},
        "disparities": {"skin_group": {"accuracy_difference": stat, "tpr_difference": {"angry": stat},
                                       "equalized_odds_difference": {"value": 0.1, "cls": "angry"}}},
        "counterfactual": {"skin_group": {"values": ["light", "dark"], "reference": "light", "n_identities": 10,
                                          "flip_rate": stat, "pairs": {"light|dark": stat},
                                          "transitions": {"light|dark": [[1, 0], [0, 1]]},
                                          "shifts": [{"value": "dark", "label": "angry", "mean_shift": 0.01}],
                                          "kl": {"dark": {"value": 0.1, "ci_low": None, "ci_high": None, "n": 1}}}},
        "text_probes": {"templates": ["a {emotion} {group}"], "by_attribute": {
            "skin_group": {"terms": {"light": ["pale"]}, "shifts": [{"value": "dark", "mean_shift": 0.1}]}}},
        "association": [{"attribute": "skin_group", "x_group": "dark", "y_group": "light", "a_labels": ["angry"],
                         "b_labels": ["happy"], "effect_size": 0.3, "p_value": 0.2}],
        "skew": {"k": 100, "by_label": {"angry": {"skin_group": {"max_skew": 0.2, "group": "dark",
                                                                 "top_k_shares": {"dark": 0.6}}}}},
        "dataset_bias": {"representation": {"skin_group": {"n": 200, "counts": {"dark": 100}}},
                         "stereotype": {"skin_group": {"cramers_v": 0.1}}},
        "clusters": {"method": "hdbscan", "params": {"n_rows": 200}, "points": {"x": [0.1], "y": [0.2],
                                                                               "error": None},
                     "items": [{"id": 0, "size": 50, "error_rate": 0.1, "name": "n", "over_represented": []}]},
        "methods": {"bias_framework": "ours"},
    }
    return json.loads(json.dumps(doc))  # no shared sub-objects: a test may change one place


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


RAW_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "[" * 3000 + "]" * 3000, '"\\ud800"',
              "[" * 70 + "]" * 70, "-0", "1e-400", '"' + "y" * 100_000 + '"']


def _mutated_text(draw, doc: dict, paths: list, mutations: int) -> str:
    """``doc`` as JSON text after ``mutations`` random edits at ``paths``: a value replaced by junk, a key
    dropped, or a raw token (NaN, huge numbers, ...) that JSON serialisation could not produce."""
    raw = {}
    for _ in range(mutations):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["junk", "drop", "raw"]))
            if action == "drop" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif action == "raw":
                token = f"@@RAW{len(raw)}@@"
                raw[token] = draw(st.sampled_from(RAW_TOKENS))
                parent[path[-1]] = token
            else:
                parent[path[-1]] = draw(junk_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    text = json.dumps(doc, allow_nan=True)
    for token, value in raw.items():
        text = text.replace(f'"{token}"', value)
    return text


@st.composite
def results_documents(draw) -> str:
    """results.json text: a valid document with a few values replaced by junk, keys dropped or raw tokens."""
    doc = valid_results()
    return _mutated_text(draw, doc, list(_paths(doc))[1:], draw(st.integers(0, 3)))


# ---------------------------------------------------------------- bundle.json

@st.composite
def bundle_documents(draw, valid: dict) -> str:
    """bundle.json text: ``valid`` with a few values replaced by junk, keys dropped or raw tokens."""
    import copy

    doc = copy.deepcopy(valid)
    return _mutated_text(draw, doc, [p for p in _paths(doc) if 1 <= len(p) <= 3], draw(st.integers(1, 3)))


def assert_one_line(message: str, *, limit: int = LINE_LIMIT - len(ERROR_PREFIX)) -> None:
    """An error message is one line of bounded length, with no control characters."""
    from tinyemo_audit.user_text import has_control

    assert "\n" not in message and "\r" not in message, message[:500]
    assert not has_control(message), message[:500]
    assert len(message) <= limit, (len(message), message[:500])


def assert_error_line(result) -> str:
    """A CLI result (CliRunner or subprocess): exit 2, stdout empty, exactly one bounded error line on stderr."""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    assert code == 2, (code, result.stdout[-500:], result.stderr[-2000:], getattr(result, "exception", None))
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(ERROR_PREFIX), lines[0][:300]
    assert len(lines[0]) <= LINE_LIMIT, (len(lines[0]), lines[0][:500])
    return lines[0][len(ERROR_PREFIX):]
