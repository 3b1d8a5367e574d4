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

test("matmul with K = 0 writes zeros, or leaves C alone when accumulating", { skip }, () => {
  const C = new Float32Array([1, 2, 3, 4]);
  nat.matmul(C, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, true);
  assert.deepEqual([...C], [1, 2, 3, 4]);
  nat.matmul(C, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, false);
  assert.deepEqual([...C], [0, 0, 0, 0]);
});

test("matmul gives bit-identical results on 1 and 2 threads (the split never changes a sum's order)", { skip }, () => {
  const rand = rng(12);
  const M = 301, N = 190, K = 520;
  for (const [transA, transB] of [[false, false], [false, true], [true, false]]) {
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
