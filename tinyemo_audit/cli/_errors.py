"""The one error boundary of the command line: every way a command can end becomes an exit code and one line.

Exit codes (``tinyemo-audit --help`` states them):

====  ===========================================================================================
0     done (and every gate passed, or no gates)
1     a gate failed, and nothing else: only :class:`GateFailed` ends with 1
2     bad usage, bad input, an output that may not or cannot be written, or the machine refused
      (disk full, permission denied, read-only filesystem): one line ``tinyemo-audit: error: ...``
3     an internal error, a bug: one line naming the exception and the log file holding its traceback
130   interrupted (Ctrl-C)
====  ===========================================================================================

:class:`AuditGroup` is the click group class of the ``tinyemo-audit`` app, so the boundary wraps
every command and sub-command, typer/click's own parsing errors included, whether the app runs as
the console script or under ``CliRunner``. Tracebacks, warnings and library messages reach the
terminal only with ``--debug`` or ``TINYEMO_AUDIT_DEBUG=1``.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import platform
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from .. import __version__
from ..diagnostics import DiagnosticLog, routed
from ..errors import TinyEmoAuditError
from ..outputs import environment_error
from ..user_text import shorten, visible

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = (
    "Exit codes: 0 done (every gate passed, or no gates); 1 a gate failed (only that); 2 bad usage, bad "
    "input or an output that cannot be written (one line on stderr); 3 an internal error, a bug (one line "
    "naming the log file that holds the traceback); 130 interrupted."
)

PREFIX = "tinyemo-audit: error: "
MAX_LINE = 400
DEBUG_ENV = "TINYEMO_AUDIT_DEBUG"
DEBUG_OPTION = "--debug"
MAX_LOGS = 50
INTERRUPTED = "tinyemo-audit: interrupted"
BUG = "internal error (a bug; please report it): {kind}: {message}; the traceback is in {log}"
BUG_NO_LOG = ("internal error (a bug; please report it): {kind}: {message}; the traceback could not be "
              "saved ({why}); rerun with --debug to see it")
EXIT_WITHOUT_GATE = "the command ended with exit status {code} but no gate failed"
USAGE_HINT = "{message} (see '{command} --help')"
NO_COMMAND = "{command} needs a command (listed above)"
ENVIRONMENT = "{action} {path}: {why}"
NO_MEMORY = "ran out of memory (MemoryError); try a smaller --n or dataset"
BROKEN_PIPE = "standard output was closed before all output was written (broken pipe)"
FULL_DISK_HINT = " (`tinyemo-audit cache info` shows what the cache takes)"


try:  # typer 0.2x carries its own copy of click; older typer raises click's own classes
    from typer._click import exceptions as _parsing
except ImportError:  # pragma: no cover - depends on the installed typer
    _parsing = click.exceptions
# The exception classes the parser and commands may end with, whichever click copy raised them.
EXIT = tuple({typer.Exit, click.exceptions.Exit})
ABORT = tuple({typer.Abort, click.exceptions.Abort})
NO_ARGS = tuple({getattr(_parsing, "NoArgsIsHelpError", _parsing.UsageError),
                 getattr(click.exceptions, "NoArgsIsHelpError", click.exceptions.UsageError)})
USAGE = tuple({_parsing.UsageError, click.exceptions.UsageError})
PARSER_ERROR = tuple({_parsing.ClickException, click.exceptions.ClickException, typer.TyperException})


class GateFailed(typer.Exit):
    """The only way a command ends with exit status 1: a gate failed."""

    def __init__(self) -> None:
        super().__init__(EXIT_GATE_FAILED)


def gates_exit(code: int) -> typer.Exit:
    """The exception that ends a command after its gates: exit 0, or :class:`GateFailed` for 1.

    Parameters
    ----------
    code : int
        ``gates_exit_code(outcomes)`` or ``RunOutcome.exit_code``: 0 or 1.
    """
    if code == EXIT_GATE_FAILED:
        return GateFailed()
    if code != EXIT_OK:
        raise ValueError(f"a gate outcome is 0 or 1, not {code!r}")
    return typer.Exit(EXIT_OK)


def one_line(message: str) -> str:
    """``message`` as the error line shows it: whitespace collapsed, control characters visible, bounded."""
    # shorten() appends "… (N characters)": leave room for it so the line stays within MAX_LINE.
    return shorten(visible(" ".join(str(message).split()), one_line=True), MAX_LINE - 32)


def say(message: str) -> None:
    """Print the one error line."""
    print(PREFIX + one_line(message), file=sys.stderr, flush=True)


def debug_wanted(args: Sequence[str]) -> bool:
    """``--debug`` among the options before the command, or ``TINYEMO_AUDIT_DEBUG`` set to a true value."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    for token in args:
        if token == DEBUG_OPTION:
            return True
        if token == "--" or not token.startswith("-"):
            return False
    return False


def _logs_folder() -> Path:
    from ..paths import cache_folder

    return cache_folder("logs")


def save_traceback(err: BaseException, argv: Sequence[str], log: DiagnosticLog) -> Path:
    """Write the traceback of a bug, the command line and the diagnostics to ``<cache>/logs/<UTC time>-<pid>.log``.

    Only the newest :data:`MAX_LOGS` logs are kept.
    """
    from .._io import atomic_write_text

    now = dt.datetime.now(dt.timezone.utc)
    folder = _logs_folder()
    path = folder / f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{os.getpid()}.log"
    text = "\n".join([
        f"tinyemo-audit {__version__}, Python {platform.python_version()}, {platform.platform()}",
        f"time: {now.isoformat()}",
        "command: " + visible(" ".join(["tinyemo-audit", *argv]), one_line=True),
        "",
        "".join(traceback.format_exception(err)),
        "diagnostics (warnings, library log records, C libraries' stderr):",
        log.text() or "(none)",
        "",
    ])
    atomic_write_text(path, text)
    old = sorted(p for p in folder.glob("*.log") if p.is_file())
    for stale in old[:-MAX_LOGS]:
        stale.unlink(missing_ok=True)
    return path


