/**
 * One-token decode steps (T = 1), which native/attention.c runs a whole GQA group per task (the group's query heads as
 * the rows of S = Q·Kᵀ and O = P·V over the visible keys, gathered once per group), against the reference backend:
 * groups of 1 (MHA, the per-head path), 2 and 7 (Qwen2.5-0.5B), odd S and head dims, KV-cache layouts S < Smax with NaN
 * past S, key masks (left padding whose rows see no key at all, random holes), packed segments, sliding windows, a
 * score scale and soft-cap; F32 and BF16 keys and values; NaN bits in masked slots never reach the output; and results
 * bit-identical on 1 and 2 threads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose, bf16, nat, rand32, ref, rng, skip, widen, withThreads } from "./native-helpers.js";

type Dims = { B: number; S: number; Smax: number; nh: number; nkv: number; hd: number };
const T = 1;
const cases: Dims[] = [
  { B: 1, S: 1, Smax: 1, nh: 2, nkv: 1, hd: 8 },      // one key
  { B: 3, S: 19, Smax: 24, nh: 4, nkv: 4, hd: 17 },   // group of 1 (MHA)
  { B: 2, S: 33, Smax: 35, nh: 4, nkv: 2, hd: 17 },   // group of 2, odd head dim
  { B: 4, S: 77, Smax: 80, nh: 14, nkv: 2, hd: 64 },  // group of 7: Qwen2.5-0.5B's heads
  { B: 2, S: 301, Smax: 301, nh: 7, nkv: 1, hd: 5 },  // one kv head, a key window longer than a GEMM K block (256)
];


/** q, and keys/values as F32 and as BF16 (kf, vf: the BF16 ones widened), with NaN in the slots past S. */
function inputs(d: Dims, rand: () => number) {
  const nq = d.B * T * d.nh * d.hd, nk = d.B * d.Smax * d.nkv * d.hd;
  const q = rand32(nq, rand, 2), k = rand32(nk, rand, 2), v = rand32(nk, rand), kb = bf16(k), vb = bf16(v);
  for (let b = 0; b < d.B; b++) for (let j = d.S; j < d.Smax; j++) for (let i = 0; i < d.nkv * d.hd; i++) {
    const o = (b * d.Smax + j) * d.nkv * d.hd + i; // slots past S: never read
    k[o] = NaN; v[o] = NaN; kb[o] = 0x7fc0; vb[o] = 0x7fc0;
  }
  return { q, k, v, kb, vb, kf: widen(kb), vf: widen(vb), nq };
}

/** No mask; left padding (row 0 sees no key at all, its query slot included); random holes. */
function masks(d: Dims, rand: () => number): [string, Uint8Array | null][] {
  const left = new Uint8Array(d.B * d.Smax).fill(1), holes = new Uint8Array(d.B * d.Smax);
  for (let b = 0; b < d.B; b++) {
    const pad = b === 0 ? d.S : Math.min(d.S - 1, 3 * b + 1);
    for (let j = 0; j < pad; j++) left[b * d.Smax + j] = 0;
    for (let j = 0; j < d.Smax; j++) holes[b * d.Smax + j] = rand() < 0.6 ? 1 : 0;
  }
  return [["no mask", null], ["left padding", left], ["holes", holes]];
}

type Opts = { seg?: Int32Array | null; window?: number; scale?: number; cap?: number };

function run(d: Dims, f: (out: Float32Array, lse: Float32Array) => void) {
  const out = new Float32Array(d.B * T * d.nh * d.hd), lse = new Float32Array(d.B * d.nh * T);
  f(out, lse);
  return { out, lse };
}

/** Native F32 and BF16 KV against the reference on the same (widened) keys and values, on 1 and 2 threads. */
function check(d: Dims, mask: Uint8Array | null, o: Opts, label: string, rand: () => number) {
  const { B, S, Smax, nh, nkv, hd } = d, { q, k, v, kb, vb, kf, vf } = inputs(d, rand);
  const { seg = null, window = 0, scale = 1 / Math.sqrt(hd), cap = 0 } = o;
  const want = run(d, (out, lse) => ref.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale, cap));
  const wantB = run(d, (out, lse) => ref.attention(out, lse, q, kf, vf, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale, cap));
  for (const threads of [1, 2]) {
    const got = withThreads(threads, () => run(d, (out, lse) => nat.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale, cap)));
    assertClose(got.out, want.out, `out F32 ${label} ${threads}t`, 1e-5, 1e-5);
    assertClose(got.lse, want.lse, `lse F32 ${label} ${threads}t`, 1e-5, 1e-5);
    const gotB = withThreads(threads, () => run(d, (out, lse) => nat.attentionKvBf16(out, lse, q, kb, vb, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale, cap)));
    assertClose(gotB.out, wantB.out, `out BF16 ${label} ${threads}t`, 1e-5, 1e-5);
    assertClose(gotB.lse, wantB.lse, `lse BF16 ${label} ${threads}t`, 1e-5, 1e-5);
  }
  return want;
}

