"""Zero-shot evaluation: a jointly trained bundle on held-out datasets, each over its own taxonomy.

The fixture is learnable by construction: an item's feature is a fixed random linear image of its
class word's SmolLM2 label embedding, plus noise. A projector that learns to undo the map on the
training words generalises to words it never saw, which is exactly TinyEmo's zero-shot claim, so
held-out taxonomies must score well above chance (and a broken zero-shot path would not).
"""

import numpy as np
import pytest
import torch

from tinyemo_audit.errors import UsageError
from tinyemo_audit.model.bundle import load_bundle
from tinyemo_audit.model.config import TrainConfig
from tinyemo_audit.model.evaluate import candidate_embeddings
from tinyemo_audit.model.results_table import format_table_text, results_table
from tinyemo_audit.model.train import train_bundle
from tinyemo_audit.model.zero_shot import (
    TRAINED_ON,
    ZERO_SHOT,
    dataset_status,
    evaluate_grid,
    training_datasets,
)
from tinyemo_audit.taxonomy import get_taxonomy

DIM = 64
SIZES = {"train": 16, "val": 4, "test": 10}


def write_semantic_features(root, taxonomy, *, seed, sizes=SIZES, noise=0.5):
    """A feature folder whose items are ``A @ label_embedding(class) + noise`` (``A`` fixed by seed 0)."""
    from tinyemo_audit.label_space import label_embeddings, resolve_label_space

    space = resolve_label_space("smollm2-135m")
    classes = list(get_taxonomy(taxonomy).classes)
    mixing = np.random.default_rng(0).normal(size=(space.dim, DIM)) / np.sqrt(space.dim)
    centres = label_embeddings(space, classes).numpy() @ mixing
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    for split, n in sizes.items():
        for ci, label in enumerate(classes):
            folder = root / split / label
            folder.mkdir(parents=True)
            rows = centres[ci] + noise * rng.normal(size=(n, DIM)) / np.sqrt(DIM)
            for i, row in enumerate(rows):
                torch.save(torch.tensor(row, dtype=torch.float32), folder / f"{i:03d}.pt")
    return root


@pytest.fixture(scope="module")
def joint(tmp_path_factory):
    """Trained on Mikels-8 + Parrott-25 (TinyEmo's EmoSet + WEBEmo); Ekman-6 and FER-7 held out."""
    base = tmp_path_factory.mktemp("zero-shot")
    roots = {
        name: write_semantic_features(base / name, name, seed=seed)
        for seed, name in enumerate(("mikels8", "parrott25", "ekman6", "fer7"), start=1)
    }
    config = TrainConfig(
        datasets=[f"features:{roots['mikels8']}", f"features:{roots['parrott25']}"],
        label_space="smollm2-135m", epochs=10, max_lr=5e-3, seed=0,
    )
    out = train_bundle(config, base / "bundle", progress=False)
    return roots, out


def test_status_comes_from_the_bundles_record(joint):
    roots, out = joint
    bundle = load_bundle(out)
    assert training_datasets(bundle) == (f"features:{roots['mikels8']}", f"features:{roots['parrott25']}")
    assert dataset_status(bundle, f"features:{roots['mikels8']}") == TRAINED_ON
    assert dataset_status(bundle, f"features:{roots['ekman6']}") == ZERO_SHOT


def test_same_folder_spelled_differently_is_still_trained_on(joint, monkeypatch):
    roots, out = joint
    monkeypatch.chdir(roots["mikels8"].parent)
    assert dataset_status(load_bundle(out), "features:mikels8") == TRAINED_ON


def test_held_out_taxonomies_score_well_above_chance(joint):
    roots, out = joint
    specs = [f"features:{roots[name]}" for name in ("mikels8", "parrott25", "ekman6", "fer7")]
    results = {r["spec"]: r for r in evaluate_grid([str(out)], specs, progress=False)}
    ekman, fer = results[specs[2]], results[specs[3]]
    # Accuracy is over the held-out dataset's OWN taxonomy, not the bundle's 30 training labels.
    assert ekman["labels"] == sorted(get_taxonomy("ekman6").classes) and ekman["taxonomy"] == "ekman6"
    assert fer["labels"] == sorted(get_taxonomy("fer7").classes) and fer["taxonomy"] == "fer7"
    assert np.asarray(ekman["confusion"]).shape == (6, 6) and ekman["n"] == 6 * SIZES["test"]
    assert ekman["status"] == fer["status"] == ZERO_SHOT
    assert results[specs[0]]["status"] == results[specs[1]]["status"] == TRAINED_ON
    assert ekman["accuracy"] > 1 / 6 + 0.35, ekman["accuracy"]
    assert fer["accuracy"] > 1 / 7 + 0.3, fer["accuracy"]
    assert results[specs[0]]["accuracy"] > 0.9 and results[specs[1]]["accuracy"] > 0.8


def test_trained_classes_reuse_the_stored_label_rows(joint):
    _, out = joint
    bundle = load_bundle(out)
    subset = ("sadness", "anger")
    stored = bundle.label_embeddings.numpy()
    rows = [bundle.classes.index(c) for c in subset]
    assert np.array_equal(candidate_embeddings(bundle, subset), stored[rows])
    fresh = candidate_embeddings(bundle, ("joy", "anger"))  # "joy" was never trained on
    assert fresh.shape == (2, 576)
    np.testing.assert_allclose(np.linalg.norm(fresh, axis=1), 1.0, rtol=1e-5)


def test_zero_shot_refuses_a_trained_on_dataset(joint):
    roots, out = joint
    with pytest.raises(UsageError, match="was trained on features:.*mikels8; drop --zero-shot"):
        evaluate_grid([str(out)], [f"features:{roots['ekman6']}", f"features:{roots['mikels8']}"],
                      zero_shot=True, progress=False)


def test_table_marks_only_zero_shot_cells(joint):
    roots, out = joint
    specs = [f"features:{roots[name]}" for name in ("mikels8", "ekman6")]
    table = results_table(evaluate_grid([str(out)], specs, progress=False))
    (row,) = table.rows
    assert row.trained_on == training_datasets(load_bundle(out))
    assert not row.cells[specs[0]].text.endswith("*")
    assert row.cells[specs[1]].text.endswith("*")
    text = format_table_text(table)
    assert "mikels8, parrott25" in text and "ekman6 = features:" in text


def test_old_bundles_without_a_dataset_record_fall_back_to_the_config():
    class Old:
        spec = {"training": {"config": {"dataset": "faces"}}}

    class Imported:
        spec = {"training": {"source": "TinyEmo release"}}

    assert training_datasets(Old()) == ("faces",) and dataset_status(Old(), "faces") == TRAINED_ON
    assert training_datasets(Imported()) == () and dataset_status(Imported(), "faces") == ZERO_SHOT
