"""Turns the package's errors into one line on stderr and exit code 2 (never a traceback)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

import typer

from ..errors import TinyEmoAuditError

F = TypeVar("F", bound=Callable)

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2


def report_errors(command: F) -> F:
    """Decorator for CLI commands: a TinyEmoAuditError becomes ``error: ...`` and exit 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except TinyEmoAuditError as err:
            message = " ".join(str(err).split())  # one line, whatever the message held
            print(f"tinyemo-audit: error: {message}", file=sys.stderr)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            print("tinyemo-audit: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
