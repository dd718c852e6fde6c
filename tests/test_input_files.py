"""Reading user files: regular files only (a FIFO never hangs), bounded sizes, containment on resolved paths."""

from __future__ import annotations

import doctest
import os
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyemo_audit.input_files as input_files
from tinyemo_audit.errors import InputError
from tinyemo_audit.input_files import is_inside, read_bytes, read_text, regular_file


def test_doctests():
    assert doctest.testmod(input_files).failed == 0


@pytest.fixture()
def specials(tmp_path):
    fifo = tmp_path / "features.pt"
    os.mkfifo(fifo)
    folder = tmp_path / "image.png"
    folder.mkdir()
    sock_path = tmp_path / "s.jpg"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    yield {"fifo": fifo, "folder": folder, "socket": sock_path, "device": "/dev/zero"}
    sock.close()


@pytest.mark.parametrize("kind", ["fifo", "folder", "socket", "device"])
def test_anything_but_a_regular_file_is_refused_without_blocking(specials, kind):
    with pytest.raises(InputError, match="not a regular file"):
        read_bytes(specials[kind], what="data file", max_bytes=1000)
    with pytest.raises(InputError, match="not a regular file"):
        regular_file(specials[kind], what="data file")


def test_a_symlink_to_a_fifo_is_refused(specials, tmp_path):
    link = tmp_path / "link.pt"
    link.symlink_to(specials["fifo"])
    with pytest.raises(InputError, match="FIFO"):
        read_bytes(link, what="feature file", max_bytes=10)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(0, 5000), bound=st.integers(0, 5000))
def test_size_bound(tmp_path_factory, size, bound):
    path = tmp_path_factory.mktemp("b") / "f.bin"
    path.write_bytes(b"x" * size)
    if size <= bound:
        assert read_bytes(path, what="f", max_bytes=bound) == b"x" * size
    else:
        with pytest.raises(InputError, match="at most"):
            read_bytes(path, what="f", max_bytes=bound)


def test_non_utf8_text_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(InputError, match=r"byte 0xe9 on line 2"):
        read_text(path, what="config", max_bytes=100)


def test_containment_is_decided_on_resolved_paths(tmp_path):
    root = tmp_path / "data"
    (root / "test").mkdir(parents=True)
    (root / "test" / "ok.png").write_bytes(b"x")
    (root / "test" / "escape.png").symlink_to("/etc/hostname")
    (root / "test" / "up").symlink_to(tmp_path)
    assert is_inside(root / "test" / "ok.png", root)
    assert not is_inside(root / "test" / "escape.png", root)
    assert not is_inside(root / "test" / "up" / "other", root)
    assert not is_inside(root / ".." / "data2", root)


def test_messages_show_control_characters_visibly(tmp_path):
    path = tmp_path / "bad\x1b[31m\u202ename.yaml"
    with pytest.raises(InputError) as err:
        read_bytes(path, what="config", max_bytes=10)
    assert "\x1b" not in str(err.value) and "\u202e" not in str(err.value)
