/**
 * Native causal GQA attention against the reference backend: GQA ratios, odd head dims, KV-cache layouts
 * (T < S ≤ Smax, with NaN past S to prove it is never read), key masks that leave whole query rows empty.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose, nat, rand32, ref, rng, skip, withThreads } from "./native-helpers.js";

type Dims = { B: number; T: number; S: number; Smax: number; nh: number; nkv: number; hd: number };
const cases: Dims[] = [
  { B: 1, T: 1, S: 1, Smax: 1, nh: 1, nkv: 1, hd: 1 },
  { B: 2, T: 7, S: 7, Smax: 7, nh: 4, nkv: 4, hd: 8 },
  { B: 2, T: 7, S: 7, Smax: 9, nh: 4, nkv: 2, hd: 17 },
  { B: 1, T: 33, S: 33, Smax: 33, nh: 4, nkv: 1, hd: 33 },
  { B: 2, T: 3, S: 11, Smax: 13, nh: 6, nkv: 2, hd: 16 },   // prefill continuing a KV cache
  { B: 3, T: 1, S: 20, Smax: 24, nh: 2, nkv: 1, hd: 64 },   // one-token decode step
  { B: 2, T: 37, S: 37, Smax: 40, nh: 2, nkv: 2, hd: 64 },  // crosses the 4- and 16-query blocks
];

/** Key masks: none; left padding whose early queries see no key at all; and random holes. */
function masks(d: Dims, rand: () => number): [string, Uint8Array | null][] {
  const left = new Uint8Array(d.B * d.Smax).fill(1), holes = new Uint8Array(d.B * d.Smax);
  for (let b = 0; b < d.B; b++) {
    const pad = Math.min(d.S, (d.S - d.T) + 2 + b); // rows b: the first queries sit on masked keys only
    for (let j = 0; j < pad; j++) left[b * d.Smax + j] = 0;
    for (let j = 0; j < d.Smax; j++) holes[b * d.Smax + j] = rand() < 0.7 ? 1 : 0;
  }
  return [["no mask", null], ["left padding", left], ["holes", holes]];
}

function inputs(d: Dims, rand: () => number) {
  const nq = d.B * d.T * d.nh * d.hd, nk = d.B * d.Smax * d.nkv * d.hd;
  const q = rand32(nq, rand, 2), k = rand32(nk, rand, 2), v = rand32(nk, rand);
  for (let b = 0; b < d.B; b++) for (let j = d.S; j < d.Smax; j++) for (let i = 0; i < d.nkv * d.hd; i++) {
    const o = (b * d.Smax + j) * d.nkv * d.hd + i; // cache slots past S: must never be read
    k[o] = NaN; v[o] = NaN;
  }
  return { q, k, v, nq, nk };
}

test("attention forward and backward match the reference", { skip }, () => {
  const rand = rng(31);
  for (const d of cases) for (const [maskName, mask] of masks(d, rand)) {
    const { B, T, S, Smax, nh, nkv, hd } = d, label = `${JSON.stringify(d)} ${maskName}`;
    const { q, k, v, nq, nk } = inputs(d, rand);
    const outN = new Float32Array(nq), lseN = new Float32Array(B * nh * T), outR = new Float32Array(nq), lseR = new Float32Array(B * nh * T);
    nat.attention(outN, lseN, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
    ref.attention(outR, lseR, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
    assertClose(outN, outR, `out ${label}`, 1e-5, 1e-5);
    assertClose(lseN, lseR, `lse ${label}`, 1e-5, 1e-5);
    if (maskName === "left padding") assert.ok(lseR.includes(-Infinity), `${label}: some query row must see no key`);

    const dout = rand32(nq, rand), dq0 = rand32(nq, rand), dk0 = rand32(nk, rand), dv0 = rand32(nk, rand);
    const [dqN, dkN, dvN] = [dq0.slice(), dk0.slice(), dv0.slice()], [dqR, dkR, dvR] = [dq0.slice(), dk0.slice(), dv0.slice()];
    nat.attentionBackward(dqN, dkN, dvN, dout, outR, lseR, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
    ref.attentionBackward(dqR, dkR, dvR, dout, outR, lseR, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
    assertClose(dqN, dqR, `dq ${label}`, 1e-4, 1e-5);
    assertClose(dkN, dkR, `dk ${label}`, 1e-4, 1e-5);
    assertClose(dvN, dvR, `dv ${label}`, 1e-4, 1e-5);
  }
});

test("attention is bit-identical on 1 and 2 threads", { skip }, () => {
  const d = { B: 2, T: 64, S: 64, Smax: 64, nh: 4, nkv: 2, hd: 32 }, { B, T, S, Smax, nh, nkv, hd } = d;
  const { q, k, v, nq, nk } = inputs(d, rng(32));
  const dout = rand32(nq, rng(33));
  const run = () => {
    const out = new Float32Array(nq), lse = new Float32Array(B * nh * T), dq = new Float32Array(nq), dk = new Float32Array(nk), dv = new Float32Array(nk);
    nat.attention(out, lse, q, k, v, null, B, T, S, Smax, nh, nkv, hd);
    nat.attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, null, B, T, S, Smax, nh, nkv, hd);
    return [out, lse, dq, dk, dv];
  };
  assert.deepEqual(withThreads(2, run), withThreads(1, run));
});

test("attention rejects inconsistent shapes", { skip }, () => {
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => nat.attention(f(16), f(4), f(16), f(16), f(16), null, 1, 2, 2, 2, 3, 2, 4), /nkv/);
  assert.throws(() => nat.attention(f(16), f(4), f(16), f(16), f(16), null, 1, 3, 2, 2, 2, 2, 4), /T\) must be <= S/);
  assert.throws(() => nat.attention(f(16), f(4), f(16), f(16), f(16), new Uint8Array(1), 1, 2, 2, 2, 2, 2, 4), /argument 5 has 1 elements/);
});
