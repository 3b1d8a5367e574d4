"""Decode-GEMM peer for bench/decode-gemm.ts: best-of GFLOP/s of PyTorch's y = x·Wᵀ (F.linear, W a Linear weight
[N,K]) in float32 and in bfloat16 (x and W both BF16: torch 1.13's CPU BF16 GEMM, oneDNN) for each M×N×K shape.

usage: python3 decode_gemm.py --shapes 1x896x896,32x151936x896 [--seconds 0.5]
Prints one JSON line: {"threads": n, "torch": "1.13.x", "float32": {"MxNxK": gflops, ...}, "bfloat16": {...}}.
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F

from sgemm import best_time  # the SGEMM peer's timer (this folder is on sys.path when run as a script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--seconds", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    out = {"threads": torch.get_num_threads(), "torch": torch.__version__, "float32": {}, "bfloat16": {}}
    weights = {}
    for shape in args.shapes.split(","):
        m, n, k = (int(x) for x in shape.split("x"))
        if (n, k) not in weights:
            weights.clear()  # one weight at a time: the LM head is 545 MB in F32
            w = torch.randn(n, k) * 0.05
            weights[(n, k)] = (w, w.bfloat16())
        w32, w16 = weights[(n, k)]
        x32 = torch.randn(m, k)
        x16 = x32.bfloat16()
        with torch.no_grad():
            for name, x, w in (("float32", x32, w32), ("bfloat16", x16, w16)):
                t = best_time(lambda: F.linear(x, w), args.seconds)
                out[name][shape] = 2.0 * m * n * k / t / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
