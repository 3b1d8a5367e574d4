/**
 * The activation gradient through a BF16 weight, X[M,K] (+)= Y[M,N]·W[N,K] (native/gemm_bf16.c gemm_bf16_nn), against
 * the reference backend: both native paths (AVX512-BF16 pairs, since 7 Dec 2026 through the packed panel kernel at every
 * M; and W widened to F32), odd shapes (M 1…389, around the panel kernel's 12-row strips and 384-row chunks; N odd and
 * even, over several 256-row blocks; K not a multiple of 16, 32 or 64), accumulate on and off, 1 and 2 threads.
 * Bounds, per element, with S = Σ_n |Y[i,n]|·|W[n,k]|:
 * - widen: only F32 summation, |err| ≤ (N + 2)·2⁻²³·S;
 * - dpbf16: Y rounded to BF16 (relative 2⁻⁸ per product) plus F32 sums, |err| ≤ (2⁻⁸ + (N + 2)·2⁻²³)·S against the F32
 *   product, and (N + 2)·2⁻²³·S against the product of BF16-rounded Y (which catches a lost pair, column or tail).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertThreadsAgree, bf16, nat, rand32, ref, rng, skip, widen, withThreads } from "./native-helpers.js";

// [M, N, K]: N odd (an unpaired last W row), K past a 64-column tile by 1…63, tiny and 0.5B-like sizes
const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 45], [3, 5, 31], [6, 4, 64], [7, 9, 65], [17, 13, 63], [2, 3, 16],
  [64, 65, 96], [65, 3, 130], [1, 1100, 33], [32, 150, 897], [70, 37, 257], [13, 70, 530], [8, 128, 200], [5, 896, 129],
  [95, 33, 70], [96, 301, 45], [97, 530, 67], [130, 257, 33], [257, 97, 130], [400, 600, 41]];


/** S[i,k] = Σ_n |Y[i,n]|·|W[n,k]| */
function absProducts(Y: Float32Array, W: Float32Array, M: number, N: number, K: number): Float64Array {
  const S = new Float64Array(M * K);
  for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) {
    const y = Math.abs(Y[i * N + n]);
    for (let k = 0; k < K; k++) S[i * K + k] += y * Math.abs(W[n * K + k]);
  }
  return S;
}

function assertWithin(got: Float32Array, want: Float32Array, S: Float64Array, rel: number, slack: number, label: string): void {
  for (let i = 0; i < want.length; i++) {
    const bound = rel * S[i] + slack + 1e-30;
    assert.ok(Math.abs(got[i] - want[i]) <= bound, `${label}[${i}]: native ${got[i]} vs reference ${want[i]} (bound ${bound})`);
  }
}

function check(path: "widen" | "dpbf16"): void {
  const rand = rng(path === "widen" ? 41 : 42);
  for (const [M, N, K] of shapes) {
    const Y = rand32(M * N, rand), W = bf16(rand32(N * K, rand)), X0 = rand32(M * K, rand);
    const Wf = widen(W), S = absProducts(Y, Wf, M, N, K), sum = (N + 2) * 2 ** -23;
    const want = new Float32Array(M * K);
    ref.matmul(want, Y, Wf, M, K, N, false, false, false);
    const wantRounded = new Float32Array(M * K);
    if (path === "dpbf16") ref.matmul(wantRounded, widen(bf16(Y)), Wf, M, K, N, false, false, false);
    for (const accumulate of [false, true]) {
      const label = `${path} ${M}x${N}x${K} acc=${accumulate}`;
      const got = accumulate ? X0.slice() : new Float32Array(M * K).fill(NaN); // written, never read
      nat.matmulBf16NN(got, Y, W, M, N, K, accumulate);
      if (accumulate) for (let i = 0; i < got.length; i++) got[i] -= X0[i];
      // adding X0 and taking it away again costs up to two F32 roundings of |X0| ≤ 1
      const slack = accumulate ? 2 * 2 ** -23 : 0;
      if (path === "widen") assertWithin(got, want, S, sum, slack, label);
      else {
        assertWithin(got, want, S, 2 ** -8 + sum, slack, label + " vs F32");
        assertWithin(got, wantRounded, S, sum, slack, label + " vs BF16-rounded Y");
      }
    }
  }
}

const dpbf16 = !skip && nat.bf16Path() === "dpbf16";

