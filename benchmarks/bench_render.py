"""Faces rendering speed: faces per second for a parameter table drawn from the corpus sampler.

Usage: python benchmarks/bench_render.py [--faces 2000] [--size 64] [--repeats 3]
Renders the same rows ``--repeats`` times (lighting and sensor noise included, as the corpus
build does) and prints the best and median throughput.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    from tinyemo_audit.data.faces.params import sample_parameters
    from tinyemo_audit.data.faces.render import render_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = sample_parameters(args.faces, seed=0, split="train")
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        render_rows(params, args.size)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    best, median = seconds[0], seconds[len(seconds) // 2]
    print(f"{args.faces} faces of {args.size}x{args.size}, {args.repeats} repeats, load {os.getloadavg()[0]:.1f}")
    print(f"best   {args.faces / best:,.0f} faces/s ({1000 * best / args.faces:.2f} ms per face)")
    print(f"median {args.faces / median:,.0f} faces/s ({1000 * median / args.faces:.2f} ms per face)")


if __name__ == "__main__":
    main()
