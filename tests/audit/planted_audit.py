"""Planted audit results for the findings tests: which probes see which effect is known by construction.

Dark skin pushes neutral faces toward angry (twins, the FPR of angry and the TPR of neutral);
a feminine presentation pushes neutral faces toward happy (twins); error clusters and
retrieval-skew records are added per test.
"""

import copy

CLASSES = ["angry", "happy", "neutral", "sad"]
A, H, N, S = range(4)


def twin_shift(attr_value, true_class, label, prob, *, reference="light", p=1e-8, n=60):
    return {"value": attr_value, "reference": reference, "true_class": true_class, "label": label,
            "mean_shift": prob, "ci_low": prob / 2, "ci_high": prob * 2, "p_value": p, "prob_shift": prob,
            "prob_reference": 0.01, "prob_value": 0.01 + prob, "n": n, "n_changed": 2, "n_to_label": 1,
            "n_from_label": 0, "flaggable": n >= 30, "test": "sign-flip, normal approximation"}


def _disparity(value, worst, best, p=1e-6):
    return {"value": value, "ci_low": value / 2, "ci_high": value * 1.5, "n": 900, "p_value": p,
            "worst_group": worst, "best_group": best, "flaggable": True,
            "by_group": {best: 0.01, worst: 0.01 + value}, "trials_by_group": {best: 300, worst: 300},
            "successes_by_group": {best: 3, worst: int(300 * (0.01 + value))}, "test": "chi-square"}


def _null_disparity():
    return _disparity(0.0, "dark", "light", p=0.9)


def _confusion(errors):
    """A 4×4 confusion matrix with 50 correct per class and the given {(true, predicted): n} errors."""
    m = [[50 if t == p else 0 for p in range(4)] for t in range(4)]
    for (t, p), n in errors.items():
        m[t][p] = n
    return m


def _cluster(cid, over, errors, size=100):
    """A cluster item plus its points: ``errors`` = [(true, predicted), ...] among ``size`` members."""
    wrong = len(errors)
    item = {"id": cid, "size": size, "error_rate": wrong / size, "error_ratio": (wrong / size) / 0.01,
            "p_value": 1e-6, "over_represented": over, "name": f"cluster {cid}", "flaggable": True,
            "test": "binomial, exact"}
    labels = [t for t, _ in errors] + ["happy"] * (size - wrong)
    predictions = [p for _, p in errors] + ["happy"] * (size - wrong)
    points = {"cluster": [cid] * size, "error": [1] * wrong + [0] * (size - wrong), "label": labels,
              "prediction": predictions, "item": list(range(cid * 1000, cid * 1000 + size))}
    return item, points


def skew_record(group, p=1e-9, skew=0.8):
    return {"max_skew": skew, "group": group, "ndkl": 0.3, "p_value": p, "top_k_shares": {group: 0.7},
            "test": "hypergeometric"}


def planted_results(clusters=(), skews=None):
    """Dark skin pushes neutral faces toward angry (twins + FPR + TPR), feminine pushes neutral toward happy."""
    rates = {c: _null_disparity() for c in CLASSES}
    skin = {"accuracy_difference": _null_disparity(), "tpr_difference": copy.deepcopy(rates),
            "fpr_difference": copy.deepcopy(rates), "selection_rate_difference": copy.deepcopy(rates)}
    skin["fpr_difference"]["angry"] = _disparity(0.08, "dark", "light")
    skin["tpr_difference"]["neutral"] = _disparity(0.09, "dark", "light")
    items, points = [], {"cluster": [], "error": [], "label": [], "prediction": [], "item": []}
    for cid, over, errors in clusters:
        item, pts = _cluster(cid, over, errors)
        items.append(item)
        for key in points:
            points[key] += pts[key]
    return {
        "performance": {"by_attribute": {"skin_group": {"groups": {
            "dark": {"confusion": _confusion({(N, A): 20, (S, N): 2})},
            "light": {"confusion": _confusion({(S, N): 2})}}}}},
        "disparities": {"skin_group": skin},
        "counterfactual": {
            "skin_group": {"shifts": [twin_shift("dark", "neutral", "angry", 0.12),
                                      twin_shift("dark", "neutral", "sad", 0.04),   # covered: same faces, smaller
                                      twin_shift("dark", "happy", "sad", 0.04)]},
            "gender": {"shifts": [twin_shift("feminine", "neutral", "happy", 0.11, reference="masculine")]},
        },
        "association": [],
        "skew": {"k": 100, "by_label": skews or {}},
        "clusters": {"items": items, "points": points},
    }
