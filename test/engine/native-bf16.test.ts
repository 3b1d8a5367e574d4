/**
 * BF16-weight matmul (native/gemm_bf16.c) against the reference backend: both native paths (AVX512-BF16 dot products,
 * and W widened to F32), odd shapes (M 1…400, around the widen path's WIDE_M = 96 and the panel kernel's 12-row strips
 * and 384-row chunks; K not a multiple of 32 or 16 and over several 256-value blocks, N not a multiple of the 4-row
 * tile or the 32-row panel), accumulate, 1 vs 2 threads. Bounds, per element, with S = Σ_k |a_k|·|w_k|:
 * - widen: only F32 summation, |err| ≤ (K + 2)·2⁻²³·S (the 4 × 4 tiles below WIDE_M rows, W widened once into F32
 *   scratch for the packed SGEMM from there);
 * - dpbf16, at every M (one row: row_dp; from 2 rows, many rows included, the packed panel kernel): A rounded to BF16
 *   (relative 2⁻⁸ per product) plus F32 sums, |err| ≤ (2⁻⁸ + (K + 2)·2⁻²³)·S against the F32 product, and
 *   (K + 2)·2⁻²³·S against the product of BF16-rounded A (which catches a lost term or tail).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { absProducts, assertThreadsAgree, bf16, nat, rand32, ref, rng, skip, widen, withThreads } from "./native-helpers.js";

const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 45], [3, 5, 31], [4, 4, 32], [5, 9, 33], [17, 13, 63], [2, 3, 64],
  [64, 65, 96], [65, 3, 130], [1, 1100, 896], [32, 150, 897], [95, 33, 70], [96, 33, 70], [97, 45, 300], [130, 67, 530],
  [257, 33, 97], [300, 37, 257], [129, 70, 530], [8, 6, 4864], [400, 41, 600]];

/** A rounded to BF16 and back (what the dpbf16 path multiplies). */
const roundA = (a: Float32Array) => widen(bf16(a));


function assertWithin(got: Float32Array, want: Float32Array, S: Float64Array, rel: number, label: string): void {
  for (let i = 0; i < want.length; i++) {
    const bound = rel * S[i] + 1e-30;
    assert.ok(Math.abs(got[i] - want[i]) <= bound, `${label}[${i}]: native ${got[i]} vs reference ${want[i]} (bound ${bound})`);
  }
}

function check(path: "widen" | "dpbf16"): void {
  const rand = rng(path === "widen" ? 31 : 32);
  for (const [M, N, K] of shapes) {
    const A = rand32(M * K, rand), W = bf16(rand32(N * K, rand)), C0 = rand32(M * N, rand);
    const Wf = widen(W), S = absProducts(A, Wf, M, N, K), sum = (K + 2) * 2 ** -23;
    for (const accumulate of [false, true]) {
      const label = `${path} ${M}x${N}x${K} acc=${accumulate}`;
      const got = accumulate ? C0.slice() : new Float32Array(M * N).fill(NaN); // written, never read
      nat.matmulBf16(got, A, W, M, N, K, accumulate);
      if (accumulate) for (let i = 0; i < got.length; i++) got[i] -= C0[i];
      const want = new Float32Array(M * N);
      ref.matmul(want, A, Wf, M, N, K, false, true, false);
      // accumulate adds C0 and subtracting it again costs one F32 rounding of |C0| ≤ 1: allowed for in the bound
      const slack = accumulate ? 2 ** -23 * 2 : 0;
      const S2 = S.map(s => s + slack / sum);
      if (path === "widen") assertWithin(got, want, S2, sum, label);
      else {
        assertWithin(got, want, S2, 2 ** -8 + sum, label + " vs F32");
        const wantRounded = new Float32Array(M * N);
        ref.matmul(wantRounded, roundA(A), Wf, M, N, K, false, true, false);
        assertWithin(got, wantRounded, S2, sum, label + " vs BF16-rounded A");
      }
    }
  }
}

const dpbf16 = !skip && nat.bf16Path() === "dpbf16";

test("matmulBf16, widen path (BF16 widened to F32): matches the F32 reference within F32 summation error", { skip }, () => {
  nat.bf16Path("widen");
  try { withThreads(2, () => check("widen")); withThreads(1, () => check("widen")); } finally { nat.bf16Path("default"); }
});

