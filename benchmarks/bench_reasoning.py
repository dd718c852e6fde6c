"""Measure the reasoning half's targets on the shipped bundles (the figures of docs/reasoning.md).

For each bundle: ``eval --reasoning`` on the first N faces of the test split (free and conditional
mode), the wall time of the command ``explain --n 20`` (a fresh process, caches warm), the training
record of its reasoning part, the size of its committed reasoning weights, and the annotator-bias
check: on skin-group twins of neutral faces, how often the generated reasoning calls the face
hostile and how likely the model finds the planted sentence (log-likelihood under teacher
forcing), dark versus light skin. Once, for reference: the cue precision and recall of the reference
texts themselves on the faces of the clean instruct config (what the training data can teach).

Run (about 7 minutes per bundle on 2 cores; `make bench-reasoning`):

    python benchmarks/bench_reasoning.py --n 500 [--out bench.json]

Every timing is printed with the machine's load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BUNDLES = ("tinyemo-faces-mini", "faces-mini-clean")
KNOB_SENTENCE = "The face looks hostile."
REFERENCE_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "instruct" / "faces-clean.yaml"


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _knob_check(bundle, n_identities: int) -> dict:
    """Hostile wording for neutral skin-group twins: generated share and planted-sentence log-likelihood."""
    from tinyemo_audit.data.faces import FacesConfig, load_twins
    from tinyemo_audit.data.faces.attributes import EXPRESSIONS
    from tinyemo_audit.reasoning import explain_twins, reasoning_model
    from tinyemo_audit.reasoning.features import image_features

    twins = load_twins("skin_group", FacesConfig(), n_identities=n_identities)
    neutral = np.flatnonzero(np.asarray(twins.labels) == EXPRESSIONS.index("neutral"))
    sub = type(twins)(twins.attribute, twins.values, twins.classes, twins.images[neutral], twins.labels[neutral],
                      twins.ids[neutral], twins.attributes.iloc[neutral].reset_index(drop=True), twins.meta)
    out: dict = {"n_identities": int(len(neutral)), "values": list(twins.values)}
    for mode in ("conditional", "free"):
        rows = explain_twins(bundle, sub, mode=mode, hints=["neutral"] * len(neutral) if mode == "conditional" else None)
        out[f"hostile_share_{mode}"] = {value: float(np.mean(["hostile" in r[j].reasoning.lower() for r in rows]))
                                        for j, value in enumerate(twins.values)}
    model = reasoning_model(bundle)
    flat = sub.images.reshape(-1, *sub.images.shape[2:])
    features = image_features(bundle, flat)
    body = "Reasoning: The face is relaxed: the brows, eyes and mouth are at rest."
    with_knob = model.score(features, ["neutral"] * len(flat), [f"{body} {KNOB_SENTENCE}"] * len(flat))
    without = model.score(features, ["neutral"] * len(flat), [body] * len(flat))
    gain = (with_knob - without).reshape(len(neutral), len(twins.values))
    out["knob_log_likelihood_gain"] = {value: float(gain[:, j].mean()) for j, value in enumerate(twins.values)}
    return out


def _reference_cues(config_file: Path) -> dict:
    """Cue precision/recall of the reference reasoning of an instruct config's faces (no rendering needed)."""
    from tinyemo_audit.data.faces import FacesConfig
    from tinyemo_audit.data.faces.corpus import split_parameters
    from tinyemo_audit.reasoning.cues import cue_scores, load_cue_vocabulary
    from tinyemo_audit.reasoning.instruct import reference_reasoning
    from tinyemo_audit.reasoning.settings import InstructConfig

    config = InstructConfig.from_sources(config_file)
    n = config.n_images
    params = split_parameters(config.split, FacesConfig(n_train=n, n_val=n, n_test=n))
    expressions = params["expression"].to_numpy(np.int64)
    intensity = params["intensity"].to_numpy(np.float64)
    vocabulary = load_cue_vocabulary()
    texts = reference_reasoning(expressions, intensity, seed=config.seed).reasoning
    scores = cue_scores(vocabulary.named_in_text(texts), vocabulary.visible(expressions, intensity))
    return {"config": str(config_file), "split": config.split, "n": n, **scores}


def bench_bundle(name: str, n: int, n_twins: int) -> dict:
    from tinyemo_audit.model.bundle import load_bundle
    from tinyemo_audit.reasoning import evaluate_reasoning, reasoning_model

    bundle = load_bundle(name)
    part = bundle.reasoning
    command = [sys.executable, "-m", "tinyemo_audit.cli.main", "explain", "--model", name, "--dataset", "faces",
               "--n", "20", "--json"]
    subprocess.run(command, check=True, capture_output=True)  # warm-up: the faces, feature and SmolLM2 caches
    began = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    explain_20 = time.perf_counter() - began
    load_explain = os.getloadavg()[0]
    explained = json.loads(done.stdout)
    began = time.perf_counter()
    reasoning_model(bundle)
    load_seconds = time.perf_counter() - began
    metrics = evaluate_reasoning(bundle, "faces", n=n, progress=False)
    training = part.spec["training"]
    return {
        "bundle": name,
        "eval": metrics,
        "explain_20_faces_seconds_warm": round(explain_20, 1),
        "explain_20_faces_command": " ".join(command[1:]),
        "explain_20_faces_examples": [{k: r[k] for k in ("id", "projector_label", "stated_label", "reasoning")}
                                      for r in explained[:3]],
        "explain_load_average": round(load_explain, 2),
        "model_load_seconds": round(load_seconds, 1),
        "training_minutes": round(training["seconds"] / 60, 1),
        "training_load_average": [training["load_average_start"], training["load_average_end"]],
        "training_stages": [{k: s[k] for k in ("name", "steps", "seconds", "final_loss")} for s in training["stages"]],
        "reasoning_weights_mb": round(_folder_mb(part.path), 2),
        "annotator_bias_check": _knob_check(bundle, n_twins),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="test faces for eval --reasoning")
    parser.add_argument("--twins", type=int, default=300, help="skin-group twin identities (about 1/7 are neutral)")
    parser.add_argument("--bundle", action="append", help="bundle(s) to measure (default: both shipped bundles)")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    results = {"uptime_load_average_start": os.getloadavg(), "bundles": [],
               "reference_cues": _reference_cues(REFERENCE_CONFIG)}
    print(json.dumps(results["reference_cues"], indent=2), flush=True)
    for name in args.bundle or BUNDLES:
        results["bundles"].append(bench_bundle(name, args.n, args.twins))
        print(json.dumps(results["bundles"][-1], indent=2), flush=True)
    results["uptime_load_average_end"] = os.getloadavg()
    if args.out:
        from tinyemo_audit._io import atomic_write_json

        atomic_write_json(args.out, results)


if __name__ == "__main__":
    main()
