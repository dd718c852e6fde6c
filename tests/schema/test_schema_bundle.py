"""tinyemo_audit/schema/bundle.py: any bundle.json is a loadable bundle or one bounded InputError line."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given

from schema_strategies import LONG, QUICK, assert_one_line, bundle_documents
from tinyemo_audit.errors import InputError
from tinyemo_audit.model.bundle import load_bundle
from tinyemo_audit.paths import models_dir

SOURCE = models_dir() / "tinyemo-faces-mini"
VALID = json.loads((SOURCE / "bundle.json").read_text())
needs_bundle = pytest.mark.skipif(not (SOURCE / "bundle.json").is_file(), reason="default bundle not trained")


@pytest.fixture(scope="module")
def bundle_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle") / "b"
    folder.mkdir()
    for name in ("projector.safetensors", "label_embeddings.safetensors"):
        shutil.copy(SOURCE / name, folder / name)
    return folder


def _outcome(folder, text: str) -> None:
    (folder / "bundle.json").write_text(text, encoding="utf-8")
    try:
        bundle = load_bundle(folder)
    except InputError as err:
        assert_one_line(str(err))
        return
    # What a loaded bundle promises its users.
    assert bundle.classes and all(isinstance(c, str) for c in bundle.classes)
    assert isinstance(bundle.spec["projector"]["d_in"], int)


@needs_bundle
def test_the_shipped_bundle_is_valid(bundle_folder):
    _outcome(bundle_folder, json.dumps(VALID))


@needs_bundle
@QUICK
@given(bundle_documents(VALID))
def test_any_bundle_json_loads_or_is_one_line(bundle_folder, text):
    _outcome(bundle_folder, text)


@needs_bundle
@pytest.mark.slow
@LONG
@given(bundle_documents(VALID))
def test_any_bundle_json_loads_or_is_one_line_long(bundle_folder, text):
    _outcome(bundle_folder, text)
