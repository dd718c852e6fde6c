"""A base LLM's digest: a sharded model's weight index is read strictly, and a damaged one is one line."""

from __future__ import annotations

import json

import pytest
from test_instruct_data import NOT_STRICT_JSON

from tinyemo_audit.errors import InputError
from tinyemo_audit.reasoning.base_llm import llm_digest

INDEX = "model.safetensors.index.json"


def _sharded(folder, weight_map):
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    for name in ("a.safetensors", "b.safetensors"):
        (folder / name).write_bytes(name.encode())
    (folder / INDEX).write_text(weight_map if isinstance(weight_map, str) else json.dumps({"weight_map": weight_map}))
    return folder


def test_the_digest_covers_every_shard_the_index_names(tmp_path):
    folder = _sharded(tmp_path / "m", {"x": "a.safetensors", "y": "b.safetensors"})
    before = llm_digest(str(folder))
    (folder / "b.safetensors").write_bytes(b"changed")
    assert llm_digest(str(folder)) != before


@pytest.mark.parametrize("index", [*(NOT_STRICT_JSON[k] for k in sorted(NOT_STRICT_JSON)), "[]",
                                   '{"weight_map": []}', '{"weight_map": {"x": 3}}', '{"weight_map": {"x": ""}}'])
def test_a_damaged_weight_index_is_one_input_error(tmp_path, index):
    folder = _sharded(tmp_path / "m", index)
    with pytest.raises(InputError) as err:
        llm_digest(str(folder))
    assert "\n" not in str(err.value)
