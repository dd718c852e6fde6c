"""The chunked pass over a features dataset: the same numbers whatever the chunk size, and the running top k."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.audit._streamed import GatheredRows, TopK, stream_predictions
from tinyemo_audit.errors import UsageError
from tinyemo_audit.model.classifier import check_chunk_size


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 120), k=st.integers(1, 30), block=st.integers(1, 50), seed=st.integers(0, 2**16),
       levels=st.integers(1, 6))
def test_running_top_k_is_the_stable_sort_whatever_the_blocks(n, k, block, seed, levels):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, size=(n, 3)).astype(np.float32)  # few levels: many ties
    top = TopK(3, min(k, n))
    for start in range(0, n, block):
        top.add(start, scores[start:start + block])
    expected = np.stack([np.argsort(-scores[:, c], kind="stable")[: min(k, n)] for c in range(3)])
    np.testing.assert_array_equal(top.rows(), expected)


@pytest.fixture(scope="module")
def bundle():
    from tinyemo_audit.model.bundle import load_bundle

    return load_bundle("tinyemo-faces-mini")


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 150), chunk=st.integers(1, 160), seed=st.integers(0, 2**16))
def test_a_pass_gives_the_same_numbers_whatever_the_chunk_size(bundle, n, chunk, seed):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, bundle.spec["projector"]["d_in"])).astype(np.float32)
    labels = bundle.embed_classes(bundle.classes).numpy().astype(np.float32)
    wanted = np.unique(rng.integers(0, n, size=min(n, 10)))
    one = stream_predictions(bundle, features, labels, k=5, wanted=wanted, chunk_size=n + 1, progress=False)
    other = stream_predictions(bundle, features, labels, k=5, wanted=wanted, chunk_size=chunk, progress=False)
    for name in ("predicted", "confidence", "top"):
        np.testing.assert_array_equal(getattr(one, name), getattr(other, name))
    np.testing.assert_array_equal(one.gathered.rows, other.gathered.rows)
    assert one.distinct_embeddings == other.distinct_embeddings


def test_gathered_rows_refuse_rows_that_were_not_gathered():
    rows = GatheredRows(np.array([2, 5, 9]), np.arange(6, dtype=np.float32).reshape(3, 2))
    np.testing.assert_array_equal(rows[np.array([5, 9])], [[2, 3], [4, 5]])
    with pytest.raises(KeyError):
        rows[np.array([3])]


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "7"])
def test_a_chunk_size_below_one_or_not_an_integer_is_a_usage_error(value):
    with pytest.raises(UsageError, match="--chunk-size must be at least 1"):
        check_chunk_size(value)


def test_no_chunk_size_is_the_default_and_a_valid_one_is_kept():
    from tinyemo_audit.model.classifier import DEFAULT_CHUNK_SIZE

    assert check_chunk_size(None) == DEFAULT_CHUNK_SIZE
    assert check_chunk_size(np.int64(7)) == 7


@pytest.mark.slow
def test_run_on_a_store_gives_the_same_results_whatever_the_chunk_size(tmp_path):
    """End to end (a few minutes on 2 cores): results.json equal for chunks of 7 rows and of the whole store."""
    import json

    import pandas as pd

    from tinyemo_audit.audit.runner import run_audit
    from tinyemo_audit.data.feature_store_writer import write_store

    rng = np.random.default_rng(0)
    n = 120
    classes = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    write_store(tmp_path / "store", "test", rng.normal(size=(n, 384)).astype(np.float32), classes=classes,
                ids=[f"i{i}" for i in range(n)], labels=rng.integers(0, 7, n),
                attributes=pd.DataFrame({"skin_group": rng.choice(["light", "dark"], n),
                                         "gender": rng.choice(["feminine", "masculine"], n)}))
    config = tmp_path / "fast.yaml"
    config.write_text("n_boot: 100\nn_perm: 100\nn_perm_paired: 100\n")
    texts = [json.dumps(run_audit(dataset=f"features:{tmp_path / 'store'}", config=config, write=False,
                                  progress=False, chunk_size=size).results, sort_keys=True)
             for size in (7, 65536)]
    assert texts[0] == texts[1]