def _bug(err: BaseException, argv: Sequence[str], log: DiagnosticLog, debug: bool, *,
         message: str | None = None) -> int:
    kind = type(err).__name__
    message = message or str(err) or "(no message)"
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    try:
        where = save_traceback(err, argv, log)
    except Exception as failure:  # noqa: BLE001 - the report of a bug must not become a second one
        why = str(failure) if isinstance(failure, TinyEmoAuditError) else (
            getattr(failure, "strerror", None) or type(failure).__name__)
        say(BUG_NO_LOG.format(kind=kind, message=shorten(message, 120), why=why))
    else:
        say(BUG.format(kind=kind, message=shorten(message, 120), log=where))
    return EXIT_BUG


def _environment(err: OSError) -> str:
    writing = err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)
    path = os.fsdecode(err.filename) if isinstance(err.filename, (bytes, str, os.PathLike)) else None
    line = ENVIRONMENT.format(action="cannot write" if writing else "cannot use",
                              path=path or ("a file" if writing else "(no file named)"),
                              why=err.strerror or type(err).__name__)
    return line + (FULL_DISK_HINT if err.errno in (errno.ENOSPC, errno.EDQUOT) and _in_cache(path) else "")


def _in_cache(path: str | None) -> bool:
    """Whether ``path`` lies in the cache (or no file was named): then the cache may be what filled the disk."""
    from ..input_files import is_inside
    from ..paths import cache_root

    return path is None or is_inside(path, cache_root())


def _machine_refused(err: BaseException) -> OSError | None:
    """The machine's refusal (disk full, no permission, ...) behind ``err``, wrapped or not; None for a bug.

    A missing file (ENOENT) the command did not check first is a bug, whatever raised it.
    """
    found = environment_error(err) if isinstance(err, Exception) else None
    return None if found is None or found.errno == errno.ENOENT else found


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real descriptor (CliRunner): nothing to flush
        pass


def _escape_unencodable_output() -> None:
    """Let stdout and stderr show what their encoding cannot hold (a file name's undecodable bytes) as escapes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError, TypeError):  # a stream that cannot change now: leave it
                pass


def run_guarded(call: Callable[[], Any], *, argv: Sequence[str], debug: bool) -> int:
    """Run ``call`` (one command) and turn its ending into an exit code, printing at most one line.

    Parameters
    ----------
    call : callable
        Runs the command; its return value is ignored (a normal return is exit 0).
    argv : sequence of str
        The command's arguments, for the bug log.
    debug : bool
        Show tracebacks and diagnostics on stderr.

    Returns
    -------
    int
        0, 1 (only from :class:`GateFailed`), 2, 3 or 130.
    """
    _escape_unencodable_output()
    with routed(echo=debug) as log:
        try:
            call()
            return EXIT_OK
        except GateFailed:
            return EXIT_GATE_FAILED
        except (*EXIT, SystemExit) as err:
            code = err.code if isinstance(err, SystemExit) else err.exit_code
            if code in (None, 0):
                return EXIT_OK
            return _bug(err, argv, log, debug, message=EXIT_WITHOUT_GATE.format(code=one_line(repr(code))))
        except NO_ARGS as err:
            help_text = err.format_message()  # typer's rich help was printed already and leaves this empty
            if help_text and help_text.strip():
                print(help_text, flush=True)
            say(NO_COMMAND.format(command=err.ctx.command_path))
            return EXIT_BAD_INPUT
        except USAGE as err:
            command = err.ctx.command_path if getattr(err, "ctx", None) is not None else "tinyemo-audit"
            say(USAGE_HINT.format(message=err.format_message(), command=command))
            return EXIT_BAD_INPUT
        except PARSER_ERROR as err:
            say(err.format_message())
            return EXIT_BAD_INPUT
        except (KeyboardInterrupt, *ABORT):
            print(INTERRUPTED, file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        except TinyEmoAuditError as err:
            say(str(err))
            return EXIT_BAD_INPUT
        except BrokenPipeError:
            _quiet_stdout()
            say(BROKEN_PIPE)
            return EXIT_BAD_INPUT
        except MemoryError:
            say(NO_MEMORY)
            return EXIT_BAD_INPUT
        except BaseException as err:  # noqa: BLE001 - everything else is a bug, reported as one
            refused = _machine_refused(err)
            if refused is None:
                return _bug(err, argv, log, debug)
            if debug:
                traceback.print_exception(err, file=sys.stderr)
            say(_environment(refused))
            return EXIT_BAD_INPUT


class AuditGroup(TyperGroup):
    """The ``tinyemo-audit`` group: runs every command through :func:`run_guarded`."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        extra.pop("windows_expand_args", None)
        name = prog_name or "tinyemo-audit"

        def call() -> None:
            with self.make_context(name, list(argv), **extra) as ctx:
                self.invoke(ctx)

        code = run_guarded(call, argv=argv, debug=debug_wanted(argv))
        if standalone_mode:
            sys.exit(code)
        return code
