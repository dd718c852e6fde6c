"""Where diagnostics go: Python warnings, library log records and C libraries' stderr stay off the terminal.

The command line promises one line on stderr for an error, and libraries do not: scikit-learn,
numba, umap and torch warn through :mod:`warnings`; transformers and others log through
:mod:`logging`; libtiff writes straight to file descriptor 2. While a command runs
(:func:`routed`), all three are kept in one bounded in-memory :class:`DiagnosticLog` instead. The
error boundary (``cli/_errors.py``) writes that log beside the traceback of a bug; ``--debug`` (or
``TINYEMO_AUDIT_DEBUG=1``) also shows each entry on stderr as it arrives.

C code that may write to descriptor 2 runs inside :func:`c_stderr_captured` (image decoding does):
the descriptor points at a scratch file meanwhile, and what landed there becomes log entries.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from typing import IO

MAX_ENTRIES = 2000
MAX_ENTRY_CHARS = 4000
# Libraries that configure their own stderr handlers read these at import; quiet them unless asked.
QUIET_ENVIRONMENT = {"TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
                     "HF_HUB_VERBOSITY": "error"}


class DiagnosticLog:
    """The warnings, log records and C-level messages of one command, newest ``MAX_ENTRIES`` kept.

    Parameters
    ----------
    echo : bool
        Also write each entry to ``sys.stderr`` as it arrives (``--debug``).
    """

    def __init__(self, *, echo: bool = False):
        self.echo = echo
        self.entries: deque[str] = deque(maxlen=MAX_ENTRIES)
        self._lock = threading.Lock()

    def add(self, source: str, text: str) -> None:
        """Keep one entry (``source``: warning, log, C stderr); echo it under ``--debug``."""
        text = text.rstrip()
        if not text:
            return
        if len(text) > MAX_ENTRY_CHARS:
            text = f"{text[:MAX_ENTRY_CHARS]}… ({len(text)} characters)"
        entry = f"[{source}] {text}"
        with self._lock:
            self.entries.append(entry)
        if self.echo:
            _write_stderr(entry + "\n")

    def text(self) -> str:
        """Every kept entry, one block per entry."""
        with self._lock:
            return "\n".join(self.entries)


_ACTIVE: list[DiagnosticLog] = []


def active_log() -> DiagnosticLog | None:
    """The log of the command now running, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def _write_stderr(text: str) -> None:
    with contextlib.suppress(Exception):  # a closed stderr must not turn a diagnostic into a crash
        sys.stderr.write(text)
        sys.stderr.flush()


class _LogHandler(logging.Handler):
    def __init__(self, log: DiagnosticLog):
        super().__init__(level=logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.log.add(f"log {record.name} {record.levelname}", self.format(record))
        except Exception:  # a record that cannot be formatted is not worth a crash
            self.handleError(record)


@contextlib.contextmanager
def routed(*, echo: bool = False) -> Iterator[DiagnosticLog]:
    """Route warnings, root-logger records and captured C stderr into a new :class:`DiagnosticLog`.

    Parameters
    ----------
    echo : bool
        Show every entry on stderr as well (``--debug``); the quieting environment variables of
        :data:`QUIET_ENVIRONMENT` are then left alone.
    """
    log = DiagnosticLog(echo=echo)
    handler = _LogHandler(log)
    root = logging.getLogger()
    set_here = []
    if not echo:
        for name, value in QUIET_ENVIRONMENT.items():
            if name not in os.environ:
                os.environ[name] = value
                set_here.append(name)

    def show(message, category, filename, lineno, file=None, line=None):
        log.add(f"warning {category.__name__}", warnings.formatwarning(message, category, filename, lineno, line))

    _ACTIVE.append(log)
    root.addHandler(handler)
    swapped = _swap_stderr_handlers(handler)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            yield log
    finally:
        for logger, own in swapped:
            logger.removeHandler(handler)
            logger.addHandler(own)
        root.removeHandler(handler)
        _ACTIVE.remove(log)
        for name in set_here:
            os.environ.pop(name, None)


def _swap_stderr_handlers(handler: logging.Handler) -> list[tuple[logging.Logger, logging.Handler]]:
    """Replace, on every configured logger, a plain terminal handler (``logging.StreamHandler``) by ``handler``.

    Libraries such as transformers give their loggers a stderr handler of their own and stop
    propagation, so their records would skip the root logger's handler. File handlers and other
    subclasses are left alone.
    """
    swapped = []
    loggers = [x for x in list(logging.root.manager.loggerDict.values()) if isinstance(x, logging.Logger)]
    for logger in loggers:
        for own in list(logger.handlers):
            if type(own) is logging.StreamHandler:
                logger.removeHandler(own)
                logger.addHandler(handler)
                swapped.append((logger, own))
    return swapped


class _Fd2Capture:
    """Process-wide, reference-counted redirection of descriptor 2 (threads may nest their captures)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: int | None = None
        self.scratch: IO[bytes] | None = None

    def enter(self) -> None:
        with self.lock:
            self.depth += 1
            if self.depth > 1:
                return
            try:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                self.scratch = tempfile.TemporaryFile()
                self.saved = os.dup(2)
                os.dup2(self.scratch.fileno(), 2)
            except OSError:  # no descriptor 2 to redirect (or none to spare): leave it as it is
                if self.saved is not None:
                    os.close(self.saved)
                self.saved = None
                self._drop_scratch()

    def _drop_scratch(self) -> None:
        if self.scratch is not None:
            self.scratch.close()
            self.scratch = None

    def exit(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth > 0 or self.saved is None:
                return
            os.dup2(self.saved, 2)
            os.close(self.saved)
            self.saved = None
            self.scratch.seek(0)
            data = self.scratch.read()
            self._drop_scratch()
        if data:
            text = data.decode("utf-8", errors="replace")
            log = active_log()
            if log is not None:
                log.add("C stderr", text)
            else:  # not under the command line: keep the library's behaviour
                _write_stderr(text)


_FD2 = _Fd2Capture()


@contextlib.contextmanager
def c_stderr_captured() -> Iterator[None]:
    """Collect what C code writes to descriptor 2 meanwhile into the active log (or pass it on after).

    Thread-safe and nestable: descriptor 2 is redirected while any capture is open. Python writes
    to ``sys.stderr`` made meanwhile from other threads are collected too, so keep the block short.
    """
    _FD2.enter()
    try:
        yield
    finally:
        _FD2.exit()


__all__ = ["DiagnosticLog", "active_log", "c_stderr_captured", "routed"]