test("decode attention (T = 1) matches the reference over GQA groups 1, 2, 7, key masks, F32 and BF16 KV", { skip }, () => {
  const rand = rng(61);
  for (const d of cases) for (const [maskName, mask] of masks(d, rand)) {
    const want = check(d, mask, {}, `${JSON.stringify(d)} ${maskName}`, rand);
    if (maskName === "left padding") assert.ok(want.lse.includes(-Infinity), `${JSON.stringify(d)}: row 0 must see no key`);
    if (maskName === "left padding") assert.ok(want.out.slice(0, d.nh * d.hd).every(x => x === 0));
  }
});

test("decode attention with segments, sliding windows, a scale and a soft-cap matches the reference", { skip }, () => {
  const rand = rng(62);
  for (const d of cases.slice(1)) {
    const { B, Smax, S } = d;
    // segments: row b's last segment starts at a different key; the query (key S − 1) sees only its own
    const seg = new Int32Array(B * Smax).map((_, i) => (i % Smax < Math.min(S - 1, 2 + 5 * Math.floor(i / Smax)) ? 3 : 8));
    for (const [maskName, mask] of masks(d, rand)) {
      const label = `${JSON.stringify(d)} ${maskName}`;
      check(d, mask, { seg }, `${label} segments`, rand);
      for (const window of [1, 4, S - 2, S + 3]) check(d, mask, { window }, `${label} window ${window}`, rand);
      check(d, mask, { seg, window: 6, scale: 0.3, cap: 20 }, `${label} segments, window 6, scale, soft-cap`, rand);
    }
  }
});

test("decode attention never reads masked slots: NaN bits there leave the output as with zeros (F32 and BF16 KV)", { skip }, () => {
  const rand = rng(63);
  for (const d of [{ B: 3, S: 40, Smax: 40, nh: 14, nkv: 2, hd: 64 }, { B: 3, S: 40, Smax: 40, nh: 4, nkv: 4, hd: 16 }]) {
    const { B, S, Smax, nh, nkv, hd } = d, { q, k, v, kb, vb } = inputs(d, rand), mask = new Uint8Array(B * Smax).fill(1);
    const k0 = k.slice(), v0 = v.slice(), kb0 = kb.slice(), vb0 = vb.slice();
    for (let b = 0; b < B; b++) for (const j of [0, 5, 6, 30]) {
      mask[b * Smax + j] = 0;
      for (let i = 0; i < nkv * hd; i++) {
        const o = (b * Smax + j) * nkv * hd + i;
        k[o] = NaN; v[o] = -Infinity; kb[o] = 0x7fc1; vb[o] = 0xffc1;
        k0[o] = v0[o] = 0; kb0[o] = vb0[o] = 0;
      }
    }
    const f32 = run(d, (out, lse) => nat.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd));
    const f32z = run(d, (out, lse) => nat.attention(out, lse, q, k0, v0, mask, B, T, S, Smax, nh, nkv, hd));
    const b16 = run(d, (out, lse) => nat.attentionKvBf16(out, lse, q, kb, vb, mask, B, T, S, Smax, nh, nkv, hd));
    const b16z = run(d, (out, lse) => nat.attentionKvBf16(out, lse, q, kb0, vb0, mask, B, T, S, Smax, nh, nkv, hd));
    assert.ok(f32.out.every(Number.isFinite) && b16.out.every(Number.isFinite), `${JSON.stringify(d)}: non-finite output`);
    assert.deepEqual(f32, f32z, `F32 ${JSON.stringify(d)}`);
    assert.deepEqual(b16, b16z, `BF16 ${JSON.stringify(d)}`);
  }
});

test("decode attention is bit-identical on 1 and 2 threads (F32 and BF16 KV, groups 1 and 7)", { skip }, () => {
  for (const d of [{ B: 8, S: 200, Smax: 210, nh: 14, nkv: 2, hd: 64 }, { B: 8, S: 200, Smax: 210, nh: 4, nkv: 4, hd: 64 }]) {
    const { B, S, Smax, nh, nkv, hd } = d, { q, k, v, kb, vb } = inputs(d, rng(64));
    assert.ok(B * nh * S * hd >= 1e5, "large enough to run on the pool");
    const mask = new Uint8Array(B * Smax).fill(1);
    for (let b = 0; b < B; b++) for (let j = 0; j < 3 * b; j++) mask[b * Smax + j] = 0;
    for (const m of [null, mask]) {
      const both = () => [run(d, (out, lse) => nat.attention(out, lse, q, k, v, m, B, T, S, Smax, nh, nkv, hd)),
        run(d, (out, lse) => nat.attentionKvBf16(out, lse, q, kb, vb, m, B, T, S, Smax, nh, nkv, hd))];
      assert.deepEqual(withThreads(2, both), withThreads(1, both), `${JSON.stringify(d)} ${m ? "masked" : "no mask"}`);
    }
  }
});
