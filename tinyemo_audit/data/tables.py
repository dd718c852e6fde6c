"""User tables (a predictions file, a counterfactual manifest) read from CSV or Parquet, or taken as a DataFrame.

The file is opened through :func:`~tinyemo_audit.input_files.open_regular` (a regular file only,
never blocking on a FIFO) and its size is bounded before it is parsed. CSV is read as text (every
cell a string, as the dataset manifests are); Parquet keeps its column types. Column names are
stripped of surrounding spaces and quotes in both. A DataFrame given in memory (the Python API)
is copied with the same column-name rule.

Examples
--------
>>> import pandas as pd
>>> read_table(pd.DataFrame({" id ": ["a"], "prediction": ["happy"]}), what="predictions").columns.tolist()
['id', 'prediction']
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..input_files import open_regular, shown_path

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
MSG_SUFFIX = "{what} {path} must be a .csv or .parquet file (its name ends in {suffix})"
MSG_PARQUET = "cannot read {what} {path} as Parquet: {why}"
MSG_NO_PYARROW = "reading Parquet needs pyarrow (pip install pyarrow, a dependency of tinyemo-audit)"


def text_cells(series: pd.Series) -> pd.Series:
    """A column's cells as stripped strings (object dtype); None where a cell is empty or missing.

    The one reading of a user table's text fields (ids, labels, predictions, set ids, attribute
    values, paths), whether the table came from CSV (strings) or Parquet (typed cells).
    """
    text = series.astype("string").str.strip()
    return text.astype(object).where(text.notna() & (text != ""), None)


def source_name(source: str | os.PathLike | pd.DataFrame, in_memory: str) -> str:
    """How messages name a table: its path as :func:`~tinyemo_audit.input_files.shown_path` shows it, or ``in_memory``."""
    return in_memory if isinstance(source, pd.DataFrame) else shown_path(source)


def _clean_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c).strip().strip("'\"") for c in frame.columns]
    return frame


def _read_parquet(path: Path, what: str) -> pd.DataFrame:
    from .layouts import MAX_TABLE_BYTES

    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a declared dependency
        raise InputError(MSG_NO_PYARROW) from None
    with os.fdopen(open_regular(path, what=what), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_TABLE_BYTES:
            raise InputError(f"{what} {shown_path(path)} is {size:,} bytes; at most {MAX_TABLE_BYTES:,} are read")
        try:
            table = pq.read_table(handle)
            return table.to_pandas()
        except Exception as err:  # pyarrow raises its own ArrowInvalid, OSError, ValueError, ...
            why = " ".join(str(err).split())[:200] or type(err).__name__
            raise InputError(MSG_PARQUET.format(what=what, path=shown_path(path), why=why)) from None


def read_table(source: str | os.PathLike | pd.DataFrame, *, what: str) -> pd.DataFrame:
    """The rows of a CSV or Parquet file (by its suffix), or of a DataFrame given in memory.

    Parameters
    ----------
    source : path or DataFrame
        A ``.csv`` or ``.parquet`` (``.pq``) file, or a DataFrame.
    what : str
        What the file is, for messages ("predictions file", "counterfactual manifest").

    Returns
    -------
    DataFrame
        Column names stripped; CSV cells as strings (NaN where empty), Parquet cells as stored.

    Raises
    ------
    InputError
        Not a regular file, too large, another suffix, not UTF-8 or not parsable (one line).
    """
    if isinstance(source, pd.DataFrame):
        return _clean_columns(source.reset_index(drop=True))
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _clean_columns(_read_parquet(path, what))
    if suffix in CSV_SUFFIXES:
        from .layouts import read_csv

        return read_csv(path, what=what)
    raise InputError(MSG_SUFFIX.format(what=what, path=shown_path(path), suffix=repr(suffix) if suffix else "no suffix"))
