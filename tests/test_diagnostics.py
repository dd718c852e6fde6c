"""tinyemo_audit/diagnostics.py: warnings, library log records and C stderr stay off the terminal.

On bad input nothing but the error line reaches stderr, however noisy the libraries underneath;
``--debug`` shows them, and a bug's log file keeps them.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tinyemo_audit.cli._errors import PREFIX
from tinyemo_audit.cli.main import app
from tinyemo_audit.diagnostics import c_stderr_captured, routed

runner = CliRunner()


@pytest.fixture(autouse=True)
def library_with_its_own_stderr_handler():
    """A library logger configured as transformers configures its own: a stderr handler, no propagation."""
    logger = logging.getLogger("tinyemo_audit_test_library")
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    logger.propagate = False
    yield logger
    logger.removeHandler(handler)


def _noisy(*args, **kwargs):
    """What scikit-learn, numba, umap and torch do on odd input: warn, log, and write to descriptor 2."""
    warnings.warn("n_neighbors is larger than the dataset size", UserWarning)
    warnings.warn("the 'nopython' keyword argument was not supplied", DeprecationWarning)
    warnings.warn("Graph is not fully connected", RuntimeWarning)
    logging.getLogger("umap.umap_").warning("Some weights were not initialized")
    logging.getLogger("tinyemo_audit_test_library.sub").warning("a library's own handler")
    with c_stderr_captured():
        os.write(2, b"TIFFReadDirectory: Warning, Unknown field with tag 33432\n")
    raise ValueError("boom")


def test_warnings_and_library_messages_never_reach_stderr_before_the_error_line(monkeypatch):
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", _noisy)
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(PREFIX)
    log = Path(lines[0].rsplit("the traceback is in ", 1)[1]).read_text()
    for text in ("n_neighbors is larger", "nopython", "Graph is not fully connected",
                 "Some weights were not initialized", "a library's own handler", "TIFFReadDirectory"):
        assert text in log


def test_debug_shows_them_as_they_happen(monkeypatch, capfd):
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", _noisy)
    result = runner.invoke(app, ["--debug", "datasets", "list"])
    shown = result.stderr + capfd.readouterr().err  # the C-level line goes to the real descriptor 2
    for text in ("n_neighbors is larger", "Some weights were not initialized", "TIFFReadDirectory", "Traceback"):
        assert text in shown


def test_warnings_forced_to_always_show_are_still_routed():
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with routed() as log:
            for _ in range(3):
                warnings.warn("again", UserWarning)
    assert sum("again" in entry for entry in log.entries) == 3


def test_c_stderr_capture_nests_across_threads_and_restores_descriptor_2(capfd):
    with routed() as log:
        def decode(k):
            with c_stderr_captured():
                os.write(2, f"libtiff says {k}\n".encode())

        threads = [threading.Thread(target=decode, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert capfd.readouterr().err == ""
    captured = "\n".join(log.entries)
    assert all(f"libtiff says {k}" in captured for k in range(8))
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_outside_the_command_line_c_stderr_passes_through(capfd):
    with c_stderr_captured():
        os.write(2, b"a library user still sees this\n")
    assert "a library user still sees this" in capfd.readouterr().err


def _hostile_tiffs(folder: Path) -> None:
    """Compressed TIFFs with damaged strips: libtiff prints its complaints straight to descriptor 2."""
    image = Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8"))
    for compression in ("tiff_lzw", "tiff_adobe_deflate", "jpeg"):
        buffer = io.BytesIO()
        image.save(buffer, format="TIFF", compression=compression)
        data = bytearray(buffer.getvalue())
        for i in range(200, min(len(data) - 10, 2000)):
            data[i] ^= 0x5A
        (folder / f"bad-{compression}.tif").write_bytes(bytes(data))


@pytest.mark.parametrize("good", [0, 2])
def test_hostile_tiffs_leave_stderr_with_the_error_line_alone(tmp_path, good):
    """A real process (its own descriptor 2): silence on success, the error line alone when nothing decodes."""
    happy = tmp_path / "data" / "test" / "happy"
    happy.mkdir(parents=True)
    _hostile_tiffs(happy)
    for k in range(good):
        Image.fromarray(np.full((16, 16, 3), 40 * k, np.uint8)).save(happy / f"ok{k}.png")
    env = {**os.environ, "TINYEMO_AUDIT_CACHE": str(tmp_path / "cache"), "PYTHONWARNINGS": "always"}
    result = subprocess.run([sys.executable, "-m", "tinyemo_audit.cli.main", "datasets", "inspect",
                             f"imagefolder:{tmp_path / 'data'}", "--split", "test", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert "TIFF" not in result.stderr and "Decod" not in result.stderr and "Warning" not in result.stderr
    if result.returncode == 0:
        assert result.stderr == ""
    else:
        assert result.returncode == 2 and not good
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(PREFIX)
