"""discover() on synthetic embeddings with a planted slice that must be found, ranked first and named."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from tinyemo_audit.discovery import DiscoveryResult, discover
from tinyemo_audit.errors import InputError, UnknownNameError, UsageError

N_BLOBS, PER_BLOB, DIM, PLANTED = 6, 150, 64, 2


def planted_data(seed=0):
    """Six well-separated blobs; blob 2 is mostly dark-skinned, error-prone and sits on the word 'furious'."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N_BLOBS, DIM))
    blob = np.repeat(np.arange(N_BLOBS), PER_BLOB)
    x = centres[blob] + 0.25 * rng.normal(size=(len(blob), DIM))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    planted = blob == PLANTED
    skin = rng.choice(["light", "medium", "dark"], size=len(blob))
    skin[planted] = np.where(rng.random(planted.sum()) < 0.85, "dark", "light")
    gender = rng.choice(["feminine", "masculine"], size=len(blob))
    errors = rng.random(len(blob)) < np.where(planted, 0.6, 0.1)
    attributes = pd.DataFrame({"skin": skin, "gender": gender})

    unit = centres[PLANTED] / np.linalg.norm(centres[PLANTED])
    letters = np.array(list("bcdghjklmnpqrstvwxz"))
    words = ["".join(rng.choice(letters, 6)) for _ in range(300)]
    table = rng.normal(size=(300, DIM))
    # The planted word, a weaker case variant of it, and a non-word right on the centre.
    words += ["furious", "Furious", "fur1ous", "angry"]
    table = np.vstack([table, unit + 0.1 * rng.normal(size=DIM), unit + 0.3 * rng.normal(size=DIM),
                       unit, unit + 0.4 * rng.normal(size=DIM)])
    table = (table / np.linalg.norm(table, axis=1, keepdims=True)).astype(np.float32)
    return x, errors, attributes, (words, table), blob


@pytest.fixture(scope="module")
def data():
    return planted_data()


@pytest.fixture(scope="module")
def found(data):
    x, errors, attributes, vocabulary, _ = data
    return discover(x, errors=errors, attributes=attributes, vocabulary=vocabulary, seed=0, progress=False)


def _planted_cluster(result, blob):
    """The cluster holding most of the planted blob, and its Jaccard overlap with the blob."""
    truth = blob[result.sample_index] == PLANTED
    ids, counts = np.unique(result.cluster_of[truth & (result.cluster_of >= 0)], return_counts=True)
    best = int(ids[counts.argmax()])
    members = result.cluster_of == best
    return result.clusters[best], (members & truth).sum() / (members | truth).sum()


def test_hdbscan_recovers_every_blob(found, data):
    blob = data[4]
    assert found.method == "hdbscan"
    assert len(found.clusters) == N_BLOBS
    kept = found.cluster_of >= 0
    assert kept.mean() > 0.95
    assert adjusted_rand_score(blob[found.sample_index][kept], found.cluster_of[kept]) > 0.95


def test_planted_slice_is_found_ranked_first_and_named(found, data):
    cluster, jaccard = _planted_cluster(found, data[4])
    assert jaccard > 0.95
    assert max(found.clusters, key=lambda c: c.sliceline_score).id == cluster.id
    assert cluster.error_rate == pytest.approx(0.6, abs=0.1)
    assert cluster.error_ratio > 2.5
    assert cluster.flaggable
    assert cluster.top_tokens[0][0] == "furious"
    words = [w for w, _ in cluster.top_tokens]
    # The 300 random consonant strings are not words (not in the naming dictionary): only whole words name.
    assert words == ["furious", "angry"]
    assert "angry" in words
    assert cluster.over_represented == ["skin=dark"]
    assert cluster.max_skew["skin"][0] == "dark"
    assert cluster.max_skew["skin"][1] == pytest.approx(np.log(0.85 / (0.85 / 6 + 5 / 18)), abs=0.15)
    assert cluster.name.startswith("furious · ")
    assert cluster.name.endswith("— skin=dark")
    assert cluster.attribute_composition["skin"]["dark"] == pytest.approx(0.85, abs=0.08)
    others = [c for c in found.clusters if c.id != cluster.id]
    assert all("skin=dark" not in c.over_represented for c in others)


