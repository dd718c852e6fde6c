"""A realistic synthetic results.json (schema 1.0) for the report tests, with hostile strings planted."""

from __future__ import annotations

import base64
import copy
import io

import numpy as np

HOSTILE = "<script>alert(1)</script>"
# Quotes and an ampersand too: they must survive as text in attributes, tables and plotly labels.
HOSTILE_CLASS = f'neutral {HOSTILE} "q" & \'s\''
HOSTILE_VALUE = 'dark <img src=x onerror=alert(2)> & "co"'
HOSTILE_MODEL = f"mini {HOSTILE} & <b>bold</b>"
HOSTILE_CLUSTER = f"<b>scowling</b> {HOSTILE} & \"dark\""
HOSTILE_TITLE = f'Darker skin pushes neutral faces toward "angry" {HOSTILE} & more'
HOSTILE_CAPTION = f"identity 17 {HOSTILE} & 'light'"

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", HOSTILE_CLASS]
ATTRIBUTES = {
    "skin_group": ["light", "medium", HOSTILE_VALUE],
    "gender": ["feminine", "masculine"],
    "age": ["child", "adult", "senior"],
}
REFERENCE = {"skin_group": "light", "gender": "masculine", "age": "adult"}
GROUP_N = {"light": 1170, "medium": 1160, HOSTILE_VALUE: 1170, "feminine": 1750, "masculine": 1750,
           "child": 24, "adult": 2300, "senior": 1176}


