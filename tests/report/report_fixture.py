"""A realistic synthetic results.json for the report tests (schema 1.1, every field; a 1.0 variant), hostile strings planted."""

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


THUMB_SIZE = 64  # native thumbnail size: the report shows it at an integer scale


def _png(seed: int, size: int = THUMB_SIZE) -> str:
    """A small deterministic face-like PNG as a data URI."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    tone = tuple(int(c) for c in rng.integers(90, 235, 3))
    img = Image.new("RGB", (size, size), (236, 240, 245))
    draw = ImageDraw.Draw(img)
    u = size / 48
    draw.ellipse((8 * u, 5 * u, size - 8 * u, size - 3 * u), fill=tone)
    draw.ellipse((16 * u, 18 * u, 21 * u, 23 * u), fill=(30, 30, 30))
    draw.ellipse((size - 21 * u, 18 * u, size - 16 * u, 23 * u), fill=(30, 30, 30))
    draw.arc((16 * u, 26 * u, size - 16 * u, 38 * u), 200 if seed % 2 else 20, 340 if seed % 2 else 160,
             fill=(90, 20, 20), width=2)
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


# Generated text is model output: markup, controls and one unbroken 90-character word (phone width).
HOSTILE_REASONING = ("Reasoning: <img src=x onerror=alert(7)> \x1b[31m\u202e " + "w" * 90
                     + " Predicted Label: angry")


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
            for t in ["*", *CLASSES]:  # "*": pooled over true classes
                for lab in CLASSES:
                    planted = attr == "skin_group" and t == HOSTILE_CLASS and lab == "angry" and v == HOSTILE_VALUE
                    m = 0.041 if planted else float(rng.normal(0, 0.006))
                    p = 1e-5 if planted else float(rng.uniform(0.01, 1))
                    row = {"value": v, "reference": ref, "true_class": t, "label": lab, "mean_shift": m,
                           "ci_low": m - 0.008, "ci_high": m + 0.008, "p_value": p, "q_value": min(1, p * 20),
                           "prob_shift": m * (3 if planted else 1.5), "n": 60, "flaggable": True}
                    if attr == "skin_group" and v == HOSTILE_VALUE and t == "*" and lab == "sad":
                        # significant, but moves the probability by almost nothing: not a finding, and says why
                        row.update(mean_shift=0.0004, prob_shift=0.0004, p_value=1e-4, q_value=0.002,
                                   not_flagged="effect below the 3-point bar")
                    if attr == "skin_group" and v == HOSTILE_VALUE and t == "*" and lab == "fear":
                        row.update(mean_shift=0.001, prob_shift=0.002, p_value=2e-4, q_value=0.004)  # no reason given
                    shifts.append(row)
        return {
            "values": values, "reference": ref, "n_identities": 420,
            "flip_rate": _stat(rng, 0.12, 420 * 3),  # pooled: no test of its own (as the audit writes it)
            "pairs": pairs, "transitions": transitions, "shifts": shifts,
            # as the audit writes it: a mean KL without an interval
            "kl": {v: {"value": float(rng.uniform(0.001, 0.02)), "ci_low": None, "ci_high": None, "n": 420}
                   for v in values if v != ref},
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

    def twin_examples(attr, ref, changed, target, probabilities, seed):
        """Twin pairs ranked by shift (pair 0 largest), each side with P(target) on it."""
        out = []
        for pair, (p_ref, p_changed) in enumerate(probabilities):
            for side, value, prob in (("reference", ref, p_ref), ("changed", changed, p_changed)):
                predicted = target if prob > 0.5 else HOSTILE_CLASS
                out.append({"id": f"twin-{attr}-{pair}:{side}", "label": value, "side": side, "pair": pair,
                            "target": target, "probability": prob, "shift": round(p_changed - p_ref, 4),
                            "true_label": HOSTILE_CLASS, "predicted_label": predicted,
                            "caption": f"{value}: predicted {predicted}", "image": _png(seed + 2 * pair + (side == "changed"))})
            if pair == 0:  # the MM-LLM's generated text under a face (model output: hostile on purpose)
                out[-2]["reasoning"] = HOSTILE_REASONING
                out[-1]["reasoning"] = f"Reasoning: lowered, knitted brows and pressed lips. Predicted Label: {predicted}"
        return out

    cluster_examples = [{"id": f"item-{i}", "label": HOSTILE_CLASS, "true_label": HOSTILE_CLASS,
                         "predicted_label": "angry", "caption": f"true {HOSTILE_CLASS}, predicted angry",
                         "image": _png(40 + i), "reasoning": "Reasoning: I can see lowered and knitted brows, "
                         "a raised upper lip and lips pressed together. This pattern matches anger. "
                         "Predicted Label: angry"} for i in range(4)]
    findings = [
        {"id": "F1", "rank": 1, "kind": "counterfactual", "category": "decision", "cause_id": "C1",
         "probe": "counterfactual twins", "severity": 0.87,
         "title": HOSTILE_TITLE,
         "summary": "Changing only skin tone from light to dark raises the probability of angry for neutral faces "
                    "by 12 points.",
         "attribute": "skin_group", "groups": ["light", HOSTILE_VALUE], "direction": "toward angry",
         "evidence": {"statistic": "mean similarity shift (twin pairs)", "value": 0.041, "ci_low": 0.033,
                      "ci_high": 0.049, "q_value": 2.1e-4, "n": 16, "prob_shift": 0.118},
         "examples": [*twin_examples("skin_group", "light", HOSTILE_VALUE, "angry",
                                     [(0.12, 0.61), (0.08, 0.31), (0.15, 0.29)], seed=1),
                      {"id": "id-9", "caption": "not an image", "image": "javascript:alert(3)", "label": "x"},
                      {"id": "id-10", "caption": "remote image", "image": "https://evil.example/x.png",
                       "label": "x"}],
         "review": {"status": "unreviewed", "note": ""}},
        {"id": "F2", "rank": 2, "kind": "disparity", "category": "decision", "cause_id": "C2",
         "probe": "group disparity", "severity": 0.71,
         "title": "Women's sad faces are read as fear more often",
         "summary": "The true-positive rate for sad is 9.1 points lower for feminine faces than for masculine faces.",
         "attribute": "gender", "groups": ["feminine", "masculine"], "direction": "sad → fear",
         "evidence": {"statistic": "TPR difference", "value": 0.091, "ci_low": 0.05, "ci_high": 0.13,
                      "q_value": 0.003, "n": 3500},
         "examples": [{"id": "id-3", "caption": HOSTILE_CAPTION, "image": _png(3), "label": "feminine",
                       "true_label": "sad", "predicted_label": "fear"}],
         "review": {"status": "confirmed", "note": "matches the model card"}},
        {"id": "F3", "rank": 3, "kind": "cluster", "category": "decision", "cause_id": "C1",
         "probe": "error cluster", "severity": 0.44,
         "title": f"Cluster “{HOSTILE_CLUSTER}” has twice the error rate",
         "summary": "A cluster of 171 images, mostly dark-skinned, is misclassified 5.3 % of the time.",
         "attribute": "skin_group", "groups": [f"skin_group={HOSTILE_VALUE}", "gender=masculine"],
         "direction": "higher error",
         "evidence": {"statistic": "cluster error rate", "value": 9 / 171, "ci_low": None, "ci_high": None,
                      "q_value": 0.021, "n": 171, "n_misclassified": 9},
         "examples": cluster_examples, "review": {"status": "unreviewed", "note": ""}},
        {"id": "F4", "rank": 4, "kind": "association", "category": "metric_space", "cause_id": "C1",
         "probe": "image association (iEAT)", "severity": 0.4,
         "title": "Dark-skinned faces sit closer to negative emotion words",
         "summary": "iEAT effect size 0.41 between dark and light faces for negative vs positive labels.",
         "attribute": "skin_group", "groups": [HOSTILE_VALUE, "light"], "direction": "toward negative",
         "evidence": {"statistic": "effect size", "value": 0.41, "ci_low": None, "ci_high": None, "q_value": 0.004,
                      "n": 400},
         "examples": [], "review": {"status": "unreviewed", "note": ""}},
        {"id": "F5", "rank": 5, "kind": "skew", "category": "metric_space", "cause_id": "C3",
         "probe": "retrieval skew", "severity": 0.36,
         "title": "The faces most like \"happy\" over-represent older faces",
         "summary": "Among the 100 faces nearest to happy, older faces are 1.5× their share.",
         "attribute": "age", "groups": ["senior"], "direction": "over-represented near happy",
         "evidence": {"statistic": "MaxSkew@100", "value": 0.42, "ci_low": None, "ci_high": None,
                      "q_value": 0.002, "n": 100},
         "examples": [], "review": {"status": "unreviewed", "note": ""}},
        {"id": "F6", "rank": 6, "kind": "text_probe", "category": "metric_space", "cause_id": "C4",
         "probe": "text probes (label-word geometry)", "severity": 0.33,
         "title": "In the label space, \"child\" terms sit closer to \"disgust\" than \"adult\" terms",
         "summary": "Swapping only the age term in a prompt moves it toward disgust by +0.046 cosine.",
         "attribute": "age", "groups": ["adult", "child"], "direction": "toward disgust",
         "evidence": {"statistic": "mean similarity shift (prompt pairs)", "value": 0.046, "ci_low": 0.025,
                      "ci_high": 0.068, "q_value": 0.0074, "n": 16},
         "examples": [], "review": {"status": "unreviewed", "note": ""}},
    ]
    gate = {"name": "neutral→angry twin shift, skin tone", "metric": "counterfactual.skin_group.shifts",
            "file": "configs/gates/strict.yaml"}
    causes = [
        {"id": "C1", "rank": 1, "category": "decision", "title": HOSTILE_TITLE,
         "summary": "Skin tone alone moves neutral faces toward angry: seen by the twins, an error cluster and the "
                    "image association test.",
         "attribute": "skin_group", "groups": ["light", HOSTILE_VALUE], "direction": "toward angry",
         "severity": 0.87, "finding_ids": ["F1", "F3", "F4"],
         "probes": ["counterfactual twins", "error cluster", "image association (iEAT)"],
         "outcome": {"text": "2 of 59 twin pairs change prediction; P(angry) +11.8 points", "n_pairs": 59,
                     "n_changed": 2, "prob_shift": 0.118},
         "next_steps": ["Relabel the neutral faces with dark skin that the training labels call angry.",
                        f"Retrain the projector (`tinyemo-audit train`), then re-audit {HOSTILE}."],
         "gate": gate},
        {"id": "C2", "rank": 2, "category": "decision", "title": "Women's sad faces are read as fear more often",
         "summary": "The TPR for sad is lower for feminine faces.", "attribute": "gender",
         "groups": ["feminine", "masculine"], "direction": "sad → fear", "severity": 0.71, "finding_ids": ["F2"],
         "probes": ["group disparity"], "outcome": {"text": "9 more of every 100 sad feminine faces are missed"},
         "next_steps": ["Rebalance sad feminine faces in the training data."], "gate": None},
        {"id": "C3", "rank": 3, "category": "metric_space", "title": "Older faces crowd the images nearest to happy",
         "summary": "Retrieval by emotion over-represents one age group.", "attribute": "age", "groups": ["senior"],
         "direction": "over-represented near happy", "severity": 0.36, "finding_ids": ["F5"],
         "probes": ["retrieval skew"], "outcome": {"text": "older faces are 50 % of the top 100 for happy (33 % overall)"},
         "next_steps": ["Check whether retrieval by emotion is used downstream."], "gate": None},
        {"id": "C4", "rank": 4, "category": "metric_space", "title": "The label words tie children to disgust",
         "summary": "A property of the language model's embedding table, before any image is seen.",
         "attribute": "age", "groups": ["adult", "child"], "direction": "toward disgust", "severity": 0.33,
         "finding_ids": ["F6"], "probes": ["text probes (label-word geometry)"],
         "outcome": {"text": "+0.046 cosine toward disgust in 7 of 8 prompt contexts"},
         "next_steps": ["Try another label prompt template and re-audit."], "gate": None},
    ]
    # As the findings stream writes run.rules: bars keyed by probe kind, with what each measures.
    rules = {"q_max": 0.05, "min_group_size": min_group,
             "min_effect": {"counterfactual": 0.03, "disparity": 0.05, "cluster": 1.5, "association": 0.5,
                            "skew": 0.4, "text_probe": 0.02},
             "min_effect_measures": {"counterfactual": "mean rise of P(label) over twin pairs",
                                     "disparity": "largest difference of the rate between groups",
                                     "cluster": "cluster error rate ÷ overall error rate",
                                     "association": "|iEAT effect size d|", "skew": "MaxSkew@k",
                                     "text_probe": "mean cosine shift toward the label"},
             "probes": {"counterfactual": "counterfactual twins", "disparity": "group disparities",
                        "cluster": "error clusters", "association": "embedding association (iEAT)",
                        "skew": "retrieval skew", "text_probe": "text probes (label-word geometry)"},
             "flag_rule": "A result becomes a finding when its q-value is below 0.05, its effect passes the "
                          "probe's minimum effect, and every group it compares has at least 30 items.",
             "severity": "0.5 × effect relative to its bar (capped at 1) + 0.5 × −log10(q) / 10 (capped at 1)",
             "tests": {"disparity": "permutation test (10,000 permutations)",
                       "counterfactual": "paired sign-flip permutation test", "skew": "exact binomial test"}}

    return {
        "schema_version": "1.1",
        "run": {
            "tool_version": "0.1.0", "dataset": "faces", "split": "test", "model": HOSTILE_MODEL,
            "model_card": f"# Model card\n\nTrained with two **planted** annotation biases.\n\n{HOSTILE} & <i>x</i>\n",
            "classes": CLASSES, "protected_attributes": list(ATTRIBUTES),
            "reference_groups": REFERENCE, "seed": 0, "n": n, "n_boot": 1000, "n_perm": 1000, "q_max": 0.05,
            "min_group_size": min_group, "labelled": True, "rules": rules,
            "skipped": [{"probe": "ray_scaling", "reason": f"not configured {HOSTILE}"}],
        },
        "verdict": {"status": "biased",
                    "headline": "Bias found: 2 decision biases. Skin tone changes how neutral faces are read.",
                    "n_findings": len(findings), "n_causes": len(causes), "n_decision_causes": 2,
                    "n_metric_space_causes": 2,
                    "untested": [{"what": "age: counterfactual twins", "why": f"no twin sets for age {HOSTILE}"}],
                    "next_steps": ["Relabel the affected cell (neutral faces with dark skin) and retrain.",
                                   "Add the strict gate to CI: configs/gates/strict.yaml."]},
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
                                   "ens": float(len(ATTRIBUTES[a]) - 0.01),
                                   "simpson_reciprocal": float(len(ATTRIBUTES[a]) - 0.02),
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
        "causes": causes,
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


# Fields that schema 1.1 added; legacy_results() strips them.
NEW_FINDING_KEYS = ("category", "cause_id", "probe")
NEW_EXAMPLE_KEYS = ("true_label", "predicted_label", "probability", "target", "side", "pair", "shift")
NEW_VERDICT_KEYS = ("n_causes", "n_decision_causes", "n_metric_space_causes", "untested", "next_steps")


def legacy_results() -> dict:
    """:func:`make_results` as schema 1.0 wrote it: no causes, rules, categories or example labels."""
    results = copy.deepcopy(make_results())
    results["schema_version"] = "1.0"
    del results["causes"]
    results["run"].pop("rules")
    # 1.0 recorded the bars here, keyed by setting
    results["run"]["min_effect"] = {"disparity": 0.05, "prob_shift": 0.03, "text_shift": 0.02, "effect_size": 0.5,
                                    "skew": 0.4, "flip_rate": 0.05}
    for key in NEW_VERDICT_KEYS:
        del results["verdict"][key]
    results["verdict"]["headline"] = "Bias found: 6 findings. Skin tone changes how neutral faces are read."
    for finding in results["findings"]:
        for key in NEW_FINDING_KEYS:
            del finding[key]
        finding["evidence"].pop("n_misclassified", None)
        for example in finding["examples"]:
            for key in NEW_EXAMPLE_KEYS:
                example.pop(key, None)
    return results
