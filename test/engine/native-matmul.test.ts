/** Native SGEMM against the reference backend: odd shapes that cross every blocking edge, all transposes, accumulate. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose, nat, rand32, ref, rng, skip, withThreads } from "./native-helpers.js";

// [M, N, K]: 1s, primes around the 12×32 microtile, K past the 256 block, N past the 1024 panel, M past the 192 block
const shapes = [[1, 1, 1], [1, 257, 7], [7, 33, 13], [33, 7, 257], [13, 31, 300], [12, 32, 256], [257, 65, 33],
  [3, 1100, 9], [200, 45, 17], [64, 64, 1], [48, 3, 17], [49, 5, 40]];

test("matmul matches the reference for all transposes, with and without accumulate", { skip }, () => {
  const rand = rng(11);
  for (const [M, N, K] of shapes) for (const transA of [false, true]) for (const transB of [false, true]) {
    const A = rand32(M * K, rand), B = rand32(K * N, rand), C0 = rand32(M * N, rand);
    for (const accumulate of [false, true]) {
      const got = C0.slice(), want = C0.slice();
      nat.matmul(got, A, B, M, N, K, transA, transB, accumulate);
      ref.matmul(want, A, B, M, N, K, transA, transB, accumulate);
      assertClose(got, want, `matmul ${M}x${N}x${K} tA=${transA} tB=${transB} acc=${accumulate}`, 1e-5, 2e-6 * Math.sqrt(K));
    }
  }
});

// Above 2 MFLOP with 2 threads. Up to 384 rows, the small-M path (op(A) packed once, op(B) strip by strip, C in
// column chunks; 300 × 1100 has several chunks per column group): K past the 256 block and up to 2300, edges that
// are not whole microtiles. More rows, the panel path (shared B panel, row × column task grid): N past the 1024
// panel, M past the 192 block, tall-skinny, and K = 2300, whose packed K × N panel is cut to fit 8 MB.
const parallelShapes = [[37, 1100, 300], [300, 70, 530], [1000, 5, 600], [5, 1000, 600], [49, 1025, 257], [12, 2048, 96], [50, 900, 2300],
  [300, 1100, 530], [420, 1100, 300], [390, 900, 2300]];

test("parallel matmul (2 threads, shapes over 2 MFLOP) matches the reference for all transposes and accumulate", { skip }, () => {
  const rand = rng(13);
  withThreads(2, () => {
    for (const [M, N, K] of parallelShapes) for (const transA of [false, true]) for (const transB of [false, true]) {
      const A = rand32(M * K, rand), B = rand32(K * N, rand), C0 = rand32(M * N, rand);
      const want = C0.slice();
      ref.matmul(want, A, B, M, N, K, transA, transB, true);
      const got = C0.slice();
      nat.matmul(got, A, B, M, N, K, transA, transB, true);
      assertClose(got, want, `matmul ${M}x${N}x${K} tA=${transA} tB=${transB} acc`, 1e-5, 2e-6 * Math.sqrt(K));
      for (let i = 0; i < want.length; i++) want[i] -= C0[i];
      const fresh = new Float32Array(M * N).fill(NaN); // written, never read
      nat.matmul(fresh, A, B, M, N, K, transA, transB, false);
      assertClose(fresh, want, `matmul ${M}x${N}x${K} tA=${transA} tB=${transB}`, 1e-5, 4e-6 * Math.sqrt(K));
    }
  });
});

test("matmul with K = 0 writes zeros, or leaves C alone when accumulating", { skip }, () => {
  const C = new Float32Array([1, 2, 3, 4]);
  nat.matmul(C, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, true);
  assert.deepEqual([...C], [1, 2, 3, 4]);
  nat.matmul(C, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, false);
  assert.deepEqual([...C], [0, 0, 0, 0]);
});

test("matmul gives bit-identical results on 1 and 2 threads (the split never changes a sum's order)", { skip }, () => {
  const rand = rng(12);
  for (const [M, N, K, transA, transB] of [[301, 190, 520, false, false], [301, 190, 520, false, true], [301, 190, 520, true, false],
    [150, 1100, 300, true, false], [60, 1100, 300, false, true], [420, 190, 520, false, true], [420, 1100, 300, true, false]] as const) {
    const A = rand32(M * K, rand), B = rand32(K * N, rand);
    const one = withThreads(1, () => { const C = new Float32Array(M * N); nat.matmul(C, A, B, M, N, K, transA, transB, false); return C; });
    const two = withThreads(2, () => { const C = new Float32Array(M * N); nat.matmul(C, A, B, M, N, K, transA, transB, false); return C; });
    assert.deepEqual(two, one);
    const want = new Float32Array(M * N);
    ref.matmul(want, A, B, M, N, K, transA, transB, false);
    assertClose(two, want, `matmul ${M}x${N}x${K}`, 1e-5, 2e-6 * Math.sqrt(K));
  }
});

test("matmul rejects short buffers and float64 buffers with named errors", { skip }, () => {
  const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(3);
  assert.throws(() => nat.matmul(c, a, b, 2, 2, 3, false, false, false), /argument 0 has 3 elements, the shape needs 4/);
  assert.throws(() => nat.matmul(new Float64Array(4), a, b, 2, 2, 3, false, false, false), { name: "NativeDtypeError" });
  assert.throws(() => nat.matmul(new Float32Array(4), a, b, 2, 2, -3, false, false, false), RangeError);
});
