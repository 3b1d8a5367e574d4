/**
 * BF16-weight matmul at decode sizes (native/gemm_bf16.c): every M from 1 to 70 (the batched decode step's rows; from
 * 2 rows the dpbf16 path runs the packed panel kernel, gemm_bf16_panel), and M = 95, 96, 97, 130, 257 (training's many
 * rows, which since 7 Dec 2026 run the same panel kernel on dpbf16, and from 96 rows W widened for the F32 SGEMM on
 * widen), N not a multiple of the 32-row panel, K not a multiple of 32 and over several K blocks, accumulate on and
 * off, on both paths (dpbf16 and widen). Each product is
 * checked against the reference backend (bounds as in native-bf16.test.ts, with S = Σ_k |a_k|·|w_k|) and against the
 * one-row path of the same kernel (the product computed row by row, M = 1, which reads W in place: row_dp / row_widen),
 * which differs only in the order of F32 sums: |err| ≤ 2·(K + 2)·2⁻²³·S.
 * Also: the default path is the dpbf16 one on a CPU that has AVX512-BF16 (the same bits as forcing it, at decode and
 * training row counts, for matmulBf16 and matmulBf16NN), and a wide N
 * (an LM head's many panels with a partial last one) gives the same bits on 1 and 2 threads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { absProducts, bf16, nat, rand32, ref, rng, skip, widen, withThreads } from "./native-helpers.js";



function assertWithin(got: Float32Array, want: Float32Array, S: Float64Array, rel: number, slack: number, label: string): void {
  for (let i = 0; i < want.length; i++) {
    const bound = rel * S[i] + slack + 1e-30;
    assert.ok(Math.abs(got[i] - want[i]) <= bound, `${label}[${i}]: native ${got[i]} vs ${want[i]} (bound ${bound})`);
  }
}

/** [N, K] pairs: N around the 32-row panel (1, 31, 33, 67, 96), K short, odd, and over the 256-value K blocks (257, 530) */
const NK: [number, number][] = [[33, 63], [67, 530], [1, 257], [31, 17], [64, 96], [45, 1], [96, 301], [5, 33]];

function product(path: "widen" | "dpbf16", M: number, N: number, K: number, rand: () => number): void {
  const A = rand32(M * K, rand), W = bf16(rand32(N * K, rand)), C0 = rand32(M * N, rand);
  const Wf = widen(W), S = absProducts(A, Wf, M, N, K), sum = (K + 2) * 2 ** -23;
  const want = new Float32Array(M * N);
  ref.matmul(want, path === "dpbf16" ? widen(bf16(A)) : A, Wf, M, N, K, false, true, false);
  // row by row: M = 1 calls take the one-row kernel, which reads W in place
  const rows = new Float32Array(M * N);
  for (let i = 0; i < M; i++) nat.matmulBf16(rows.subarray(i * N, (i + 1) * N), A.subarray(i * K, (i + 1) * K), W, 1, N, K, false);
  for (const accumulate of [false, true]) {
    const label = `${path} ${M}x${N}x${K} acc=${accumulate}`;
    const got = accumulate ? C0.slice() : new Float32Array(M * N).fill(NaN); // written, never read
    nat.matmulBf16(got, A, W, M, N, K, accumulate);
    if (accumulate) for (let i = 0; i < got.length; i++) got[i] -= C0[i];
    const slack = accumulate ? 2 * 2 ** -23 : 0; // adding C0 (|C0| ≤ 1) and taking it off again: two F32 roundings
    assertWithin(got, want, S, sum, slack, label + (path === "dpbf16" ? " vs reference (BF16-rounded A)" : " vs reference"));
    if (path === "dpbf16") {
      const exact = new Float32Array(M * N);
      ref.matmul(exact, A, Wf, M, N, K, false, true, false);
      assertWithin(got, exact, S, 2 ** -8 + sum, slack, label + " vs reference (F32 A)");
    }
    assertWithin(got, rows, S, 2 * sum, slack, label + " vs row by row");
  }
}

function allM(path: "widen" | "dpbf16"): void {
  const rand = rng(path === "widen" ? 41 : 42);
  for (const M of [...Array.from({ length: 70 }, (_, i) => i + 1), 95, 96, 97, 130, 257])
    for (const s of [NK[M % NK.length], NK[(M + 3) % NK.length]]) product(path, M, s[0], s[1], rand);
}

const dpbf16 = !skip && nat.bf16Path() === "dpbf16";

test("matmulBf16 at M = 1…70 and 95…257, dpbf16 path (the panel kernel from 2 rows): reference bounds, and the row-by-row product",
  { skip: skip || (dpbf16 ? false : "this build or CPU has no AVX512-BF16") }, () => {
    nat.bf16Path("dpbf16");
    try { withThreads(2, () => allM("dpbf16")); } finally { nat.bf16Path("default"); }
  });

test("matmulBf16 at M = 1…70 and 95…257, widen path: reference bounds, and the row-by-row product", { skip }, () => {
  nat.bf16Path("widen");
  try { withThreads(2, () => allM("widen")); } finally { nat.bf16Path("default"); }
});

test("the default BF16 path is dpbf16 on a CPU with AVX512-BF16 (matmulBf16 and matmulBf16NN, decode and training rows): the same bits as forcing it, not the widen path's",
  { skip: skip || (dpbf16 ? false : "this build or CPU has no AVX512-BF16") }, () => {
    const rand = rng(43);
    for (const [M, N, K] of [[1, 40, 300], [8, 70, 300], [32, 33, 530], [130, 45, 300], [257, 70, 97]])
      for (const nn of [false, true]) {
        // nn: X[M,K] = Y[M,N]·W with the same W [N,K] (A is Y: M × N)
        const A = rand32(M * (nn ? N : K), rand), W = bf16(rand32(N * K, rand));
        const run = (path: "widen" | "dpbf16" | "default") => {
          nat.bf16Path(path);
          try {
            const C = new Float32Array(M * (nn ? K : N));
            if (nn) nat.matmulBf16NN(C, A, W, M, N, K, false); else nat.matmulBf16(C, A, W, M, N, K, false);
            return C;
          } finally { nat.bf16Path("default"); }
        };
        const label = `${nn ? "matmulBf16NN" : "matmulBf16"} ${M}x${N}x${K}`;
        assert.equal(nat.bf16Path(), "dpbf16");
        const def = run("default");
        assert.deepEqual(def, run("dpbf16"), `${label}: default vs dpbf16`);
        assert.notDeepEqual(def, run("widen"), `${label}: the default must not be the widen path`);
      }
  });

test("matmulBf16 over a wide N (many panels, a partial last one; the LM head's shape): reference bounds, 1 = 2 threads",
  { skip }, () => {
    const rand = rng(44);
    for (const [M, N, K] of [[8, 5003, 200], [37, 2011, 130]]) {
      const A = rand32(M * K, rand), W = bf16(rand32(N * K, rand)), Wf = widen(W);
      const S = absProducts(A, Wf, M, N, K), sum = (K + 2) * 2 ** -23;
      const want = new Float32Array(M * N);
      ref.matmul(want, nat.bf16Path() === "dpbf16" ? widen(bf16(A)) : A, Wf, M, N, K, false, true, false);
      const one = new Float32Array(M * N), two = new Float32Array(M * N);
      withThreads(1, () => nat.matmulBf16(one, A, W, M, N, K, false));
      withThreads(2, () => nat.matmulBf16(two, A, W, M, N, K, false));
      assertWithin(two, want, S, sum, 0, `${M}x${N}x${K}`);
      assert.deepEqual(two, one, `${M}x${N}x${K}: 1 vs 2 threads`);
    }
  });
