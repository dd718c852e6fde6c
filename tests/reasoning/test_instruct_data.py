"""Reading instruct data back: every text of a row is bounded and free of control characters (one rule, generated cases)."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyemo_audit.errors import InputError
from tinyemo_audit.reasoning.instruct_data import MAX_TURN_CHARS, read_instruct
from tinyemo_audit.user_text import CONTROL_CODEPOINTS

CONTROLS = [chr(c) for c in sorted(CONTROL_CODEPOINTS) if c != 0x0A]  # a newline is fine inside a turn


def test_built_data_reads_back(instruct_dir):
    data = read_instruct(instruct_dir)
    assert data.finetune and data.pretrain and len(data.images) == 24


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["id", "image", "prompt", "answer"]), control=st.sampled_from(CONTROLS),
       at=st.integers(0, 30))
def test_a_control_character_anywhere_in_a_row_is_one_line_naming_the_row(instruct_dir, tmp_path_factory, field,
                                                                          control, at):
    folder = tmp_path_factory.mktemp("bad") / "data"
    shutil.copytree(instruct_dir, folder)
    rows = json.loads((folder / "finetune.json").read_text(encoding="utf-8"))
    row = rows[3]
    if field in ("id", "image"):
        row[field] = row[field][:at] + control + row[field][at:]
    else:
        turn = row["conversations"][0 if field == "prompt" else 1]
        turn["value"] = turn["value"][:at] + control + turn["value"][at:]
    (folder / "finetune.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError, match="row 3") as err:
        read_instruct(folder)
    assert "\n" not in str(err.value) and control not in str(err.value)


def test_an_overlong_answer_is_refused(instruct_dir, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(instruct_dir, folder)
    rows = json.loads((folder / "finetune.json").read_text(encoding="utf-8"))
    rows[0]["conversations"][1]["value"] = "x" * MAX_TURN_CHARS + " Predicted Label: happy"
    (folder / "finetune.json").write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(InputError, match="longer than"):
        read_instruct(folder)


# Documents json.loads accepts, or fails on with a RecursionError (an exit-3 "bug" at the CLI):
# the project's one JSON reader (_json.read_json) refuses each with one line.
NOT_STRICT_JSON = {"deep": "[" * 100_000 + "]" * 100_000, "nan": '{"a": NaN}', "duplicate": '{"a": 1, "a": 2}',
                   "surrogate": '["\\ud800"]'}


@pytest.mark.parametrize("file", ["instruct.json", "pretrain.json", "finetune.json"])
@pytest.mark.parametrize("kind", sorted(NOT_STRICT_JSON))
def test_every_instruct_file_is_read_as_strict_bounded_json(instruct_dir, tmp_path, file, kind):
    folder = tmp_path / "data"
    shutil.copytree(instruct_dir, folder)
    (folder / file).write_text(NOT_STRICT_JSON[kind], encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_instruct(folder)
    assert file in str(err.value) and "\n" not in str(err.value)
