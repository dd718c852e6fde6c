"""The schema layer: one pydantic model per input file type, and every command argument, checked in one place.

- :mod:`.settings` — audit settings (configs/audit/default.yaml + ``--config``), merged key by key.
- :mod:`.gates` — gate files (docs/gates.md).
- :mod:`.results` — results.json (docs/results-schema.md), read by ``report`` and ``gate``.
- :mod:`.bundle` — a model bundle's bundle.json.
- :mod:`.train_config` — training configs and TinyEmo import configs.
- :mod:`.reasoning` — instruct configs, train-reasoning configs and a bundle's reasoning.json.
- :mod:`.run_request` — ``run``'s arguments and settings before any work, and the other commands' numbers.
- :func:`validate` / :func:`input_error` — the one conversion of a pydantic ValidationError into a
  one-line :class:`~tinyemo_audit.errors.InputError` naming the file and the key path.

The readers of the files themselves (size bounds, strict JSON, safe YAML) are
:mod:`tinyemo_audit._json` and :mod:`tinyemo_audit._yaml`. Commands import this package when they
read a file, never at start-up, so ``tinyemo-audit --help`` does not load pydantic.
"""

from tinyemo_audit.schema._errors import input_error, validate
from tinyemo_audit.schema.bundle import BundleFile
from tinyemo_audit.schema.gates import GateFile
from tinyemo_audit.schema.results import ResultsFile
from tinyemo_audit.schema.run_request import RunRequest, check_against_data, check_count, check_run_request, check_seed
from tinyemo_audit.schema.settings import AuditSettings, merge_settings
from tinyemo_audit.schema.train_config import ImportConfigFile, TrainConfigFile

__all__ = [
    "AuditSettings",
    "BundleFile",
    "GateFile",
    "ImportConfigFile",
    "ResultsFile",
    "RunRequest",
    "TrainConfigFile",
    "check_against_data",
    "check_count",
    "check_run_request",
    "check_seed",
    "input_error",
    "merge_settings",
    "validate",
]
