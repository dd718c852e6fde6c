"""Images per second of ``embed`` (local engine, Ray Data with 1 and 2 actors) against a bare forward loop.

All four encode the same decoded images (the faces test split, first ``--n``; beyond its 3 500
faces the split is repeated, with fresh ids, so that Ray's fixed start-up cost can be told from its
throughput) with the same encoder (the default bundle's faces-mini) in batches of ``--batch-size``:

- bare: ``encoder.encode_images`` over the in-memory array, nothing else;
- local: ``embed_split`` into a fresh feature store (dataset fingerprint, store writes, progress records);
- ray-1, ray-2: the same with ``--engine ray`` and 1 or 2 actors on a local Ray started beforehand
  (its start-up is reported apart, as ``ray_init_seconds``).

    python benchmarks/bench_embed.py [--n 2000] [--batch-size 256] [--json]
    python benchmarks/bench_embed.py --n 35000 --json   # Ray's throughput on a quiet machine
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-ray", action="store_true", help="bare and local only")
    args = parser.parse_args(argv)

    from tinyemo_audit.data.registry import load_dataset
    from tinyemo_audit.encoders.feature_store import embed_split
    from tinyemo_audit.model.bundle import load_bundle

    bundle = load_bundle("tinyemo-faces-mini")
    encoder = bundle.encoder
    data = load_dataset("faces", "test")
    data = data.subset(np.arange(args.n) % len(data))  # the split repeated past its end
    data = replace(data, ids=np.char.add("row", np.arange(args.n).astype(str)))
    weights = bundle.path / bundle.spec["encoder"]["weights"]
    work = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    rows = []
    try:
        encoder.encode_images(data.images[: args.batch_size], batch_size=args.batch_size, progress=False)  # warm-up
        seconds = _timed(lambda: encoder.encode_images(data.images, batch_size=args.batch_size, progress=False))
        rows.append({"engine": "bare forward loop", "seconds": seconds})
        seconds = _timed(lambda: embed_split(encoder, data, work / "local", batch_size=args.batch_size,
                                             progress=False))
        rows.append({"engine": "embed --engine local", "seconds": seconds})
        if not args.skip_ray:
            import ray

            from tinyemo_audit.encoders.engine import Engine
            from tinyemo_audit.encoders.ray_engine import _runtime_env, ray_batches

            init = _timed(lambda: ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                                           logging_level="ERROR", runtime_env=_runtime_env()))
            try:
                for actors in (1, 2):
                    runner = ray_batches({"spec": "faces-mini", "weights": str(weights), "trust_remote_code": False},
                                         data.images, engine=Engine("ray", actors=actors))
                    seconds = _timed(lambda: embed_split(encoder, data, work / f"ray-{actors}",
                                                         batch_size=args.batch_size, progress=False, runner=runner,
                                                         engine="ray"))
                    rows.append({"engine": f"embed --engine ray --actors {actors}", "seconds": seconds,
                                 "ray_init_seconds": round(init, 1)})
            finally:
                ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare = rows[0]["seconds"]
    local = rows[1]["seconds"]
    for row in rows:
        row["images_per_second"] = round(len(data) / row["seconds"], 1)
        row["vs_bare"] = round(bare / row["seconds"], 3)
        row["vs_local"] = round(local / row["seconds"], 3)
        row["seconds"] = round(row["seconds"], 2)
        row.update(n=len(data), batch_size=args.batch_size, cpus=os.cpu_count(), load_average=os.getloadavg()[0])
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for row in rows:
            print(f"{row['engine']:<36} {row['images_per_second']:>8} img/s  x{row['vs_bare']:.2f} of bare  "
                  f"x{row['vs_local']:.2f} of local", file=sys.stdout)


if __name__ == "__main__":
    main()