def _png(seed: int, size: int = 48) -> str:
    """A small deterministic face-like PNG as a data URI."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    tone = tuple(int(c) for c in rng.integers(90, 235, 3))
    img = Image.new("RGB", (size, size), (236, 240, 245))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 5, size - 8, size - 3), fill=tone)
    draw.ellipse((16, 18, 21, 23), fill=(30, 30, 30))
    draw.ellipse((size - 21, 18, size - 16, 23), fill=(30, 30, 30))
    draw.arc((16, 26, size - 16, 38), 200 if seed % 2 else 20, 340 if seed % 2 else 160, fill=(90, 20, 20), width=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _stat(rng, value, n, *, spread=0.02, test=False, flaggable=True, p=None):
    half = spread * (0.5 + rng.random())
    out = {"value": float(value), "ci_low": float(value - half), "ci_high": float(value + half), "n": int(n)}
    if test:
        p = float(p if p is not None else rng.uniform(0.0, 1.0))
        out.update(p_value=p, q_value=min(1.0, p * 3), flaggable=bool(flaggable))
    return out


def _confusion(rng, n, k, acc):
    per_row = np.full(k, n // k)
    diag = np.round(per_row * acc).astype(int)
    mat = np.zeros((k, k), dtype=int)
    for i in range(k):
        rest = rng.multinomial(per_row[i] - diag[i], np.ones(k - 1) / (k - 1))
        mat[i] = np.insert(rest, i, diag[i])
    return mat.tolist()


def make_results(*, seed: int = 0) -> dict:
    """Return a full results dict exercising every section of the report."""
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    n = 3500
    min_group = 30

    def groups_block(attr):
        block = {}
        for g in ATTRIBUTES[attr]:
            gn = GROUP_N[g]
            acc = 0.78 - (0.07 if g == HOSTILE_VALUE else 0) + rng.normal(0, 0.01)
            block[g] = {
                "n": gn,
                "accuracy": _stat(rng, acc, gn, spread=0.03 if gn > min_group else 0.15),
                "tpr": {c: _stat(rng, min(0.97, acc + rng.normal(0, 0.06)), gn // k, spread=0.05) for c in CLASSES},
                "fpr": {c: _stat(rng, abs(0.04 + rng.normal(0, 0.015)), gn - gn // k, spread=0.01) for c in CLASSES},
                "selection_rate": {c: _stat(rng, 1 / k + rng.normal(0, 0.02), gn, spread=0.01) for c in CLASSES},
                "confusion": _confusion(rng, gn, k, acc),
            }
        return {"groups": block}

    def diff_block(attr):
        values = ATTRIBUTES[attr]
        worst, best = values[-1], values[0]
        d = _stat(rng, 0.07 if attr == "skin_group" else 0.01, n, test=True,
                  p=1e-5 if attr == "skin_group" else 0.4)
        return {
            "accuracy_difference": {**d, "worst_group": worst, "best_group": best},
            "accuracy_ratio": {**_stat(rng, 0.91, n, test=True, p=d["p_value"]), "worst_group": worst,
                               "best_group": best},
            "equalized_odds_difference": {"value": 0.11 if attr == "skin_group" else 0.03, "cls": CLASSES[0]},
            "tpr_difference": {c: {**_stat(rng, abs(rng.normal(0.03, 0.03)), n, test=True), "worst_group": worst,
                                   "best_group": best} for c in CLASSES},
            "fpr_difference": {c: {**_stat(rng, abs(rng.normal(0.01, 0.01)), n, test=True), "worst_group": worst,
                                   "best_group": best} for c in CLASSES},
            "selection_rate_difference": {c: {**_stat(rng, abs(rng.normal(0.02, 0.01)), n, test=True),
                                              "worst_group": worst, "best_group": best} for c in CLASSES},
        }

    def twins_block(attr):
        values = ATTRIBUTES[attr]
        ref = REFERENCE[attr]
        pairs, transitions = {}, {}
        for i, a in enumerate(values):
            for b in values[i + 1:]:
                key = f"{a}|{b}"
                pairs[key] = _stat(rng, rng.uniform(0.03, 0.2), 420, test=True)
                transitions[key] = _confusion(rng, 420, k, 0.85)
        shifts = []
        for v in values:
            if v == ref:
                continue
            for t in CLASSES:
                for lab in CLASSES:
                    planted = attr == "skin_group" and t == HOSTILE_CLASS and lab == "angry" and v == HOSTILE_VALUE
                    m = 0.041 if planted else float(rng.normal(0, 0.006))
                    p = 1e-5 if planted else float(rng.uniform(0.01, 1))
                    shifts.append({"value": v, "true_class": t, "label": lab, "mean_shift": m,
                                   "ci_low": m - 0.008, "ci_high": m + 0.008, "p_value": p, "q_value": min(1, p * 20),
                                   "prob_shift": m * 3, "n": 60, "flaggable": True})
        return {
            "values": values, "reference": ref, "n_identities": 420,
            "flip_rate": _stat(rng, 0.12, 420 * 3, test=True, p=1e-4),
            "pairs": pairs, "transitions": transitions, "shifts": shifts,
            "kl": {v: _stat(rng, rng.uniform(0.001, 0.02), 420) for v in values if v != ref},
            "examples": {v: [f"id-{attr}-{j}" for j in range(3)] for v in values if v != ref},
        }

    n_points = 600
    centres = rng.normal(0, 4, size=(6, 2))
    cl = rng.integers(-1, 6, n_points)
    xy = centres[np.clip(cl, 0, 5)] + rng.normal(0, 0.8, size=(n_points, 2))
    cluster_names = ["beaming smiles", "wide-eyed shock", HOSTILE_CLUSTER, "tearful frowns", "flat calm",
                     "grimacing disgust"]
    points = {"x": xy[:, 0].round(3).tolist(), "y": xy[:, 1].round(3).tolist(), "cluster": cl.tolist(),
              "error": (rng.random(n_points) < np.where(cl == 2, 0.5, 0.15)).tolist(),
              "item": rng.choice(n, n_points, replace=False).tolist()}
    for attr, values in ATTRIBUTES.items():
        points[attr] = [values[i] for i in rng.integers(0, len(values), n_points)]

    findings = [
        {"id": "F1", "rank": 1, "kind": "counterfactual", "severity": 0.87,
         "title": HOSTILE_TITLE,
         "summary": "Changing only skin tone from light to dark raises the probability of angry for neutral faces "
                    "by 12 points.",
         "attribute": "skin_group", "groups": ["light", HOSTILE_VALUE], "direction": "toward angry",
         "evidence": {"statistic": "mean similarity shift", "value": 0.041, "ci_low": 0.033, "ci_high": 0.049,
                      "q_value": 2.1e-4, "n": 60},
         "examples": [{"id": "id-7", "caption": HOSTILE_CAPTION, "image": _png(1), "label": "light"},
                      {"id": "id-7", "caption": "identity 17, dark", "image": _png(2), "label": HOSTILE_VALUE},
                      {"id": "id-9", "caption": "not an image", "image": "javascript:alert(3)", "label": "x"},
                      {"id": "id-10", "caption": "remote image", "image": "https://evil.example/x.png",
                       "label": "x"}],
         "review": {"status": "unreviewed", "note": ""}},
        {"id": "F2", "rank": 2, "kind": "disparity", "severity": 0.71,
         "title": "Women's sad faces are read as fear more often",
         "summary": "The true-positive rate for sad is 9.1 points lower for feminine faces than for masculine faces.",
         "attribute": "gender", "groups": ["feminine", "masculine"], "direction": "sad → fear",
         "evidence": {"statistic": "TPR difference", "value": 0.091, "ci_low": 0.05, "ci_high": 0.13,
                      "q_value": 0.003, "n": 3500},
         "examples": [{"id": "id-3", "caption": "feminine, sad → fear", "image": _png(3), "label": "feminine"}],
         "review": {"status": "confirmed", "note": "matches the model card"}},
        {"id": "F3", "rank": 3, "kind": "cluster", "severity": 0.44,
         "title": f"Cluster “{HOSTILE_CLUSTER}” has twice the error rate",
         "summary": "A cluster of 81 images, mostly dark-skinned, is misclassified 50 % of the time.",
         "attribute": "skin_group", "groups": [HOSTILE_VALUE], "direction": None,
         "evidence": {"statistic": "error rate", "value": 0.5, "ci_low": 0.39, "ci_high": 0.61,
                      "q_value": 0.021, "n": 81},
         "examples": [], "review": {"status": "unreviewed", "note": ""}},
    ]

    return {
        "schema_version": "1.0",
        "run": {
            "tool_version": "0.1.0", "dataset": "faces", "split": "test", "model": HOSTILE_MODEL,
            "model_card": f"# Model card\n\nTrained with two **planted** annotation biases.\n\n{HOSTILE} & <i>x</i>\n",
            "classes": CLASSES, "protected_attributes": list(ATTRIBUTES),
            "reference_groups": REFERENCE, "seed": 0, "n": n, "n_boot": 1000, "n_perm": 1000, "q_max": 0.05,
            "min_group_size": min_group, "labelled": True,
            "skipped": [{"probe": "ray_scaling", "reason": f"not configured {HOSTILE}"}],
        },
        "verdict": {"status": "biased",
                    "headline": "Bias found: 3 findings. Skin tone changes how neutral faces are read.",
                    "n_findings": 3},
        "performance": {
            "overall": {"accuracy": _stat(rng, 0.762, n, spread=0.014),
                        "per_class": {c: _stat(rng, 0.7 + 0.03 * i, n // k) for i, c in enumerate(CLASSES)},
                        "confusion": _confusion(rng, n, k, 0.76)},
            "by_attribute": {a: groups_block(a) for a in ATTRIBUTES},
        },
        "disparities": {a: diff_block(a) for a in ATTRIBUTES},
        "counterfactual": {a: twins_block(a) for a in ("skin_group", "gender")},
        "text_probes": {
            "templates": ["a photo of a {emotion} {group}", "a {group} looking {emotion}"],
            "by_attribute": {"gender": {
                "terms": {"feminine": ["woman", "girl"], "masculine": ["man", "boy"]},
                "shifts": [{"value": "feminine", "reference": "masculine", "emotion": e, "label": lab,
                            "mean_shift": float(rng.normal(0, 0.01)), "ci_low": -0.01, "ci_high": 0.01,
                            "p_value": 0.2, "q_value": 0.6, "n": 24}
                           for e in ("*", "neutral") for lab in CLASSES]}},
        },
        "association": [
            {"attribute": "skin_group", "x_group": HOSTILE_VALUE, "y_group": "light", "a_set": "negative",
             "b_set": "positive", "a_labels": ["angry", "disgust", "fear", "sad"], "b_labels": ["happy"],
             "effect_size": 0.41, "statistic": 1.2, "p_value": 0.0004, "q_value": 0.004, "n_x": 200, "n_y": 200},
            {"attribute": "gender", "x_group": "feminine", "y_group": "masculine", "a_set": "negative",
             "b_set": "positive", "a_labels": ["angry", "sad"], "b_labels": ["happy"],
             "effect_size": -0.05, "statistic": -0.1, "p_value": 0.61, "q_value": 0.9, "n_x": 200, "n_y": 200},
        ],
        "skew": {"k": 100, "by_label": {c: {a: {
            "max_skew": float(rng.uniform(0, 0.4)), "group": ATTRIBUTES[a][-1], "ndkl": float(rng.uniform(0, 0.05)),
            "p_value": 0.01, "q_value": 0.04,
            "top_k_shares": {v: round(1 / len(ATTRIBUTES[a]), 3) for v in ATTRIBUTES[a]}} for a in ATTRIBUTES}
            for c in CLASSES}},
        "dataset_bias": {
            "representation": {a: {"counts": {v: GROUP_N[v] for v in ATTRIBUTES[a]},
                                   "ens": float(len(ATTRIBUTES[a]) - 0.01), "simpson": float(len(ATTRIBUTES[a]) - 0.02),
                                   "imbalance_ratio": 1.03} for a in ATTRIBUTES},
            "stereotype": {a: {"cramers_v": 0.01, "nmi": 0.0003, "theils_u": 0.0002} for a in ATTRIBUTES},
        },
        "clusters": {
            "method": "hdbscan", "params": {"min_cluster_size": 40},
            "points": points,
            "items": [{"id": i, "size": int((cl == i).sum()), "error_rate": 0.5 if i == 2 else 0.15,
                       "error_ratio": 2.1 if i == 2 else 0.9, "sliceline_score": 0.3 if i == 2 else 0.01,
                       "name": cluster_names[i], "top_tokens": [["furious", 0.61], ["glare", 0.55]],
                       "over_represented": [f"skin_group={HOSTILE_VALUE}"] if i == 2 else [],
                       "attribute_composition": {"skin_group": {HOSTILE_VALUE: 0.7, "light": 0.3}},
                       "flaggable": i != 5} for i in range(6)],
        },
        "findings": findings,
        "findings_count": len(findings),
        "gates": [
            {"name": "max accuracy gap", "path": "disparities.skin_group.accuracy_difference",
             "attribute": "skin_group", "status": "FAIL", "observed": 0.07, "bound": 0.05,
             "details": "ci_low 0.055 > 0.05"},
            {"name": f"flip rate {HOSTILE}", "path": "counterfactual.gender.flip_rate", "attribute": "gender",
             "status": "PASS", "observed": 0.12, "bound": 0.2, "details": "ok"},
        ],
        "methods": {"bias_framework": "Semi-automated: the tool proposes findings, a person confirms them.",
                    "metrics": {"flip_rate": "Share of twin pairs whose predicted label differs."}},
    }


def thumbnails() -> dict[str, str]:
    """Thumbnails for the counterfactual example ids of :func:`make_results`."""
    return {f"id-{a}-{j}": _png(10 + j) for a in ("skin_group", "gender") for j in range(3)}


def minimal_results() -> dict:
    """Only the run block and a verdict: every optional section missing."""
    full = make_results()
    return {"schema_version": "1.0", "run": copy.deepcopy(full["run"]) | {"skipped": [
        {"probe": "counterfactual", "reason": "the dataset has no twin sets"},
        {"probe": "clusters", "reason": "fewer than 50 items"}]},
        "verdict": {"status": "no-flag", "headline": "No bias flagged.", "n_findings": 0}, "findings": []}
