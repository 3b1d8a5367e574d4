/**
 * Segment-masked attention (packed sequences): a query sees only keys of its own segment.
 * Reference: each segment of a packed row equals that segment run alone through the unsegmented kernel, and the
 * backward matches float64 finite differences. Native: matches the reference (forward and backward, GQA, key
 * masks, KV-cache layouts, blocks of 64 queries spanning several segments, non-contiguous ids), and with one
 * segment per row it is bit-identical to the kernel without segments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NativeAddonOutdatedError, NativeBackend, type Buf } from "../../src/engine/index.js";
import { loadAddon, type Addon } from "../../src/engine/native.js";
import { referenceBackend as be } from "../../src/engine/reference.js";
import { checkGrad, dot, randn64, rng } from "../model/finite-diff.js";
import { assertClose, nat, rand32, skip } from "./native-helpers.js";

const segSkip = skip || (loadAddon()!.segmentAttention ? false : "the native addon predates segment attention (run `node scripts/build-native.mjs`)");

type Dims = { B: number; T: number; S: number; Smax: number; nh: number; nkv: number; hd: number };

/** Segment ids [B,Smax] from per-row lists of segment lengths (the rest of each row gets id 99). */
function segmentsOf(d: Dims, rows: number[][]): Int32Array {
  const seg = new Int32Array(d.B * d.Smax).fill(99);
  rows.forEach((lens, b) => { let j = 0; lens.forEach((n, s) => { for (let i = 0; i < n; i++) seg[b * d.Smax + j++] = s; }); });
  return seg;
}

test("reference: each segment of a packed row equals the segment attended alone, and other segments get no gradient", () => {
  const rand = rng(41);
  const d = { B: 1, T: 9, S: 9, Smax: 9, nh: 4, nkv: 2, hd: 4 }, lens = [3, 4, 2];
  const Q = d.nh * d.hd, K = d.nkv * d.hd;
  const q = randn64(d.T * Q, rand), k = randn64(d.T * K, rand), v = randn64(d.T * K, rand), seg = segmentsOf(d, [lens]);
  const out = new Float64Array(d.T * Q), lse = new Float64Array(d.nh * d.T);
  be.attention(out, lse, q, k, v, null, 1, d.T, d.S, d.Smax, d.nh, d.nkv, d.hd, seg);
  let start = 0;
  for (const n of lens) {
    const part = (x: Float64Array, w: number) => x.slice(start * w, (start + n) * w);
    const o = new Float64Array(n * Q), l = new Float64Array(d.nh * n);
    be.attention(o, l, part(q, Q), part(k, K), part(v, K), null, 1, n, n, n, d.nh, d.nkv, d.hd);
    assert.deepEqual(part(out, Q), o, `segment at ${start}`);
    for (let h = 0; h < d.nh; h++) for (let t = 0; t < n; t++) assert.equal(lse[h * d.T + start + t], l[h * n + t]);
    start += n;
  }
  // A loss on the middle segment only: the keys and values of the other segments get exactly zero gradient.
  const c = new Float64Array(d.T * Q);
  for (let i = 3 * Q; i < 7 * Q; i++) c[i] = rand() - 0.5;
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  be.attentionBackward(dq, dk, dv, c, out, lse, q, k, v, null, 1, d.T, d.S, d.Smax, d.nh, d.nkv, d.hd, seg);
  for (const t of [0, 1, 2, 7, 8]) for (let i = 0; i < K; i++) { assert.equal(dk[t * K + i], 0); assert.equal(dv[t * K + i], 0); }
  assert.ok(dk.slice(3 * K, 7 * K).some(x => x !== 0));
});

test("reference: segment-masked backward (GQA, key mask, T < S) matches float64 finite differences", () => {
  const rand = rng(42);
  const B = 2, T = 4, S = 6, Smax = 7, nh = 4, nkv = 2, hd = 3;
  const q = randn64(B * T * nh * hd, rand), k = randn64(B * Smax * nkv * hd, rand), v = randn64(B * Smax * nkv * hd, rand);
  const mask = Uint8Array.of(1, 1, 0, 1, 1, 1, 1, /* row 1 */ 0, 1, 1, 1, 1, 1, 1);
  const seg = Int32Array.of(0, 0, 1, 1, 1, 2, 2, /* row 1: non-contiguous ids */ 5, 5, 7, 5, 7, 7, 7);
  const c = randn64(B * T * nh * hd, rand);
  const out = new Float64Array(B * T * nh * hd), lse = new Float64Array(B * nh * T);
  const loss = () => { be.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg); return dot(c, out); };
  loss();
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  be.attentionBackward(dq, dk, dv, c, out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg);
  checkGrad("q", q, loss, dq);
  checkGrad("k", k, loss, dk);
  checkGrad("v", v, loss, dv);
  // Row 0's queries sit at keys 2..5: key 0 and 1 are segment 0, never seen; row 1's key 1 (id 5) is seen by query at key 3 only.
  for (const slot of [0, 1]) for (let i = 0; i < nkv * hd; i++) assert.equal(dk[slot * nkv * hd + i], 0);
  assert.ok(dk.slice((Smax + 1) * nkv * hd, (Smax + 2) * nkv * hd).some(x => x !== 0));
});

