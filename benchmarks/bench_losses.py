"""Time the vectorised metric losses against their per-sample reference loops.

Usage::

    .venv/bin/python benchmarks/bench_losses.py [--batch 256] [--dim 576] [--classes 8] [--repeats 15]

Prints a markdown table (median over repeats of the mean milliseconds per call, forward and
forward+backward; loop and vectorised samples interleaved) and the speed-ups; exits 1 if
InfoNCE's forward speed-up is under the required 20×.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_losses import REFERENCE_LOSSES  # noqa: E402

from tinyemo_audit.losses import cosine_embedding_loss, infonce_loss, ntxent_loss  # noqa: E402

REQUIRED_INFONCE_SPEEDUP = 20.0
SAMPLE_MS = 20.0

VECTORISED = {
    "infonce": infonce_loss,
    "infonce-tinyemo": lambda x, t, y: infonce_loss(x, t, y, compat="tinyemo"),
    "cosine": cosine_embedding_loss,
    "ntxent": ntxent_loss,
}


def _time_ms(fn, image, text, labels, *, backward: bool, number: int) -> float:
    """Mean milliseconds per call over ``number`` back-to-back calls (as ``timeit`` does)."""
    inputs = [image.detach().clone().requires_grad_(backward) for _ in range(number)]
    start = time.perf_counter()
    for x in inputs:
        loss = fn(x, text, labels)
        if backward:
            loss.backward()
    return 1000 * (time.perf_counter() - start) / number


def _calls_per_sample(fn, image, text, labels, *, backward: bool) -> int:
    # Enough back-to-back calls that one timing sample lasts ~20 ms, so that timer resolution
    # and thread wake-up after the slow loop do not dominate sub-millisecond calls.
    single = _time_ms(fn, image, text, labels, backward=backward, number=1)
    return max(1, math.ceil(SAMPLE_MS / max(single, 1e-3)))


def _median_pair_ms(slow, fast, image, text, labels, *, repeats: int, backward: bool):
    """Median times of ``slow`` and ``fast``, interleaved so that both see the same machine load."""
    n_slow = _calls_per_sample(slow, image, text, labels, backward=backward)
    n_fast = _calls_per_sample(fast, image, text, labels, backward=backward)
    slow_ms, fast_ms = [], []
    for _ in range(repeats):
        slow_ms.append(_time_ms(slow, image, text, labels, backward=backward, number=n_slow))
        fast_ms.append(_time_ms(fast, image, text, labels, backward=backward, number=n_fast))
    return statistics.median(slow_ms), statistics.median(fast_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--dim", type=int, default=576)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    g = torch.Generator().manual_seed(args.seed)
    image = torch.randn(args.batch, args.dim, generator=g)
    text = torch.randn(args.batch, args.dim, generator=g)
    labels = torch.randint(0, args.classes, (args.batch,), generator=g)

    print(f"batch {args.batch}, D {args.dim}, {args.classes} classes, float32, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} repeats, load average {os.getloadavg()[0]:.1f} at start")
    print()
    print("| loss | loop fwd (ms) | vectorised fwd (ms) | speed-up fwd "
          "| loop fwd+bwd (ms) | vectorised fwd+bwd (ms) | speed-up fwd+bwd |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    speedups = {}
    for name, fast in VECTORISED.items():
        slow = REFERENCE_LOSSES[name]
        row = [name]
        for backward in (False, True):
            t_loop, t_fast = _median_pair_ms(slow, fast, image, text, labels,
                                             repeats=args.repeats, backward=backward)
            speedups[name, backward] = t_loop / t_fast
            row += [f"{t_loop:.2f}", f"{t_fast:.3f}", f"{t_loop / t_fast:.0f}×"]
        print("| " + " | ".join(row) + " |")
    print()
    infonce_speedup = speedups["infonce", False]
    verdict = "PASS" if infonce_speedup >= REQUIRED_INFONCE_SPEEDUP else "FAIL"
    print(f"InfoNCE forward speed-up {infonce_speedup:.0f}× "
          f"(required ≥ {REQUIRED_INFONCE_SPEEDUP:.0f}×): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
