"""What an MM-LLM wrote for one batch, kept on disk: the audit's repeated runs do not generate again.

Greedy decoding is deterministic for the same model, inputs and batch, so a batch's texts can be
kept and read back instead of generated. A batch is keyed by a sha256 over:

- the reasoning part's identity (:func:`part_identity`: the bytes of its ``reasoning.json``, which
  records the connector's and adapter's sha256, the base LLM's spec and sha256 and the prompt
  templates), the torch device type, and the versions of this cache's format, torch and
  transformers;
- the batch itself: every image's encoder features (float32 bytes), every prompt turn (with its
  hint), and the generation options (``max_new_tokens`` and the rest).

So a batch is reused only when everything that decides its texts is the same; the batch, not the
item, is the unit, because left-padding a batch changes the numbers its items see. Sampled
generation is never kept. Entries live under ``cache_dir()/reasoning-texts/`` (one small JSON a
batch, written atomically); an entry that cannot be read as one is ignored and generated again.
Only the audit uses the cache (its reasoning stage and its example faces' reasoning); ``explain``
and ``eval --reasoning`` (which measures generation speed) always generate.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

CACHE_FORMAT = 1
FOLDER = "reasoning-texts"


def part_identity(spec_file: Path) -> str:
    """sha256 of a reasoning part's reasoning.json (it pins the weights, the base and the prompts by digest)."""
    return hashlib.sha256(Path(spec_file).read_bytes()).hexdigest()


def batch_key(identity: str, device_type: str, features: np.ndarray, users: list[str], options: dict[str, Any]) -> str:
    """The key of one batch (see the module docstring)."""
    import torch
    import transformers

    head = json.dumps({"format": CACHE_FORMAT, "part": identity, "device": device_type, "torch": torch.__version__,
                       "transformers": transformers.__version__, "users": users,
                       "options": {k: v for k, v in sorted(options.items())},
                       "shape": list(features.shape)}, sort_keys=True, default=str)
    digest = hashlib.sha256(head.encode())
    digest.update(np.ascontiguousarray(features, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _path(key: str) -> Path:
    from ..paths import cache_folder

    return cache_folder(FOLDER) / key[:2] / f"{key}.json"


def read_batch(key: str, size: int) -> list[tuple[str, int, float]] | None:
    """The kept (text, n_tokens, seconds) of a batch of ``size`` items, or None."""
    from .._json import read_cache_entry
    from ..input_files import MiB

    entry = read_cache_entry(_path(key), key, what="kept reasoning batch", max_bytes=4 * MiB)
    rows = entry.get("rows") if entry is not None else None
    if not isinstance(rows, list) or len(rows) != size:
        return None
    out = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and isinstance(row[1], int)
                and isinstance(row[2], (int, float))):
            return None
        out.append((row[0], row[1], float(row[2])))
    return out


def write_batch(key: str, rows: list[tuple[str, int, float]]) -> None:
    """Keep a batch's (text, n_tokens, seconds), atomically; a cache that cannot be written is passed over.

    Keeping is an optimisation: a full disk or a read-only cache folder costs the next run the
    generation, never this run its audit.
    """
    from .._json import write_cache_entry

    write_cache_entry(_path(key), key, {"rows": [list(r) for r in rows]})
