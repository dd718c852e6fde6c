"""The outputs and inputs of one command: checked before any work, written as one unit at the end."""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import AtomicSet, utf8
from ..input_files import shown_path
from ._ownership import (
    MANIFEST_NAME,
    OutputError,
    file_problem,
    file_record,
    folder_problem,
    parent_manifest_problem,
    record_final,
    record_pending,
    write_folder_manifest,
)
from ._places import cache_problem, dataset_inputs, input_problem, is_below, model_spec_path, place_problem

ENVIRONMENT_ERRNOS = frozenset({
    errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG,
    errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.EMFILE, errno.ENFILE,
    errno.EIO, errno.EXDEV, errno.EBUSY, errno.ETXTBSY,
})
# Of those, the ones that say nothing about which file failed is a bug (a write() with no file name).
ENVIRONMENT_ONLY_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                                     errno.EFBIG, errno.EIO})

# Libraries that wrap the system's refusal in an exception of their own keep its words: Rust's
# std::io::Error (safetensors, tokenizers) ends "(os error 28)", Arrow and C++ say "[errno 28]", and
# numpy's np.save on a full disk raises an OSError with no errno at all, saying "Not enough free
# space to write 43008000 bytes after offset 128" (numpy 2) or "8192 requested and 4096 written".
_OS_ERROR_CODE = re.compile(r"\((?:os error|errno) (\d+)\)|\[errno (\d+)\]", re.IGNORECASE)
_SHORT_WRITE = re.compile(r"\bnot enough free space to write \d+ bytes|\b\d+ requested and \d+ written\b",
                          re.IGNORECASE)
SHORT_WRITE = "No space left on device ({what})"
_MAX_CHAIN = 16


