"""Reading a bundle's reasoning/ part: reasoning.json is strict, bounded JSON (the project's one reader)."""

from __future__ import annotations

import pytest
from test_instruct_data import NOT_STRICT_JSON

from tinyemo_audit.errors import InputError
from tinyemo_audit.reasoning.part import PART_DIR, SPEC_FILE, read_part


@pytest.mark.parametrize("kind", sorted(NOT_STRICT_JSON))
def test_a_reasoning_json_that_is_not_strict_json_is_one_line(tmp_path, kind):
    (tmp_path / PART_DIR).mkdir()
    (tmp_path / PART_DIR / SPEC_FILE).write_text(NOT_STRICT_JSON[kind], encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_part(tmp_path, "b")
    assert SPEC_FILE in str(err.value) and "\n" not in str(err.value)
