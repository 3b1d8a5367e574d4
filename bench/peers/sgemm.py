"""SGEMM peer for bench/engine.ts: best-of GFLOP/s of torch.mm (float32) for each M×N×K shape.

usage: python3 sgemm.py --shapes 512x512x512,8x896x4864 [--seconds 1] [--transb]
Prints one JSON line: {"threads": n, "gflops": {"MxNxK": value, ...}}.
"""
import argparse
import json
import os
import time

import torch


def best_time(fn, seconds, min_reps=3):
    fn()
    best, reps, start = float("inf"), 0, time.perf_counter()
    while reps < min_reps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--transb", action="store_true", help="B stored [N,K] (y = x·Wᵀ, a Linear layer)")
    args = ap.parse_args()
    # Debian's torch starts with 1 OpenMP thread here; give it every core the machine offers.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    out = {}
    for shape in args.shapes.split(","):
        m, n, k = (int(x) for x in shape.split("x"))
        a = torch.randn(m, k)
        b = torch.randn(n, k).t() if args.transb else torch.randn(k, n)
        c = torch.empty(m, n)
        t = best_time(lambda: torch.mm(a, b, out=c), args.seconds)
        out[shape] = 2.0 * m * n * k / t / 1e9
    print(json.dumps({"threads": torch.get_num_threads(), "gflops": out}))


if __name__ == "__main__":
    main()
