"""Linear-probe accuracy of a bundle's encoder features on the faces test split (expression and attributes).

Usage: python benchmarks/probe_encoder.py [--model tinyemo-faces-mini]
A logistic regression (standardised features) is fitted on the train split's features and scored
on the test split, once for the true expression and once per protected attribute.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tinyemo_audit.data.faces import load_faces
    from tinyemo_audit.encoders import encode_dataset
    from tinyemo_audit.model.bundle import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tinyemo-faces-mini")
    args = parser.parse_args()
    encoder = load_bundle(args.model).encoder
    train, test = load_faces("train"), load_faces("test")
    x_train, x_test = (np.asarray(encode_dataset(encoder, d, progress=False)) for d in (train, test))

    def probe(train_target, test_target) -> float:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return model.fit(x_train, train_target).score(x_test, test_target)

    print(f"expression  {probe(train.meta['true_labels'], test.labels):.3f}")
    for attribute in ("skin_group", "gender", "age"):
        print(f"{attribute:<11} {probe(train.attributes[attribute], test.attributes[attribute]):.3f}")


if __name__ == "__main__":
    main()
