"""Predictions files: classes, skipped rows, and every bad input as one line naming the first bad row."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.data.predictions import read_predictions
from tinyemo_audit.errors import InputError
from tinyemo_audit.schema.predictions import PROB_SUM_TOLERANCE


def table(n=4, **extra):
    base = {"id": [f"r{i}" for i in range(n)], "label": ["happy", "sad"] * (n // 2),
            "prediction": ["happy", "happy"] * (n // 2), "site": ["a", "b"] * (n // 2)}
    base.update(extra)
    return pd.DataFrame(base)


def probs(happy):
    happy = np.asarray(happy, dtype=float)
    return {"prob_happy": happy, "prob_sad": 1 - happy}


def one_line_error(source, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        read_predictions(source, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


def test_classes_come_from_prob_columns_in_their_order():
    data, preds = read_predictions(table(**probs([0.9, 0.2, 0.6, 0.5])))
    assert data.classes == ("happy", "sad")
    assert preds.probabilities.shape == (4, 2) and preds.similarities is preds.probabilities
    assert list(data.attributes.columns) == ["site"]


def test_free_text_classes_are_sorted():
    data, _ = read_predictions(table().assign(label=["calm", "tense"] * 2, prediction=["tense"] * 4))
    assert data.classes == ("calm", "tense")


def test_scores_are_the_similarities():
    data, preds = read_predictions(table(**probs([0.9, 0.2, 0.6, 0.5]), score_happy=[1, 2, 3, 4],
                                         score_sad=[0, 0, 0, 0]))
    assert preds.similarities[:, 0].tolist() == [1, 2, 3, 4]


def test_csv_and_parquet_read_the_same(tmp_path):
    frame = table(**probs([0.9, 0.2, 0.6, 0.5]))
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    a, pa = read_predictions(tmp_path / "p.csv")
    b, pb = read_predictions(tmp_path / "p.parquet")
    assert a.ids.tolist() == b.ids.tolist() and np.allclose(pa.probabilities, pb.probabilities)


@pytest.mark.parametrize("frame, fragment", [
    (table().drop(columns=["prediction"]), "no 'prediction' column"),
    (table(prediction=["happy", "joy", "sad", "sad"], **probs([0.5] * 4)), "prediction 'joy' is not a class"),
    (table(**probs([0.5, -0.1, 0.5, 0.5])), "'prob_happy' is '-0.1'"),
    (table(**{"prob_happy": [0.5, np.nan, 0.5, 0.5], "prob_sad": [0.5] * 4}), "'prob_happy' is nan"),
    (table(**{"prob_happy": [0.5, 0.9, 0.5, 0.5], "prob_sad": [0.5] * 4}), "sum to 1.4, not 1"),
    (table(id=["a", "b", "a", "c"]), "id 'a' appears on rows 2 and 4"),
    (table(score_happy=[1, 2, 3, 4]), "score_ columns"),
])
def test_bad_files_are_one_line(frame, fragment, tmp_path):
    path = tmp_path / "predictions.csv"
    frame.to_csv(path, index=False)
    message = one_line_error(path)
    assert fragment in message and str(path) in message


def test_a_row_error_names_the_csv_line(tmp_path):
    path = tmp_path / "p.csv"
    table(**probs([0.5, 0.5, 0.5, 1.5])).to_csv(path, index=False)
    assert "row 5 (id 'r3')" in one_line_error(path)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.floats(-0.5, 1.5) | st.just(float("nan")), st.floats(-0.5, 1.5) | st.just(float("nan"))),
                     min_size=1, max_size=8))
def test_probabilities_pass_exactly_when_in_range_and_summing_to_one(rows):
    happy, sad = (np.array(c, dtype=float) for c in zip(*rows))
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(rows))], "prediction": ["happy"] * len(rows),
                          "prob_happy": happy, "prob_sad": sad})
    valid = bool(np.all(np.isfinite(happy) & np.isfinite(sad) & (happy >= 0) & (happy <= 1) & (sad >= 0) & (sad <= 1)
                        & (np.abs(happy + sad - 1) <= PROB_SUM_TOLERANCE)))
    if valid:
        assert read_predictions(frame)[1].probabilities.shape == (len(rows), 2)
    else:
        one_line_error(frame)


def test_embeddings_by_row_and_wrong_row_count(tmp_path):
    emb = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.save(tmp_path / "e.npy", emb)
    data, preds = read_predictions(table(), embeddings=tmp_path / "e.npy")
    assert preds.embeddings.tolist() == emb.tolist() and data.features.shape == (4, 2)
    np.save(tmp_path / "short.npy", emb[:3])
    assert "has 3 rows but" in one_line_error(table(), embeddings=tmp_path / "short.npy")
    bad = emb.copy()
    bad[1, 0] = np.nan
    assert "NaN or infinite" in one_line_error(table(), embeddings=bad)


def test_embeddings_by_id_in_parquet(tmp_path):
    frame = pd.DataFrame({"id": ["r3", "r2", "r1", "r0"], "e0": [3.0, 2, 1, 0], "e1": [0.0, 0, 0, 0]})
    frame.to_parquet(tmp_path / "e.parquet", index=False)
    _, preds = read_predictions(table(), embeddings=tmp_path / "e.parquet")
    assert preds.embeddings[:, 0].tolist() == [0, 1, 2, 3]
    frame.iloc[:3].to_parquet(tmp_path / "short.parquet", index=False)
    assert "no row for id 'r0'" in one_line_error(table(), embeddings=tmp_path / "short.parquet")


def test_bad_rows_are_skipped_and_counted():
    frame = table(6).assign(label=["happy", "sad", "happy", "fear", "happy", "sad"],
                            prediction=["happy", "sad", None, "sad", "happy", "sad"],
                            site=["a", "b", "a", "b", "a\x1b", "b"], **probs([0.9, 0.1, 0.5, 0.1, 0.9, 0.2]))
    data, preds = read_predictions(frame)
    assert data.ids.tolist() == ["r0", "r1", "r5"]
    assert data.skipped_by_reason() == {"control character in attribute 'site'": 1, "missing prediction": 1,
                                        "unknown label 'fear'": 1}
    assert len(preds.predicted) == 3


def test_rows_skipped_keep_embeddings_aligned():
    emb = np.arange(4, dtype=np.float32)[:, None] * np.ones((4, 2), np.float32)
    data, preds = read_predictions(table(prediction=["happy", None, "sad", "happy"]), embeddings=emb)
    assert data.ids.tolist() == ["r0", "r2", "r3"] and preds.embeddings[:, 0].tolist() == [0, 2, 3]


def test_no_labels_is_label_free():
    data, _ = read_predictions(table().drop(columns=["label"]))
    assert not data.has_labels


def test_not_csv_or_parquet(tmp_path):
    (tmp_path / "p.json").write_text("{}")
    assert "must be a .csv or .parquet file" in one_line_error(tmp_path / "p.json")


def test_a_row_without_an_id_is_skipped_with_embeddings_by_id(tmp_path):
    """The rule 'a row without an id is skipped and counted' holds when embeddings are matched by id too."""
    frame = pd.DataFrame({"id": ["r0", "r2", "r3"], "e0": [0.0, 2, 3], "e1": [0.0, 0, 0]})
    frame.to_parquet(tmp_path / "e.parquet", index=False)
    data, preds = read_predictions(table(id=["r0", None, "r2", "r3"]), embeddings=tmp_path / "e.parquet")
    assert data.ids.tolist() == ["r0", "r2", "r3"] and preds.embeddings[:, 0].tolist() == [0, 2, 3]
    assert data.skipped_by_reason() == {"missing id": 1}
