"""Reading image files for the MM-LLM: all decode or the first bad one is named, FIFOs never block."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from tinyemo_audit.errors import InputError
from tinyemo_audit.reasoning.features import read_image_files


def _png(path, value: int):
    Image.fromarray(np.full((10, 14, 3), value, dtype=np.uint8)).save(path)
    return path


def test_all_files_decode_in_order(tmp_path):
    paths = [_png(tmp_path / f"{i}.png", 40 * i) for i in range(3)]
    images = read_image_files(paths, 8, what="image")
    assert images.shape == (3, 8, 8, 3) and images.dtype == np.uint8
    assert images[:, 0, 0, 0].tolist() == [0, 40, 80]


def test_first_bad_file_is_named_with_the_remedy(tmp_path):
    good = _png(tmp_path / "good.png", 10)
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    first.write_bytes(b"\x89PNG broken")
    second.write_bytes(b"")
    with pytest.raises(InputError) as err:
        read_image_files([good, first, second], 8, what="instruct image", remedy="; rebuild it")
    message = str(err.value)
    assert "first.png" in message and "second.png" not in message and message.endswith("; rebuild it")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_before_any_decoding(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_image_files([_png(tmp_path / "ok.png", 1), fifo], 8, what="image")