def environment_error(err: BaseException) -> OSError | None:
    """The machine's refusal behind ``err`` as an :class:`OSError` with an errno of :data:`ENVIRONMENT_ERRNOS`, or None.

    ``err`` itself, its causes and contexts are searched: a plain ``OSError``, a library's own
    exception quoting the system's error number, numpy's short write.

    >>> environment_error(RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")).strerror
    'No space left on device'
    >>> environment_error(OSError("8192 requested and 4096 written")).errno == errno.ENOSPC
    True
    >>> environment_error(ValueError("row 28 is bad")) is None
    True
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in ENVIRONMENT_ERRNOS:
            return current
        try:
            text = str(current)
        except Exception:  # noqa: BLE001 - an exception whose text cannot be made says nothing
            text = ""
        quoted = _OS_ERROR_CODE.search(text)
        if quoted:
            code = int(quoted.group(1) or quoted.group(2))
            if code in ENVIRONMENT_ERRNOS:
                return OSError(code, os.strerror(code), getattr(current, "filename", None))
        short = _SHORT_WRITE.search(text) if isinstance(current, OSError) and current.errno is None else None
        if short:
            return OSError(errno.ENOSPC, SHORT_WRITE.format(what=short.group(0)), getattr(current, "filename", None))
        current = current.__cause__ or current.__context__
    return None


REFUSED = "{option} {path} {problem}"
OVERLAP = "overlaps {other} {path} (two outputs of one command must be apart)"
WRITE_FAILED = "cannot write {option} {path}: {why}; nothing was written"



@dataclass(frozen=True)
class PlannedOutput:
    """One output of a command: its path, the option that named it, and whether it is a folder.

    ``owned`` replaces the manifest rule for a folder its own writer fills in place (``embed``'s
    resumable feature cache): it says why the folder is not one that writer made, or None.
    """

    path: Path
    option: str
    folder: bool
    owned: Callable[[Path], str | None] | None = None


class OutputPlan:
    """The outputs and inputs of one command: :meth:`check` before any work, :meth:`writing` at the end.

    Parameters
    ----------
    cache : bool
        Also check that the cache folder is usable (commands that read or fill caches).
    """

    def __init__(self, *, cache: bool = False):
        self.outputs: list[PlannedOutput] = []
        self.inputs: list[tuple[Path, str]] = []
        self.cache = cache

    def file(self, path: str | os.PathLike, option: str) -> None:
        """Plan a single-file output named by ``option`` (``--junit``, ``--out``, ...)."""
        self.outputs.append(PlannedOutput(Path(path), option, folder=False))

    def folder(self, path: str | os.PathLike, option: str) -> None:
        """Plan a folder output, replaced whole (run folder, bundle)."""
        self.outputs.append(PlannedOutput(Path(path), option, folder=True))

    def in_place(self, path: str | os.PathLike, option: str, owned: Callable[[Path], str | None]) -> None:
        """Plan a folder its own writer fills in place; ``owned(path)`` recognises that writer's folders.

        It gets the same up-front checks; :meth:`writing` does not stage it.
        """
        self.outputs.append(PlannedOutput(Path(path), option, folder=True, owned=owned))

    def input(self, path: str | os.PathLike | None, what: str) -> None:
        """Record a file or folder the command reads (``what`` names it in messages); None is ignored."""
        if path is not None:
            self.inputs.append((Path(path), what))

    @property
    def staged_outputs(self) -> list[PlannedOutput]:
        """The outputs :meth:`writing` stages (all but the in-place ones)."""
        return [out for out in self.outputs if out.owned is None]

    def problems(self) -> list[str]:
        """Every reason an output cannot be written, one message each (empty when all is well)."""
        found = []
        if self.cache and (problem := cache_problem()) is not None:
            found.append(problem)
        for k, out in enumerate(self.outputs):
            problem = (input_problem(out.path, folder=out.folder, inputs=self.inputs)
                       or self._overlap(k)
                       or place_problem(out.path, folder=out.folder)
                       or self.ownership_problem(out))
            if problem is not None:
                found.append(REFUSED.format(option=out.option, path=shown_path(out.path), problem=problem))
        return found

    def _overlap(self, k: int) -> str | None:
        out = self.outputs[k]
        mine = os.path.realpath(out.path)
        for other in self.outputs[:k]:
            theirs = os.path.realpath(other.path)
            if mine == theirs or is_below(mine, theirs) or is_below(theirs, mine):
                return OVERLAP.format(other=other.option, path=shown_path(other.path))
        return None

    @staticmethod
    def ownership_problem(out: PlannedOutput) -> str | None:
        """Why ``out`` may not replace what stands at its path (the ownership rule), or None."""
        if out.owned is not None:
            return out.owned(out.path)
        if out.folder:
            return folder_problem(out.path)
        return file_problem(out.path) or parent_manifest_problem(out.path)

    def check(self) -> None:
        """Raise :class:`OutputError` (one line, the first problem) unless every output can be written."""
        problems = self.problems()
        if problems:
            raise OutputError(problems[0])

    @contextlib.contextmanager
    def writing(self) -> Iterator[Staged]:
        """Stage every planned output; put them all in place when the block ends (or none, on failure).

        Ownership is checked again just before the swap (something may have appeared meanwhile);
        folder outputs get their manifest, file outputs an entry in their folder's manifest. An
        ``OSError`` meaning "no space" or "not allowed" becomes an :class:`OutputError` naming the output.
        """
        unit = AtomicSet()
        try:
            with self._environment_errors():
                staged = Staged(self, unit)
                yield staged
                for out in self.staged_outputs:
                    if (problem := self.ownership_problem(out)) is not None:
                        raise OutputError(REFUSED.format(option=out.option, path=shown_path(out.path),
                                                         problem=problem))
                    if out.folder:
                        write_folder_manifest(staged.path(out.path))
                records = {out.path: file_record(staged.path(out.path)) for out in self.staged_outputs if not out.folder}
                record_pending(records)
                try:
                    unit.commit()
                except BaseException:
                    with contextlib.suppress(Exception):
                        record_pending({path: None for path in records})
                    raise
                record_final(records)
        finally:
            unit.close()

    @contextlib.contextmanager
    def _environment_errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as raised:
            err = environment_error(raised)
            if err is None:
                raise
            why = err.strerror or type(err).__name__
            out = self._output_of(err.filename)
            if out is not None:
                message = WRITE_FAILED.format(option=out.option, path=shown_path(out.path), why=why)
            elif err.errno in ENVIRONMENT_ONLY_ERRNOS:
                named = ", ".join(f"{o.option} {shown_path(o.path)}" for o in self.outputs)
                message = WRITE_FAILED.format(option="the outputs", path=f"({named})", why=why)
            else:
                raise
            raise OutputError(message) from raised

    def _output_of(self, filename: Any) -> PlannedOutput | None:
        """The planned output a failing path belongs to (its temp, its folder's manifest, ...), if any."""
        if not isinstance(filename, (str, bytes, os.PathLike)):
            return None
        name = os.path.abspath(os.fsdecode(filename))
        for out in self.outputs:
            target = os.path.abspath(out.path)
            parent = os.path.dirname(target)
            if (name == target or name.startswith(target + os.sep)
                    or name.startswith(os.path.join(parent, f".{out.path.name}."))
                    or name == os.path.join(parent, MANIFEST_NAME)):
                return out
        return None


class Staged:
    """The temps of an :class:`OutputPlan` being written: ``path(output)`` is where to write that output."""

    def __init__(self, plan: OutputPlan, unit: AtomicSet):
        self._temps = {}
        for out in plan.staged_outputs:
            self._temps[out.path] = unit.folder(out.path) if out.folder else unit.file(out.path)

    def path(self, output: str | os.PathLike) -> Path:
        """The temp file or folder standing for the planned ``output`` until the unit is put in place."""
        return self._temps[Path(output)]

    def write_bytes(self, output: str | os.PathLike, data: bytes) -> Path:
        """Write a file output's bytes into its temp; returns the final path."""
        self.path(output).write_bytes(data)
        return Path(output)

    def write_text(self, output: str | os.PathLike, text: str) -> Path:
        """Write a file output's UTF-8 text into its temp; returns the final path."""
        return self.write_bytes(output, utf8(text))


def bundle_plan(out: str | Path, *, specs: Iterable[str | None] = (), datasets: Iterable[str] = (),
                files: Iterable[tuple[str | Path | None, str]] = ()) -> OutputPlan:
    """The bundle folder ``out`` as an output, and what the command reads as inputs (checked up front).

    ``out`` may be new, empty or a bundle this tool wrote and nobody changed
    (:mod:`tinyemo_audit.outputs`); never a folder holding, or inside, a dataset, config or weights it reads.
    """
    plan = OutputPlan(cache=True)
    plan.folder(out, "--out")
    for spec in datasets:
        for path, what in dataset_inputs(spec):
            plan.input(path, what)
    for spec in specs:
        plan.input(model_spec_path(spec), f"model {spec}")
    for path, what in files:
        plan.input(path, what)
    return plan
