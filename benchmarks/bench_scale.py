"""Time and peak memory of ``tinyemo-audit run`` on feature stores of 100 k to 10 M items.

Each store is generated from real encoder features: the faces test split (3 500 faces) through the
default bundle's faces-mini encoder, tiled to N rows with seeded Gaussian noise (sigma = 0.1 of
each feature's spread), labels and attributes tiled with them. ``run --dataset features:<store>``
then runs in a fresh process; its peak RSS is that process's own high-water mark (``VmHWM`` of
/proc/self/status, read as it exits), its stage times come from the run folder's timings.json.
Not ``ru_maxrss`` of ``os.wait4``: Linux folds into a child's ``ru_maxrss`` the high-water mark of
the memory it replaced at exec, a copy of this process's, which has just generated the store
(at 10 M items that read 9.0 GB for a run whose own peak was under 3 GB).

    python benchmarks/bench_scale.py --sizes 100000,1000000 [--keep DIR] [--json] [--dtype float16]

Without ``--keep`` stores and run folders go to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 0
NOISE = 0.1
BLOCK = 1 << 16


def base_split():
    """Features, labels and attributes of the faces test split under the default bundle's encoder."""
    from tinyemo_audit.data.registry import load_dataset
    from tinyemo_audit.model.bundle import load_bundle
    from tinyemo_audit.model.classifier import dataset_features

    bundle = load_bundle("tinyemo-faces-mini")
    data = load_dataset("faces", "test")
    features = np.asarray(dataset_features(bundle, data, progress=False), dtype=np.float32)
    return data, features


def make_store(root: Path, n: int, data, features: np.ndarray, *, dtype: str = "float32") -> Path:
    """A features store of ``n`` items tiled from ``features`` (see module docstring)."""
    import pandas as pd

    from tinyemo_audit.data.feature_store_writer import write_store

    rng = np.random.default_rng(SEED)
    spread = features.std(axis=0, keepdims=True) * NOISE
    rows = np.arange(n) % len(features)

    def blocks():
        for start in range(0, n, BLOCK):
            index = rows[start:start + BLOCK]
            noise = rng.standard_normal((len(index), features.shape[1]), dtype=np.float32) * spread
            yield (features[index] + noise).astype(dtype)

    attributes = pd.DataFrame({c: pd.Categorical(data.attributes[c].to_numpy(str)[rows])
                               for c in data.meta.get("protected_attributes", data.attributes.columns)})
    write_store(root, "test", (n, features.shape[1], blocks()), classes=data.classes,
                ids=_ids(n),
                labels=data.labels[rows], attributes=attributes, dtype=dtype,
                extra={"encoder": "faces-mini", "dataset": f"faces test tiled to {n} with noise"})
    return root


def _ids(n: int) -> np.ndarray:
    width = len(str(n - 1))
    return np.char.zfill(np.arange(n).astype(str), width)


# Runs the CLI and, as the process exits, writes its own peak resident set (VmHWM, kB) to $TINYEMO_BENCH_PEAK.
PEAK_PROBE = """\
import atexit, os, sys
def _peak():
    with open('/proc/self/status') as status, open(os.environ['TINYEMO_BENCH_PEAK'], 'w') as out:
        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM:')))
atexit.register(_peak)
sys.argv[0] = 'tinyemo-audit'
from tinyemo_audit.cli.main import main
main()
"""


def measure(store: Path, out: Path) -> dict:
    """Run ``run --dataset features:<store>`` in a fresh process: seconds, peak RSS, stage times."""
    command = [sys.executable, "-c", PEAK_PROBE, "run", "--dataset", f"features:{store}", "--out", str(out)]
    peak_file = out.parent / f"{out.name}.peak-kb"
    # stderr goes to a file, not a pipe: nobody reads a pipe before wait4 returns, so a run that wrote
    # more than the pipe's buffer (stage lines, progress bars) would block forever.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors,
                                env={**os.environ, "TINYEMO_BENCH_PEAK": str(peak_file)})
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"run failed with exit code {code}: {stderr.strip().splitlines()[-1:]}")
    stages = json.loads((out / "timings.json").read_text())["stages_seconds"]
    peak_kb = int(peak_file.read_text())
    peak_file.unlink()
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1), "stages_seconds": stages}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated store sizes")
    parser.add_argument("--keep", type=Path, help="keep stores and run folders under this folder")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    data, features = base_split()
    rows = []
    try:
        for n in sizes:
            store = work / f"store-{n}"
            started = time.perf_counter()
            if not (store / "test" / "manifest.json").is_file():
                make_store(store, n, data, features, dtype=args.dtype)
            generated = time.perf_counter() - started
            result = measure(store, work / f"run-{n}")
            row = {"n": n, **result, "store": str(store), "dtype": args.dtype, "generate_seconds": round(generated, 1),
                   "load_average": os.getloadavg()[0]}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{'n':>10} {'seconds':>8} {'peak RSS MB':>12}  stages")
        for row in rows:
            stages = ", ".join(f"{k.split(':')[0]} {v:.0f}" for k, v in row["stages_seconds"].items())
            print(f"{row['n']:>10} {row['seconds']:>8} {row['peak_rss_mb']:>12}  {stages}")


if __name__ == "__main__":
    main()
