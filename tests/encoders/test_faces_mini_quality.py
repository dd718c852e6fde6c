"""Slow: the default faces-mini training on the real faces corpus meets its quality bar."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_default_training_encodes_expression_and_attributes(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tinyemo_audit.data.faces import FacesConfig, load_faces
    from tinyemo_audit.encoders import FacesMiniEncoder, train_faces_mini

    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path))
    config = FacesConfig()
    train, val, test = (load_faces(split, config) for split in ("train", "val", "test"))
    encoder, log = train_faces_mini(train, val, progress=False)
    assert log["best_val_loss"] < log["initial_val_loss"] / 2
    encoder.save(tmp_path / "faces-mini.safetensors")
    encoder = FacesMiniEncoder.load(tmp_path / "faces-mini.safetensors")
    train_features = encoder.encode_images(train.images, progress=False)
    test_features = encoder.encode_images(test.images, progress=False)

    def probe(train_target, test_target) -> float:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return model.fit(train_features, train_target).score(test_features, test_target)

    assert probe(train.meta["true_labels"], test.labels) >= 0.93
    for attribute in ("skin_group", "gender", "age"):
        values = test.attributes[attribute].to_numpy()
        chance = np.unique(values, return_counts=True)[1].max() / len(values)
        assert probe(train.attributes[attribute].to_numpy(), values) >= chance + 0.3, attribute
