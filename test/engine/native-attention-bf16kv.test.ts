/**
 * Attention over BF16 keys and values (a BF16 KV cache; native/attention.c attention_kv_bf16) against the reference
 * backend and against the F32 kernel on the exactly widened K/V: GQA ratios, odd head dims, one-token decode steps
 * (the widening dot products) and multi-query blocks (the widened window + GEMMs), KV-cache layouts T < S ≤ Smax with
 * NaN bits past S (never read), key masks that leave whole rows empty, a sliding window with a soft-cap, segments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose, bf16, nat, rand32, ref, rng, skip, widen, withThreads } from "./native-helpers.js";

type Dims = { B: number; T: number; S: number; Smax: number; nh: number; nkv: number; hd: number };
const cases: Dims[] = [
  { B: 1, T: 1, S: 1, Smax: 1, nh: 1, nkv: 1, hd: 1 },
  { B: 2, T: 7, S: 7, Smax: 9, nh: 4, nkv: 2, hd: 17 },
  { B: 2, T: 3, S: 11, Smax: 13, nh: 6, nkv: 2, hd: 16 },   // prefill continuing a cache
  { B: 3, T: 1, S: 20, Smax: 24, nh: 2, nkv: 1, hd: 64 },   // one-token decode step
  { B: 4, T: 1, S: 70, Smax: 80, nh: 14, nkv: 2, hd: 64 },  // decode, Qwen2.5-0.5B's heads
  { B: 2, T: 70, S: 70, Smax: 72, nh: 2, nkv: 2, hd: 64 },  // crosses a 64-query block
];


function inputs(d: Dims, rand: () => number) {
  const nq = d.B * d.T * d.nh * d.hd, nk = d.B * d.Smax * d.nkv * d.hd;
  const q = rand32(nq, rand, 2), k = bf16(rand32(nk, rand, 2)), v = bf16(rand32(nk, rand));
  for (let b = 0; b < d.B; b++) for (let j = d.S; j < d.Smax; j++) for (let i = 0; i < d.nkv * d.hd; i++) {
    const o = (b * d.Smax + j) * d.nkv * d.hd + i; // slots past S: NaN bits, must never be read
    k[o] = 0x7fc0; v[o] = 0x7fc0;
  }
  return { q, k, v, nq };
}

function masks(d: Dims, rand: () => number): [string, Uint8Array | null][] {
  const left = new Uint8Array(d.B * d.Smax).fill(1), holes = new Uint8Array(d.B * d.Smax);
  for (let b = 0; b < d.B; b++) {
    for (let j = 0; j < Math.min(d.S, d.S - d.T + 2 + b); j++) left[b * d.Smax + j] = 0;
    for (let j = 0; j < d.Smax; j++) holes[b * d.Smax + j] = rand() < 0.7 ? 1 : 0;
  }
  return [["no mask", null], ["left padding", left], ["holes", holes]];
}

test("attentionKvBf16 equals attention on the widened K/V (native and reference), over masks, decode and prefill", { skip }, () => {
  const rand = rng(51);
  for (const d of cases) for (const [maskName, mask] of masks(d, rand)) {
    const { B, T, S, Smax, nh, nkv, hd } = d, label = `${JSON.stringify(d)} ${maskName}`;
    const { q, k, v, nq } = inputs(d, rand), kf = widen(k), vf = widen(v);
    const run = (f: (out: Float32Array, lse: Float32Array) => void) => { const out = new Float32Array(nq), lse = new Float32Array(B * nh * T); f(out, lse); return { out, lse }; };
    const want = run((o, l) => ref.attention(o, l, q, kf, vf, mask, B, T, S, Smax, nh, nkv, hd));
    const refBf = run((o, l) => ref.attentionKvBf16(o, l, q, k, v, mask, B, T, S, Smax, nh, nkv, hd));
    assert.deepEqual(refBf.out, want.out, `reference ${label}`);
    for (const threads of [1, 2]) {
      const got = withThreads(threads, () => run((o, l) => nat.attentionKvBf16(o, l, q, k, v, mask, B, T, S, Smax, nh, nkv, hd)));
      assertClose(got.out, want.out, `out ${label} ${threads}t`, 1e-5, 1e-5);
      assertClose(got.lse, want.lse, `lse ${label} ${threads}t`, 1e-5, 1e-5);
    }
    const f32 = run((o, l) => nat.attention(o, l, q, kf, vf, mask, B, T, S, Smax, nh, nkv, hd)); // the same arithmetic on F32 K/V
    const got = run((o, l) => nat.attentionKvBf16(o, l, q, k, v, mask, B, T, S, Smax, nh, nkv, hd));
    assertClose(got.out, f32.out, `vs F32 kernel ${label}`, 1e-6, 1e-6);
  }
});

test("attentionKvBf16 reads masked slots' bits as nothing: NaN patterns there leave out finite (prefill and decode)", { skip }, () => {
  const rand = rng(53);
  for (const d of [{ B: 2, T: 5, S: 12, Smax: 12, nh: 4, nkv: 2, hd: 16 }, { B: 2, T: 1, S: 12, Smax: 12, nh: 4, nkv: 2, hd: 16 }]) {
    const { B, T, S, Smax, nh, nkv, hd } = d, { q, k, v, nq } = inputs(d, rand), mask = new Uint8Array(B * Smax).fill(1);
    for (let b = 0; b < B; b++) for (const j of [0, 3, 4]) { // masked slots holding NaN bits (never written)
      mask[b * Smax + j] = 0;
      for (let i = 0; i < nkv * hd; i++) { k[(b * Smax + j) * nkv * hd + i] = 0x7fc1; v[(b * Smax + j) * nkv * hd + i] = 0xffc1; }
    }
    const out = new Float32Array(nq), lse = new Float32Array(B * nh * T);
    nat.attentionKvBf16(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
    assert.ok(out.every(Number.isFinite), `${JSON.stringify(d)}: non-finite output`);
    const k0 = k.slice(), v0 = v.slice(); // the same with zeros in the masked slots
    for (let i = 0; i < k0.length; i++) { if (k0[i] === 0x7fc1) k0[i] = 0; if (v0[i] === 0xffc1) v0[i] = 0; }
    const want = new Float32Array(nq), wl = new Float32Array(B * nh * T);
    nat.attentionKvBf16(want, wl, q, k0, v0, mask, B, T, S, Smax, nh, nkv, hd);
    assert.deepEqual(out, want);
  }
});

test("attentionKvBf16 with a sliding window, soft-cap, scale and segments matches the reference", { skip }, () => {
  const rand = rng(52);
  for (const d of [{ B: 2, T: 9, S: 9, Smax: 10, nh: 4, nkv: 2, hd: 16 }, { B: 2, T: 1, S: 30, Smax: 32, nh: 4, nkv: 2, hd: 16 }]) {
    const { B, T, S, Smax, nh, nkv, hd } = d, { q, k, v, nq } = inputs(d, rand);
    const seg = new Int32Array(B * Smax).map((_, i) => (i % Smax < 4 ? 0 : 1));
    const out = new Float32Array(nq), lse = new Float32Array(B * nh * T), outR = new Float32Array(nq), lseR = new Float32Array(B * nh * T);
    nat.attentionKvBf16(out, lse, q, k, v, null, B, T, S, Smax, nh, nkv, hd, T > 1 ? seg : null, 5, 0.3, 20);
    ref.attention(outR, lseR, q, widen(k), widen(v), null, B, T, S, Smax, nh, nkv, hd, T > 1 ? seg : null, 5, 0.3, 20);
    assertClose(out, outR, `out ${JSON.stringify(d)}`, 1e-5, 1e-5);
    assertClose(lse, lseR, `lse ${JSON.stringify(d)}`, 1e-5, 1e-5);
  }
});