def test_result_is_plain_json_and_round_trips(found, data):
    n = len(data[0])
    assert found.sample_index.tolist() == list(range(n))
    assert found.coords.shape == (n, 2) and found.coords.dtype == np.float32
    assert np.isfinite(found.coords).all()
    assert found.params["subsampled"] is False and found.params["umap_cap"] == 5000
    assert found.params["cluster_space"] == "umap-10d"
    assert set(found.timings) == {"umap", "cluster", "score", "name"}
    text = json.dumps(found.to_dict())
    assert "timings" not in json.loads(text)
    again = DiscoveryResult.from_dict(json.loads(json.dumps(found.to_dict(timings=True))))
    assert again.to_dict() == found.to_dict()
    assert again.timings == found.timings


def test_same_seed_gives_identical_result(found, data):
    x, errors, attributes, vocabulary, _ = data
    again = discover(x, errors=errors, attributes=attributes, vocabulary=vocabulary, seed=0, progress=False)
    assert again.to_dict() == found.to_dict()


def test_kmeans_picks_k_by_silhouette_and_finds_the_slice(data):
    x, errors, attributes, vocabulary, blob = data
    result = discover(x, errors=errors, attributes=attributes, vocabulary=vocabulary, method="kmeans",
                      seed=0, progress=False)
    assert result.params["clustering"]["chosen_by"] == "silhouette"
    assert result.params["clustering"]["n_clusters"] == N_BLOBS
    assert (result.cluster_of >= 0).all()
    cluster, jaccard = _planted_cluster(result, blob)
    assert jaccard > 0.95
    assert max(result.clusters, key=lambda c: c.sliceline_score).id == cluster.id
    assert cluster.top_tokens[0][0] == "furious"


def test_unlabelled_without_attributes_and_subsampled(data):
    x, _, _, vocabulary, blob = data
    result = discover(x, errors=None, attributes=pd.DataFrame(index=range(len(x))), vocabulary=vocabulary,
                      method="kmeans", n_clusters=N_BLOBS, umap_cap=600, n_top_tokens=3, seed=1,
                      progress=False)
    assert result.params["subsampled"] is True and result.params["n_mapped"] == 600
    assert len(result.sample_index) == 600 and (np.diff(result.sample_index) > 0).all()
    assert result.coords.shape == (600, 2) and result.cluster_of.shape == (600,)
    assert sum(c.size for c in result.clusters) == 600
    cluster, jaccard = _planted_cluster(result, blob)
    assert jaccard > 0.95
    assert cluster.error_rate is None and cluster.error_ratio is None and cluster.sliceline_score is None
    assert cluster.attribute_composition == {} and cluster.over_represented == []
    assert [w for w, _ in cluster.top_tokens] == ["furious", "angry"]  # the only whole words of the vocabulary
    assert cluster.name == " · ".join(w for w, _ in cluster.top_tokens)
    json.dumps(result.to_dict())


def test_unknown_method_is_refused_before_any_work(data):
    x, errors, attributes, vocabulary, _ = data
    with pytest.raises(UnknownNameError, match="hdbscan, kmeans"):
        discover(x, errors=errors, attributes=attributes, vocabulary=vocabulary, method="dbscan")


@pytest.mark.parametrize("change, error", [
    (lambda a: dict(a, errors=a["errors"][:-1]), InputError),
    (lambda a: dict(a, attributes=a["attributes"].iloc[:-1]), InputError),
    (lambda a: dict(a, embeddings=np.where(np.eye(*a["embeddings"].shape) > 0, np.nan, a["embeddings"])),
     InputError),
    (lambda a: dict(a, embeddings=a["embeddings"][:5], errors=None,
                    attributes=pd.DataFrame(index=range(5))), InputError),
    (lambda a: dict(a, umap_cap=3), UsageError),
    (lambda a: dict(a, min_size=0), UsageError),
])
def test_bad_input_is_refused(data, change, error):
    x, errors, attributes, vocabulary, _ = data
    kwargs = change(dict(embeddings=x, errors=errors, attributes=attributes, vocabulary=vocabulary))
    with pytest.raises(error):
        discover(kwargs.pop("embeddings"), **kwargs, progress=False)
