"""What a command may write: its outputs checked before any work, owned by content, written as one unit.

Four rules for every output a user names (run folder, bundle, report.html, junit.xml, summary.md,
eval tables, validate JSON, preview PNG) live here and nowhere else (docs/crash-safety.md):

- **Ownership, by content.** Every folder this tool writes as an output carries a manifest,
  ``.tinyemo-audit-outputs.json``, listing each file it wrote with its size and blake2b digest;
  a single-file output is listed in the manifest of the folder it sits in. An existing output may
  be replaced only when it is what a manifest says this tool wrote: a folder that is empty or holds
  nothing but listed, unchanged files (a listed file may be missing: nobody's work is in it); a
  file listed, unchanged, in its folder's manifest. Anything else (an extra file, an edited file,
  another tool's results.json, a folder without a manifest) is refused before any work.
- **Never an input.** An output never resolves (symlinks and hard links included) to an input of
  the same command, to anything inside an input folder, or to a folder holding an input; two
  outputs of one command never overlap.
- **Writable, up front.** The output is not a folder where a file goes (or the reverse), not a
  symbolic link, FIFO or device, not under /proc, /sys or /dev or on a filesystem that cannot
  hold files; its nearest existing folder takes a probe file; the cache folder is usable.
- **One unit.** :meth:`OutputPlan.writing` stages every output in a temp beside it and puts them
  all in place at the end (:class:`~tinyemo_audit._io.AtomicSet`); a failure leaves every output
  as it was. A write that fails for want of space or permission is a one-line error naming the output.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> plan = OutputPlan()
>>> plan.file(folder / "table.md", "--table-out")
>>> plan.check()
>>> with plan.writing() as staged:
...     _ = staged.write_text(folder / "table.md", "| a |\\n")
>>> file_problem(folder / "table.md") is None  # listed in the folder's manifest: ours to replace
True
>>> _ = (folder / "table.md").write_text("edited by hand")
>>> file_problem(folder / "table.md")
'was changed after tinyemo-audit wrote it'
"""

from ._ownership import (
    CHANGED,
    MANIFEST_NAME,
    NOT_OURS_FILE,
    NOT_OURS_FOLDER,
    OutputError,
    file_digest,
    file_problem,
    folder_problem,
    write_folder_manifest,
)
from ._places import beside, cache_problem, dataset_inputs, input_problem, model_spec_path, place_problem
from ._plan import ENVIRONMENT_ERRNOS, OutputPlan, environment_error, PlannedOutput, Staged, bundle_plan

__all__ = [
    "CHANGED", "ENVIRONMENT_ERRNOS", "environment_error", "MANIFEST_NAME", "NOT_OURS_FILE", "NOT_OURS_FOLDER", "OutputError",
    "OutputPlan", "PlannedOutput", "Staged", "beside", "bundle_plan", "cache_problem", "dataset_inputs",
    "file_digest", "file_problem", "folder_problem", "input_problem", "model_spec_path", "place_problem",
    "write_folder_manifest",
]