test("matmulBf16, AVX512-BF16 path: within BF16 rounding of the F32 reference, and exact up to F32 sums for BF16 A",
  { skip: skip || (dpbf16 ? false : "this build or CPU has no AVX512-BF16") }, () => {
    nat.bf16Path("dpbf16");
    try { withThreads(2, () => check("dpbf16")); withThreads(1, () => check("dpbf16")); } finally { nat.bf16Path("default"); }
  });

test("matmulBf16 gives bit-identical results on 1 and 2 threads, on both paths", { skip }, () => {
  const rand = rng(33);
  for (const [M, N, K] of [[70, 301, 530], [200, 301, 530], [400, 301, 130]]) {
    const A = rand32(M * K, rand), W = bf16(rand32(N * K, rand));
    for (const path of ["widen", "dpbf16"] as const) {
      nat.bf16Path(path);
      try { assertThreadsAgree(M * N, C => nat.matmulBf16(C, A, W, M, N, K, false), `${path} ${M}x${N}x${K}`); } finally { nat.bf16Path("default"); }
    }
  }
});

test("matmulBf16 at many rows on dpbf16: the panel kernel's row chunks (389 rows: 204 + 185) and column chunks (K = 2600), 1 = 2 threads",
  { skip: skip || (dpbf16 ? false : "this build or CPU has no AVX512-BF16") }, () => {
    // a row chunk's packed A (204 × 2600 BF16) overflows L2, so a task takes its panels several at a time (1 thread: runs
    // of 2 panels; 2 threads: one each), each K block of a row chunk passing over them in turn
    const rand = rng(35);
    const [M, N, K] = [389, 200, 2600];
    const A = rand32(M * K, rand), W = bf16(rand32(N * K, rand)), Wf = widen(W);
    const S = absProducts(A, Wf, M, N, K), sum = (K + 2) * 2 ** -23;
    const want = new Float32Array(M * N);
    ref.matmul(want, roundA(A), Wf, M, N, K, false, true, false);
    nat.bf16Path("dpbf16");
    try {
      const one = new Float32Array(M * N), two = new Float32Array(M * N);
      withThreads(1, () => nat.matmulBf16(one, A, W, M, N, K, false));
      withThreads(2, () => nat.matmulBf16(two, A, W, M, N, K, false));
      assertWithin(two, want, S, sum, `${M}x${N}x${K} vs BF16-rounded A`);
      assert.deepEqual(two, one, `${M}x${N}x${K}: 1 vs 2 threads`);
    } finally { nat.bf16Path("default"); }
  });

test("matmulBf16 with K = 0 writes zeros, or leaves C alone when accumulating; wrong buffer types are TypeErrors", { skip }, () => {
  const C = new Float32Array([1, 2, 3, 4]);
  nat.matmulBf16(C, new Float32Array(0), new Uint16Array(0), 2, 2, 0, true);
  assert.deepEqual([...C], [1, 2, 3, 4]);
  nat.matmulBf16(C, new Float32Array(0), new Uint16Array(0), 2, 2, 0, false);
  assert.deepEqual([...C], [0, 0, 0, 0]);
  assert.throws(() => nat.matmulBf16(C, new Float32Array(4), new Float32Array(4) as unknown as Uint16Array, 2, 2, 2, false), /Uint16Array/);
  assert.throws(() => nat.matmulBf16(C, new Float32Array(4), new Uint16Array(3), 2, 2, 2, false), /has 3 elements/);
});

test("MOVE37_BF16_PATH=widen selects the widen path at start-up", { skip }, () => {
  const code = `import { getBackend } from "./src/engine/index.ts"; console.log(getBackend("native").bf16Path());`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code],
    { cwd: new URL("../..", import.meta.url).pathname, env: { ...process.env, MOVE37_BF16_PATH: "widen" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "widen");
});

test("reference matmulBf16 equals matmul on the widened weight", () => {
  const rand = rng(34);
  const [M, N, K] = [3, 5, 7];
  const A = rand32(M * K, rand), W = bf16(rand32(N * K, rand));
  const got = new Float32Array(M * N), want = new Float32Array(M * N);
  ref.matmulBf16(got, A, W, M, N, K, false);
  ref.matmul(want, A, widen(W), M, N, K, false, true, false);
  assert.deepEqual(got, want);
});