const cases: { d: Dims; rows: number[][] }[] = [
  { d: { B: 2, T: 9, S: 9, Smax: 9, nh: 4, nkv: 2, hd: 8 }, rows: [[3, 4, 2], [9]] },
  { d: { B: 1, T: 150, S: 150, Smax: 150, nh: 2, nkv: 1, hd: 33 }, rows: [[20, 50, 1, 60, 19]] }, // blocks of 64 span segments
  { d: { B: 2, T: 130, S: 130, Smax: 133, nh: 4, nkv: 4, hd: 16 }, rows: [[70, 60], [1, 1, 1, 64, 63]] },
  { d: { B: 2, T: 5, S: 12, Smax: 14, nh: 6, nkv: 2, hd: 16 }, rows: [[4, 8], [7, 3, 2]] },    // prefill continuing a cache
  { d: { B: 3, T: 1, S: 20, Smax: 24, nh: 2, nkv: 1, hd: 64 }, rows: [[10, 10], [20], [19, 1]] }, // one-token decode step
];

test("native segment-masked attention matches the reference (forward and backward)", { skip: segSkip }, () => {
  const rand = rng(43);
  for (const { d, rows } of cases) {
    const { B, T, S, Smax, nh, nkv, hd } = d, nq = B * T * nh * hd, nk = B * Smax * nkv * hd;
    const q = rand32(nq, rand, 2), k = rand32(nk, rand, 2), v = rand32(nk, rand);
    for (let b = 0; b < B; b++) for (let j = S; j < Smax; j++) for (let i = 0; i < nkv * hd; i++) { k[(b * Smax + j) * nkv * hd + i] = NaN; v[(b * Smax + j) * nkv * hd + i] = NaN; }
    const contiguous = segmentsOf(d, rows), scattered = Int32Array.from(contiguous, (s, j) => (j % 3 === 0 ? 0 : s));
    const holes = Uint8Array.from({ length: B * Smax }, () => (rand() < 0.8 ? 1 : 0));
    for (const [name, seg, mask] of [["contiguous", contiguous, null], ["scattered ids + key holes", scattered, holes]] as const) {
      const label = `${JSON.stringify(d)} ${name}`;
      const run = (x: typeof nat | typeof be) => {
        const out = new Float32Array(nq), lse = new Float32Array(B * nh * T);
        x.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg);
        return { out, lse };
      };
      const n = run(nat), r = run(be);
      assertClose(n.out, r.out, `out ${label}`, 1e-5, 1e-5);
      assertClose(n.lse, r.lse, `lse ${label}`, 1e-5, 1e-5);
      const dout = rand32(nq, rand), grads = () => [rand32(nq, rng(1)), rand32(nk, rng(2)), rand32(nk, rng(3))];
      const gn = grads(), gr = grads();
      nat.attentionBackward(gn[0], gn[1], gn[2], dout, r.out, r.lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg);
      be.attentionBackward(gr[0], gr[1], gr[2], dout, r.out, r.lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg);
      ["dq", "dk", "dv"].forEach((g, i) => assertClose(gn[i], gr[i], `${g} ${label}`, 1e-4, 1e-5));
    }
  }
});

test("native: one segment per row is bit-identical to no segments; the ids are length-checked", { skip: segSkip }, () => {
  const rand = rng(44);
  const B = 2, T = 70, nh = 2, nkv = 1, hd = 32, nq = B * T * nh * hd, nk = B * T * nkv * hd;
  const q = rand32(nq, rand, 2), k = rand32(nk, rand, 2), v = rand32(nk, rand), dout = rand32(nq, rand);
  const run = (seg: Int32Array | null) => {
    const out = new Float32Array(nq), lse = new Float32Array(B * nh * T), dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
    nat.attention(out, lse, q, k, v, null, B, T, T, T, nh, nkv, hd, seg);
    nat.attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, null, B, T, T, T, nh, nkv, hd, seg);
    return [out, lse, dq, dk, dv];
  };
  assert.deepEqual(run(new Int32Array(B * T).fill(3)), run(null));
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => nat.attention(f(16), f(4), f(16), f(16), f(16), null, 1, 2, 2, 2, 2, 2, 4, new Int32Array(1)), /argument 13 has 1 elements/);
});

test("native: an addon built before segment attention refuses segment ids instead of ignoring them", { skip }, () => {
  const stale = new NativeBackend({ ...loadAddon()!, segmentAttention: undefined } as Addon);
  const f = (n: number): Buf => new Float32Array(n);
  assert.throws(() => stale.attention(f(8), f(2), f(8), f(8), f(8), null, 1, 2, 2, 2, 1, 1, 4, Int32Array.of(0, 1)), NativeAddonOutdatedError);
  stale.attention(f(8), f(2), f(8), f(8), f(8), null, 1, 2, 2, 2, 1, 1, 4); // without segments it still works
});
