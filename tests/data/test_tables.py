"""User tables: the one reading of text cells, and CSV / Parquet / DataFrame giving the same table."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.data.tables import read_table, source_name, text_cells

CELLS = st.lists(st.one_of(st.none(), st.text(max_size=8), st.integers(-5, 5)), max_size=20)


@settings(max_examples=60, deadline=None)
@given(CELLS)
def test_text_cells_are_stripped_strings_or_none(cells):
    got = text_cells(pd.Series(cells, dtype=object)).tolist()
    want = [None if c is None or str(c).strip() == "" else str(c).strip() for c in cells]
    assert got == want


def test_csv_parquet_and_dataframe_give_the_same_text(tmp_path):
    frame = pd.DataFrame({" id ": ["a", " b", ""], "prediction": ["happy", "sad ", "sad"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    tables = [read_table(s, what="predictions file") for s in (frame, tmp_path / "t.csv", tmp_path / "t.parquet")]
    texts = [{c: text_cells(t[c]).tolist() for c in t.columns} for t in tables]
    assert texts[0] == texts[1] == texts[2] == {"id": ["a", "b", None], "prediction": ["happy", "sad", "sad"]}


def test_source_name():
    assert source_name(pd.DataFrame(), "<table>") == "<table>"
    assert source_name("dir/p.csv", "<table>") == "dir/p.csv"
