"""Control characters in what a dataset names: items skipped, columns and classes left out."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyemo_audit.data import user_fields
from tinyemo_audit.data.dataset import Dataset
from tinyemo_audit.data.user_fields import clean_dataset, control_columns
from tinyemo_audit.user_text import CONTROL_CODEPOINTS, has_control

CONTROL = st.sampled_from([chr(c) for c in CONTROL_CODEPOINTS] + ["\t", "\n"])
PLAIN = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
                min_size=1, max_size=6)
NAME = st.one_of(PLAIN, st.tuples(PLAIN, CONTROL, PLAIN).map("".join))


def test_doctests():
    assert doctest.testmod(user_fields).failed == 0


@settings(max_examples=100, deadline=None)
@given(names=st.lists(NAME, min_size=1, max_size=5, unique=True))
def test_control_columns_keeps_exactly_the_clean_names(names):
    kept, dropped = control_columns(names)
    assert kept == [n for n in names if not has_control(n)]
    assert len(dropped) == len(names) - len(kept)
    assert not any(has_control(d["attribute"]) or has_control(d["reason"]) for d in dropped)


@settings(max_examples=60, deadline=None)
@given(classes=st.lists(NAME, min_size=1, max_size=4, unique=True),
       columns=st.lists(NAME, max_size=3, unique=True), data=st.data())
def test_clean_dataset_leaves_no_control_character_in_any_name(classes, columns, data):
    n = data.draw(st.integers(1, 12))
    labels = np.asarray(data.draw(st.lists(st.integers(-1, len(classes) - 1), min_size=n, max_size=n)))
    ids = data.draw(st.lists(NAME, min_size=n, max_size=n, unique=True))  # ids name items one to one
    attributes = pd.DataFrame({c: data.draw(st.lists(NAME, min_size=n, max_size=n)) for c in columns},
                              index=pd.RangeIndex(n))
    raw = Dataset(name="features:x", split="test", classes=tuple(classes), labels=labels,
                  ids=np.asarray(ids, dtype=object).astype(str), attributes=attributes,
                  features=np.arange(n, dtype=np.float32)[:, None])
    clean = clean_dataset(raw)
    assert not any(has_control(c) for c in clean.classes)
    assert not any(has_control(str(c)) for c in clean.attributes.columns)
    assert not any(has_control(i) for i in clean.ids)
    for column in clean.attributes.columns:
        assert not any(has_control(v) for v in clean.attributes[column])
    # every item is kept or skipped, and a kept item keeps its label name
    assert len(clean) + len(clean.meta.get("skipped", ())) == n
    kept = {i: f for i, f in zip(clean.ids, clean.features[:, 0])}
    for i, label in zip(clean.ids, clean.labels):
        original = raw.labels[int(kept[i])]
        assert (label == -1) == (original == -1)
        if label >= 0:
            assert clean.classes[label] == raw.classes[original]
