"""The paired before/after test of a retrieval-skew finding (audit._embedding_probes.skew_change_test)."""

import numpy as np
import pandas as pd

from tinyemo_audit.audit._embedding_probes import RetrievalScores, skew_change_test

CLASSES = ("angry", "happy")


def _scores(angry_of_dark: float, seed: int = 0) -> RetrievalScores:
    rng = np.random.default_rng(seed)
    skin = np.array(["dark", "light"] * 200)
    sims = rng.normal(size=(400, 2)) * 0.1
    sims[:, 0] += angry_of_dark * (skin == "dark")
    return RetrievalScores(sims, pd.DataFrame({"skin_group": skin}), CLASSES, 40)


def _finding(label="angry", group="dark", kind="skew"):
    return {"kind": kind, "attribute": "skin_group", "groups": [group], "outcome": {"target": label},
            "title": f"The faces most like \"{label}\" are over-represented by skin tone {group}"}


def test_counts_by_hand_and_a_planted_move():
    before, after = _scores(0.0), _scores(0.3)
    test = skew_change_test(before, after, n_perm=500, n_boot=500, seed=0)
    out = test(_finding())
    dark = before.attributes["skin_group"].to_numpy() == "dark"
    top_before = np.argsort(-before.similarities[:, 0], kind="stable")[:40]
    top_after = np.argsort(-after.similarities[:, 0], kind="stable")[:40]
    assert (out["before"], out["after"]) == (int(dark[top_before].sum()), int(dark[top_after].sum()))
    assert out["after"] == 40 and out["p_value"] < 0.01 and out["ci_low"] > 0
    assert "dark" in out["statistic"] and "angry" in out["statistic"]


def test_no_test_for_other_findings_or_different_items():
    before, after = _scores(0.0), _scores(0.3)
    test = skew_change_test(before, after, n_perm=100, n_boot=100, seed=0)
    assert test(_finding(kind="disparity")) is None
    assert test(_finding(label="fear")) is None and test(_finding(group="purple")) is None
    fewer = RetrievalScores(after.similarities[:300], after.attributes.iloc[:300], CLASSES, 40)
    assert skew_change_test(before, fewer, n_perm=100, n_boot=100, seed=0)(_finding()) is None
    assert skew_change_test(None, after, n_perm=100, n_boot=100, seed=0)(_finding()) is None
