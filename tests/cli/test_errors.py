"""cli/_errors.py: one error boundary for every command: exit 0/1/2/3/130, one stderr line, no traceback.

Two properties over generated inputs (hypothesis): any exception injected into any command ends
with exit 2 or 3 (130 for an interrupt) and exactly one line; random command lines never end with
exit 1 (only a failed gate may) and never print a traceback.
"""

from __future__ import annotations

import builtins
import errno
import re
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinyemo_audit import errors
from tinyemo_audit.cli import _errors
from tinyemo_audit.cli._errors import BUG, EXIT_CODES_HELP, INTERRUPTED, MAX_LINE, PREFIX, GateFailed
from tinyemo_audit.cli.main import app

runner = CliRunner()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# (argv, the module attribute the command calls first once its arguments are parsed)
COMMANDS = [
    (["run", "--out", "{tmp}/run"], "tinyemo_audit.audit.runner.run_audit"),
    (["report", "{tmp}/results.json"], "tinyemo_audit.audit.results.read_results"),
    (["gate", "{tmp}/results.json", "--gates", "lenient"], "tinyemo_audit.gates.load_gates"),
    (["eval"], "tinyemo_audit.model.zero_shot.evaluate_grid"),
    (["train", "--out", "{tmp}/bundle"], "tinyemo_audit.model.train.train_bundle"),
    (["embed", "--encoder", "faces-mini", "--dataset", "faces", "--out", "{tmp}/feats"],
     "tinyemo_audit.encoders.embed.embed"),
    (["validate", "--quick"], "tinyemo_audit.validate.run_validation"),
    (["import-tinyemo", "--variant", "phi-2", "--out", "{tmp}/imported"],
     "tinyemo_audit.model.tinyemo_import.import_published"),
    (["faces", "preview", "--out", "{tmp}/p.png"], "tinyemo_audit.data.faces.preview.preview_png"),
    (["models", "list"], "tinyemo_audit.model.catalog.model_catalog"),
    (["datasets", "list"], "tinyemo_audit.data.inspect.describe_layouts"),
    (["datasets", "inspect", "faces"], "tinyemo_audit.data.inspect.inspect_dataset"),
    (["instruct", "build", "--out", "{tmp}/instruct"], "tinyemo_audit.reasoning.instruct.instruct_plan"),
    (["train-reasoning", "--data", "{tmp}/instruct"], "tinyemo_audit.reasoning.train.train_reasoning"),
    (["explain", "--n", "2"], "tinyemo_audit.reasoning.settings.check_mode"),
    (["eval", "--reasoning", "--n", "2"], "tinyemo_audit.cli.reasoning.reasoning_eval"),
]


def _builtin_exception(cls: type[BaseException], message: str) -> BaseException:
    special = {
        UnicodeDecodeError: lambda: UnicodeDecodeError("utf-8", b"\xff", 0, 1, message),
        UnicodeEncodeError: lambda: UnicodeEncodeError("ascii", "\xff", 0, 1, message),
        UnicodeTranslateError: lambda: UnicodeTranslateError("\xff", 0, 1, message),
        BaseExceptionGroup: lambda: BaseExceptionGroup(message, [ValueError(message)]),
        ExceptionGroup: lambda: ExceptionGroup(message, [ValueError(message)]),
    }
    if cls in special:
        return special[cls]()
    try:
        return cls(message)
    except TypeError:
        return cls()


BUILTIN = sorted((c for c in vars(builtins).values() if isinstance(c, type) and issubclass(c, BaseException)
                  and c not in (KeyboardInterrupt, SystemExit)), key=lambda c: c.__name__)
PACKAGE = [errors.TinyEmoAuditError, errors.UsageError, errors.InputError, errors.WeightsUnavailableError]
MESSAGES = st.text(max_size=300) | st.sampled_from(["", "x" * 5000, "two\nlines\x1b[31m\u202e", "ok"])


@st.composite
def injected(draw):
    """(exception, the exit codes it may end with)."""
    message = draw(MESSAGES)
    kind = draw(st.sampled_from(["builtin", "package", "oserror", "exit", "interrupt", "parser"]))
    if kind == "builtin":
        return _builtin_exception(draw(st.sampled_from(BUILTIN)), message), {2, 3}
    if kind == "package":
        return draw(st.sampled_from(PACKAGE))(message), {2}
    if kind == "oserror":
        code = draw(st.sampled_from(sorted(errno.errorcode)))
        return OSError(code, message, draw(st.none() | st.just("/some/where"))), {2, 3}
    if kind == "exit":
        code = draw(st.sampled_from([None, 0, 1, 2, 3, 4, 127, 130, 255, "text"]))
        exc = draw(st.sampled_from([typer.Exit, SystemExit]))(*(() if code is None else (code,)))
        if isinstance(exc, typer.Exit) and isinstance(code, str):
            exc = typer.Exit(4)  # typer's Exit takes only numbers
        return exc, ({0} if code in (None, 0) else {3})
    if kind == "interrupt":
        return KeyboardInterrupt(), {130}
    return _errors._parsing.UsageError(message), {2}


