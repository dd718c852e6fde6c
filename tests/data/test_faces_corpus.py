"""Tests of the faces corpus: splits, annotation bias, twins, cache, captions, input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyemo_audit.data.dataset import Dataset, TwinSet
from tinyemo_audit.data.faces import (
    EXPRESSIONS,
    PROTECTED_ATTRIBUTES,
    AnnotationBias,
    FacesConfig,
    load_faces,
    load_twins,
)
from tinyemo_audit.data.faces import cache as faces_cache
from tinyemo_audit.data.faces.params import DESIGN_BLOCK, sample_parameters
from tinyemo_audit.errors import UsageError

SMALL = FacesConfig(n_train=120, n_val=60, n_test=80, image_size=32, seed=5)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))


def test_split_shapes_and_metadata():
    d = load_faces("test", SMALL, cache=False)
    assert isinstance(d, Dataset)
    assert d.name == "faces" and d.split == "test" and d.classes == EXPRESSIONS
    assert d.images.shape == (80, 32, 32, 3) and d.images.dtype == np.uint8
    assert d.ids[0] == "faces-test-000000" and len(set(d.ids)) == 80
    assert d.labels.dtype == np.int64 and np.array_equal(d.labels, d.meta["true_labels"])
    assert not d.meta["bias_flipped"].any()
    assert len(d.meta["captions"]) == 80 and d.meta["intensity"].dtype == np.float64
    for column in ("skin_tone", "skin_group", "gender", "age", "hair_color", "glasses", "background"):
        assert column in d.attributes.columns
    for name, values in PROTECTED_ATTRIBUTES.items():
        assert set(d.attributes[name]) <= set(values)


def test_same_config_gives_identical_bytes():
    a = load_faces("val", SMALL, cache=False)
    b = load_faces("val", SMALL, cache=False)
    assert a.images.tobytes() == b.images.tobytes()
    assert np.array_equal(a.labels, b.labels) and a.meta["captions"] == b.meta["captions"]
    other = load_faces("val", FacesConfig(n_val=60, image_size=32, seed=6), cache=False)
    assert a.images.tobytes() != other.images.tobytes()


def test_smaller_split_is_a_prefix_of_a_larger_one():
    big = sample_parameters(50, seed=0, split="train")
    small = sample_parameters(20, seed=0, split="train")
    assert big.iloc[:20].equals(small)


def test_splits_and_twins_come_from_disjoint_identities():
    shape_columns = ["face_aspect", "eye_spacing", "eye_size", "nose_len", "mouth_w", "noise_seed"]
    keys = {}
    for split in ("train", "val", "test"):
        rows = sample_parameters(200, seed=0, split=split)[shape_columns]
        keys[split] = set(map(tuple, rows.to_numpy().tolist()))
    twins = sample_parameters(200, seed=0, split="test", stream=1)[shape_columns]
    keys["twins"] = set(map(tuple, twins.to_numpy().tolist()))
    names = list(keys)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not keys[a] & keys[b], (a, b)
    ids = [set(load_faces(s, SMALL, cache=False).ids) for s in ("train", "val", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_attributes_are_balanced_and_independent_of_expression():
    from scipy.stats import chi2_contingency

    params = sample_parameters(6000, seed=0, split="train")
    for column, k in (("expression", 7), ("skin_tone", 6), ("gender", 2), ("age", 3)):
        shares = np.bincount(params[column], minlength=k) / len(params)
        assert np.all(np.abs(shares - 1 / k) < 0.03), column
    for column in ("skin_tone", "gender", "age"):
        table = np.histogram2d(params["expression"], params[column], bins=(7, params[column].max() + 1))[0]
        assert chi2_contingency(table).pvalue > 0.001
    # Whole blocks of the design hold every expression x tone x gender x age combination equally often.
    blocks = sample_parameters(3 * DESIGN_BLOCK, seed=4, split="test")
    counts = blocks.groupby(["expression", "skin_tone", "gender", "age"]).size()
    assert len(counts) == DESIGN_BLOCK and set(counts) == {3}
    # Few faces are nearly neutral: most stay clearly readable.
    expressive = params["intensity"][params["expression"] != EXPRESSIONS.index("neutral")]
    assert (expressive < 0.25).mean() < 0.05 and expressive.min() >= 0.15


BIASES = (
    AnnotationBias("skin_group", "dark", "neutral", "angry", 0.5),
    AnnotationBias("gender", "feminine", "neutral", "happy", 0.25),
)


def test_annotation_bias_exact_counts_and_only_in_train_and_val():
    config = FacesConfig(n_train=700, n_val=300, n_test=300, image_size=16, seed=2, biases=BIASES)
    for split in ("train", "val"):
        d = load_faces(split, config, cache=False)
        true, attrs, flipped = d.meta["true_labels"], d.attributes, d.meta["bias_flipped"]
        assert np.array_equal(flipped, d.labels != true)
        neutral = true == EXPRESSIONS.index("neutral")
        dark = attrs["skin_group"].to_numpy() == "dark"
        to_angry = flipped & (d.labels == EXPRESSIONS.index("angry"))
        assert to_angry.sum() == round(0.5 * (dark & neutral).sum())
        assert not (to_angry & ~(dark & neutral)).any()
        feminine = attrs["gender"].to_numpy() == "feminine"
        to_happy = flipped & (d.labels == EXPRESSIONS.index("happy"))
        assert to_happy.sum() == round(0.25 * (feminine & neutral).sum())
        assert not (to_happy & ~(feminine & neutral)).any()
        # Captions keep describing the true expression.
        clean = load_faces(split, FacesConfig(n_train=700, n_val=300, n_test=300, image_size=16, seed=2), cache=False)
        assert d.meta["captions"] == clean.meta["captions"]
    test = load_faces("test", config, cache=False)
    assert np.array_equal(test.labels, test.meta["true_labels"]) and not test.meta["bias_flipped"].any()


def test_bias_rate_one_flips_the_whole_cell():
    config = FacesConfig(n_train=300, image_size=16, biases=(AnnotationBias("age", "child", "sad", "fear", 1.0),))
    d = load_faces("train", config, cache=False)
    cell = (d.attributes["age"].to_numpy() == "child") & (d.meta["true_labels"] == EXPRESSIONS.index("sad"))
    assert cell.any() and (d.labels[cell] == EXPRESSIONS.index("fear")).all()


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(attribute="skin", value="dark", from_label="neutral", to_label="angry", rate=0.2), "skin_tone"),
        (dict(attribute="gender", value="male", from_label="neutral", to_label="angry", rate=0.2), "masculine"),
        (dict(attribute="gender", value="feminine", from_label="calm", to_label="angry", rate=0.2), "neutral"),
        (dict(attribute="gender", value="feminine", from_label="neutral", to_label="mad", rate=0.2), "angry"),
        (dict(attribute="gender", value="feminine", from_label="neutral", to_label="angry", rate=1.5), "[0, 1]"),
    ],
)
def test_bad_annotation_bias_raises_usage_error(kwargs, needle):
    with pytest.raises(UsageError) as err:
        AnnotationBias(**kwargs)
    message = str(err.value)
    assert needle in message and "\n" not in message


def test_bad_inputs_raise_usage_error():
    with pytest.raises(UsageError, match="train"):
        load_faces("training", SMALL, cache=False)
    with pytest.raises(UsageError, match="skin_tone"):
        load_twins("hair", SMALL, n_identities=2, cache=False)
    with pytest.raises(UsageError):
        load_twins("gender", SMALL, n_identities=0, cache=False)
    with pytest.raises(UsageError):
        FacesConfig(image_size=4)
    with pytest.raises(UsageError):
        FacesConfig(n_train=-1)
    with pytest.raises(UsageError):
        FacesConfig(biases=("neutral->angry",))


def test_captions_name_expression_and_demographics():
    d = load_faces("test", SMALL, cache=False)
    from tinyemo_audit.data.faces.attributes import EXPRESSION_ADJECTIVES, PERSON_NOUNS, SKIN_WORDS

    for caption, label, attrs in zip(d.meta["captions"], d.meta["true_labels"], d.attributes.to_dict("records")):
        assert any(w in caption for w in EXPRESSION_ADJECTIVES[EXPRESSIONS[label]])
        assert any(w in caption for w in PERSON_NOUNS[(attrs["age"], attrs["gender"])])
        assert any(f"{w} skin" in caption for w in SKIN_WORDS[attrs["skin_group"]])
        assert (", wearing glasses" in caption) == (attrs["glasses"] == "yes")
    assert len(set(d.meta["captions"])) > 0.8 * len(d)


@pytest.mark.parametrize("attribute", ["skin_tone", "skin_group", "gender", "age"])
def test_twins_vary_only_the_attribute(attribute):
    twins = load_twins(attribute, SMALL, n_identities=6, split="val", cache=False)
    values = PROTECTED_ATTRIBUTES[attribute]
    assert isinstance(twins, TwinSet) and twins.values == values
    assert twins.images.shape == (6, len(values), 32, 32, 3)
    assert twins.labels.shape == (6,) and twins.ids[0] == "faces-val-twin-000000"
    assert attribute not in twins.attributes.columns and "hair_color" in twins.attributes.columns
    for j in range(1, len(values)):
        diff = np.any(twins.images[:, j] != twins.images[:, 0], axis=-1)
        assert diff.any(axis=(1, 2)).all()  # every twin really changes
        if attribute.startswith("skin"):
            # Only the skin changes: background, hair, clothes stay pixel-identical.
            assert diff.mean() < 0.5
            assert not diff[:, :3, :3].any() and not diff[:, :3, -3:].any()


def test_twin_identities_are_not_the_splits_items():
    twins = load_twins("gender", SMALL, n_identities=10, split="test", cache=False)
    test = load_faces("test", SMALL, cache=False)
    for k in range(10):
        assert not any(np.array_equal(twins.images[k, i], img) for i in range(2) for img in test.images)


def test_skin_twins_match_untwinned_render_of_that_value():
    twins = load_twins("skin_tone", SMALL, n_identities=3, cache=False)
    again = load_twins("skin_tone", SMALL, n_identities=3, cache=False)
    assert twins.images.tobytes() == again.images.tobytes()


def test_cache_round_trip_and_memory_map(tmp_path):
    first = load_faces("val", SMALL)
    assert isinstance(first.images, np.memmap)
    again = load_faces("val", SMALL)
    fresh = load_faces("val", SMALL, cache=False)
    assert np.array_equal(again.images, fresh.images) and np.array_equal(again.labels, fresh.labels)
    folder = faces_cache.folder(faces_cache.split_spec(split="val", n=60, seed=5, size=32))
    assert sorted(p.name for p in folder.iterdir()) == ["attributes.csv", "images.npy", "manifest.json", "true_labels.npy"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["n"] == 60
    # Nothing cached is a pickle.
    np.load(folder / "true_labels.npy", allow_pickle=False)
    # Annotation biases change labels but reuse the cached images.
    biased = load_faces("val", FacesConfig(**{**SMALL.__dict__, "biases": BIASES}))
    assert len(list(folder.parent.iterdir())) == 1 and np.array_equal(biased.images, fresh.images)


@pytest.mark.parametrize("damage", ["truncate", "manifest", "labels", "missing", "sampler"])
def test_invalid_cache_is_rebuilt(damage):
    reference = load_faces("test", SMALL, cache=False).images
    load_faces("test", SMALL)
    folder = faces_cache.folder(faces_cache.split_spec(split="test", n=80, seed=5, size=32))
    if damage == "truncate":
        np.save(folder / "images.npy", reference[:10])
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "labels":
        np.save(folder / "true_labels.npy", np.zeros(80, dtype=np.int64))
    elif damage == "sampler":  # an entry from an older sampler, same spec and renderer
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, "sampler": manifest["sampler"] - 1}))
    else:
        (folder / "images.npy").unlink()
    rebuilt = load_faces("test", SMALL)
    assert np.array_equal(rebuilt.images, reference)
    assert np.load(folder / "images.npy", mmap_mode="r").shape == reference.shape
    manifest = json.loads((folder / "manifest.json").read_text())  # rewritten, not served as it was
    assert {key: manifest[key] for key in faces_cache.VERSIONS} == faces_cache.VERSIONS


def test_twins_are_cached():
    first = load_twins("age", SMALL, n_identities=4)
    second = load_twins("age", SMALL, n_identities=4)
    assert np.array_equal(first.images, second.images)
    folder = faces_cache.folder(faces_cache.twins_spec(attribute="age", n=12, split="test", seed=5, size=32))
    assert (folder / "manifest.json").exists()