test("matmulBf16NN, widen path: matches the F32 reference within F32 summation error", { skip }, () => {
  nat.bf16Path("widen");
  try { withThreads(2, () => check("widen")); withThreads(1, () => check("widen")); } finally { nat.bf16Path("default"); }
});

test("matmulBf16NN, AVX512-BF16 path: within BF16 rounding of the F32 reference, and exact up to F32 sums for BF16 Y",
  { skip: skip || (dpbf16 ? false : "this build or CPU has no AVX512-BF16") }, () => {
    nat.bf16Path("dpbf16");
    try { withThreads(2, () => check("dpbf16")); withThreads(1, () => check("dpbf16")); } finally { nat.bf16Path("default"); }
  });

test("matmulBf16NN gives bit-identical results on 1 and 2 threads, on both paths", { skip }, () => {
  const rand = rng(43);
  for (const [M, N, K] of [[70, 301, 530], [200, 530, 301]]) {
    const Y = rand32(M * N, rand), W = bf16(rand32(N * K, rand));
    for (const path of ["widen", "dpbf16"] as const) {
      nat.bf16Path(path);
      try { assertThreadsAgree(M * K, X => nat.matmulBf16NN(X, Y, W, M, N, K, false), `${path} ${M}x${N}x${K}`); } finally { nat.bf16Path("default"); }
    }
  }
});

test("matmulBf16NN at many rows on dpbf16: the panel kernel's row chunks (389 rows: 204 + 185) and column chunks (N = 2600), 1 = 2 threads",
  { skip: skip || (dpbf16 ? false : "this build or CPU has no AVX512-BF16") }, () => {
    // a row chunk's packed Y (204 × 2600 BF16) overflows L2, so a task takes its panels (32 columns of X) several at a
    // time (1 thread: runs of 2; 2 threads: one each), each 256-row block of W passing over them in turn
    const rand = rng(45);
    const [M, N, K] = [389, 2600, 200];
    const Y = rand32(M * N, rand), W = bf16(rand32(N * K, rand)), Wf = widen(W);
    const S = absProducts(Y, Wf, M, N, K), sum = (N + 2) * 2 ** -23;
    const want = new Float32Array(M * K);
    ref.matmul(want, widen(bf16(Y)), Wf, M, K, N, false, false, false);
    nat.bf16Path("dpbf16");
    try {
      const one = new Float32Array(M * K), two = new Float32Array(M * K);
      withThreads(1, () => nat.matmulBf16NN(one, Y, W, M, N, K, false));
      withThreads(2, () => nat.matmulBf16NN(two, Y, W, M, N, K, false));
      assertWithin(two, want, S, sum, 0, `${M}x${N}x${K} vs BF16-rounded Y`);
      assert.deepEqual(two, one, `${M}x${N}x${K}: 1 vs 2 threads`);
    } finally { nat.bf16Path("default"); }
  });

test("matmulBf16NN with N = 0 writes zeros, or leaves X alone when accumulating; wrong buffers are TypeErrors", { skip }, () => {
  const X = new Float32Array([1, 2, 3, 4]);
  nat.matmulBf16NN(X, new Float32Array(0), new Uint16Array(0), 2, 0, 2, true);
  assert.deepEqual([...X], [1, 2, 3, 4]);
  nat.matmulBf16NN(X, new Float32Array(0), new Uint16Array(0), 2, 0, 2, false);
  assert.deepEqual([...X], [0, 0, 0, 0]);
  assert.throws(() => nat.matmulBf16NN(X, new Float32Array(4), new Float32Array(4) as unknown as Uint16Array, 2, 2, 2, false), /Uint16Array/);
  assert.throws(() => nat.matmulBf16NN(X, new Float32Array(4), new Uint16Array(3), 2, 2, 2, false), /has 3 elements/);
});

test("reference matmulBf16NN equals matmul on the widened weight (not transposed)", () => {
  const rand = rng(44);
  const [M, N, K] = [3, 5, 7];
  const Y = rand32(M * N, rand), W = bf16(rand32(N * K, rand));
  const got = new Float32Array(M * K), want = new Float32Array(M * K);
  ref.matmulBf16NN(got, Y, W, M, N, K, false);
  ref.matmul(want, Y, widen(W), M, K, N, false, false, false);
  assert.deepEqual(got, want);
});