def _stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@FUZZ
@given(command=st.sampled_from(COMMANDS), case=injected())
def test_any_exception_in_any_command_ends_with_one_line_and_no_traceback(tmp_path, monkeypatch, command, case):
    argv, target = command
    exc, codes = case
    module, _, name = target.rpartition(".")

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(f"{module}.{name}", boom)
    result = runner.invoke(app, [a.format(tmp=tmp_path) for a in argv])
    assert result.exit_code in codes, (result.exit_code, result.stderr)
    assert result.exit_code != 1
    assert "Traceback" not in result.output
    lines = _stderr_lines(result)
    if result.exit_code == 0:
        assert lines == []
        return
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line == INTERRUPTED if result.exit_code == 130 else line.startswith(PREFIX)
    assert len(line) <= len(PREFIX) + MAX_LINE
    if result.exit_code == 3:
        logged = re.search(r"the traceback is in (\S+\.log)$", line)
        assert logged, line
        text = Path(logged.group(1)).read_text(encoding="utf-8")
        assert "Traceback" in text and "command: tinyemo-audit " + argv[0] in text


def test_a_bug_line_names_the_exception_and_the_log(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", lambda: {}["missing"])
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 3
    (line,) = _stderr_lines(result)
    logs = list((tmp_path / "cache" / "logs").glob("*.log"))
    assert len(logs) == 1
    assert line == PREFIX + BUG.format(kind="KeyError", message="'missing'", log=logs[0])
    assert "KeyError: 'missing'" in logs[0].read_text()


def test_a_bug_whose_log_cannot_be_saved_says_so_in_the_same_line(monkeypatch, tmp_path):
    (tmp_path / "cache").write_text("a file where the cache folder goes")
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", lambda: 1 / 0)
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 3
    (line,) = _stderr_lines(result)
    assert "ZeroDivisionError" in line and "the traceback could not be saved (the cache folder" in line
    assert "rerun with --debug" in line


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(monkeypatch, how):
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", lambda: 1 / 0)
    if how == "environment":
        monkeypatch.setenv("TINYEMO_AUDIT_DEBUG", "1")
    result = runner.invoke(app, (["--debug"] if how == "option" else []) + ["datasets", "list"])
    assert result.exit_code == 3
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith(PREFIX + "internal error")


def test_exit_1_only_from_a_failed_gate(monkeypatch):
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", lambda: (_ for _ in ()).throw(GateFailed()))
    assert runner.invoke(app, ["datasets", "list"]).exit_code == 1
    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", lambda: (_ for _ in ()).throw(typer.Exit(1)))
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 3 and "exit status 1 but no gate failed" in result.stderr
    with pytest.raises(ValueError):
        _errors.gates_exit(2)
    assert isinstance(_errors.gates_exit(1), GateFailed) and _errors.gates_exit(0).exit_code == 0


def test_help_states_the_exit_codes():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert " ".join(EXIT_CODES_HELP.split()) in flat


@pytest.mark.parametrize("argv, fragment", [
    ([], "tinyemo-audit needs a command"),
    (["faces"], "tinyemo-audit faces needs a command"),
    (["run", "--no-such-flag"], "No such option: --no-such-flag (see 'tinyemo-audit run --help')"),
    (["run", "--seed", "lots"], "Invalid value for '--seed'"),
    (["run", "--seed", "x" * 5000], "Invalid value for '--seed'"),
    (["gate"], "Missing argument 'results'"),
    (["nosuch"], "No such command 'nosuch'"),
    (["eval", "--split"], "Option '--split' requires an argument"),
])
def test_parsing_errors_are_one_line_exit_2(argv, fragment):
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    (line,) = _stderr_lines(result)
    assert line.startswith(PREFIX) and fragment in line and len(line) <= len(PREFIX) + MAX_LINE
    assert "Traceback" not in result.output


# ----------------------------------------------------------------- random command lines

HEAVY = ["tinyemo_audit.audit.runner.run_audit", "tinyemo_audit.model.train.train_bundle",
         "tinyemo_audit.validate.run_validation", "tinyemo_audit.model.zero_shot.evaluate_grid",
         "tinyemo_audit.encoders.embed.embed", "tinyemo_audit.model.tinyemo_import.import_published",
         "tinyemo_audit.model.tinyemo_import.import_tinyemo_projector",
         "tinyemo_audit.data.faces.preview.preview_png", "tinyemo_audit.data.inspect.inspect_dataset",
         "tinyemo_audit.reasoning.instruct.build_instruct", "tinyemo_audit.reasoning.train.train_reasoning",
         "tinyemo_audit.reasoning.explain.explain_dataset", "tinyemo_audit.reasoning.explain.explain_files",
         "tinyemo_audit.reasoning.evaluate.evaluate_reasoning"]
STOPPED = "stopped before any work (this test never trains, audits or renders)"


def _options() -> dict[str, list[str]]:
    """Every command path with its option names, read from the app itself."""
    from typer.main import get_command

    found: dict[str, list[str]] = {}

    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        found[" ".join(path)] = sorted({o for p in command.params for o in (*p.opts, *p.secondary_opts)})

    walk(get_command(app), [])
    return found


OPTIONS = _options()
VALUES = (st.sampled_from(["-1", "0", "2", "4294967296", "nan", "", "faces", "lenient", "/proc/x", "/dev/null",
                           "/sys/x.html", "{tmp}", "{tmp}/out", "{tmp}/file.txt", "csv:{tmp}/m.csv", "x.md",
                           "features:{tmp}", "--help", "-", "--", "train", "\x1b[31m", "\u202e"])
          | st.text(max_size=40))


@st.composite
def command_lines(draw):
    path = draw(st.sampled_from(sorted(OPTIONS) + ["", "nosuch"]))
    names = OPTIONS.get(path, []) + ["--debug", "--bogus"]
    tokens = draw(st.lists(st.sampled_from(names) | VALUES, max_size=6))
    return path.split() + tokens


@FUZZ
@given(argv=command_lines())
def test_random_command_lines_never_exit_1_nor_print_a_traceback(tmp_path, monkeypatch, argv):
    _check_command_line(tmp_path, monkeypatch, argv)


@pytest.mark.slow
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_random_command_lines_long_run(tmp_path, monkeypatch, argv):
    _check_command_line(tmp_path, monkeypatch, argv)


def _check_command_line(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYEMO_AUDIT_MODELS", str(tmp_path / "no-models"))
    (tmp_path / "file.txt").write_text("someone's notes")

    def stop(*args, **kwargs):
        raise errors.UsageError(STOPPED)

    for target in HEAVY:
        monkeypatch.setattr(target, stop)
    result = runner.invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert result.exit_code in (0, 2), (argv, result.exit_code, result.stderr)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = _stderr_lines(result)
        assert len(lines) == 1 and lines[0].startswith(PREFIX), (argv, result.stderr)
    assert (tmp_path / "file.txt").read_text() == "someone's notes"


def test_a_bug_with_undecodable_text_still_gets_its_log(monkeypatch):
    def fail():
        raise ValueError("file name \udcff\udcfe")  # bytes that are not UTF-8, as os.listdir returns them

    monkeypatch.setattr("tinyemo_audit.data.inspect.describe_layouts", fail)
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 3
    (line,) = _stderr_lines(result)
    log = Path(re.search(r"the traceback is in (\S+\.log)$", line).group(1))
    assert "file name \\udcff\\udcfe" in log.read_text(encoding="utf-8")


# ------------------------------------------------------------------ a real full disk (a tiny tmpfs)

@pytest.fixture
def full_disk(tmp_path):
    """A 32 KiB tmpfs: every write past that fails as on a full disk. Skipped where mounting is not allowed."""
    import shutil
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no mount)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _guarded(call) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = _errors.run_guarded(call, argv=["test"], debug=False)
    return code, err.getvalue()


def test_libraries_filling_a_real_disk_end_with_one_line_exit_2(full_disk):
    """What safetensors, numpy and the feature store raise on a full disk is the machine's refusal, not a bug."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    from tinyemo_audit.data.arrays import new_npy

    writes = {
        "safetensors": lambda: save_file({"w": torch.zeros(100_000)}, str(full_disk / "w.safetensors")),
        "numpy": lambda: np.save(full_disk / "a.npy", np.zeros(100_000)),
        "feature store": lambda: new_npy(full_disk / "features.npy", dtype="float32", shape=(100_000, 8)),
    }
    for name, write in writes.items():
        for entry in full_disk.iterdir():
            entry.unlink()
        code, stderr = _guarded(write)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1, (name, stderr)
        assert lines[0].startswith(PREFIX + "cannot write") and "No space left on device" in lines[0], (name, lines)
    assert "features.npy" in lines[0] and not (full_disk / "features.npy").exists()  # named, and not left sparse


def test_embed_onto_a_full_disk_is_exit_2_naming_the_file(full_disk, tmp_path):
    from tinyemo_audit.paths import PROJECT_DIR

    weights = PROJECT_DIR / "models" / "tinyemo-faces-mini" / "encoder.safetensors"
    if not weights.is_file():
        pytest.skip("bundle not trained")
    result = runner.invoke(app, ["embed", "--encoder", "faces-mini", "--weights", str(weights), "--dataset", "faces",
                                 "--split", "val", "--out", str(full_disk / "feats")])
    assert result.exit_code == 2, result.output
    errors = [line for line in _stderr_lines(result) if line.startswith(PREFIX)]  # beside the progress bars
    assert errors == [PREFIX + f"cannot write {full_disk / 'feats' / 'val' / 'features.npy'}: No space left on device"]
    assert "Traceback" not in result.output
