import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32, f16ToF32, f32BitsToF16, f32ToBf16, f32ToF16 } from "../../src/model/io/half.js";

const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const toF16 = (x: number) => f32BitsToF16(bitsOf(x));

test("f16: IEEE bit patterns of known values", () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00],
    [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [2 ** -14, 0x0400],
    [1 / 3, 0x3555], [0.1, 0x2e66], [1 + 2 ** -11, 0x3c00] /* tie → even */, [1 + 3 * 2 ** -11, 0x3c02] /* tie → even */,
  ];
  for (const [x, h] of cases) assert.equal(toF16(x), h, `f16(${x})`);
  assert.equal(toF16(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(toF16(NaN) & 0x3ff, 0);
});

test("f16: every finite half decodes and re-encodes to itself; midpoints round to even", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = new Float32Array(65536);
  f16ToF32(all, f);
  const back = new Uint16Array(65536);
  f32ToF16(f, back);
  for (let h = 0; h < 65536; h++) {
    if (((h >> 10) & 0x1f) === 0x1f && h & 0x3ff) { assert.ok(Number.isNaN(f[h])); continue; }
    assert.equal(back[h], h, `half 0x${h.toString(16)}`);
  }
  // halfway between consecutive positive finite halves h and h+1: rounds to the even one
  for (let h = 0; h < 0x7bff; h += 97) {
    const mid = (f[h] + f[h + 1]) / 2;
    assert.equal(toF16(mid), h % 2 === 0 ? h : h + 1, `midpoint after 0x${h.toString(16)}`);
  }
});

test("bf16: truncates to the high half with round-to-nearest-even", () => {
  const src = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.4e38, NaN, Infinity]);
  const h = new Uint16Array(src.length);
  f32ToBf16(src, h);
  assert.deepEqual([...h.subarray(0, 5)], [0x3f80, 0xc020, 0x3f80, 0x3f82, 0x3f81]);
  assert.equal(h[5], 0x7f80, "3.4e38 rounds up to Inf in bf16");
  const back = new Float32Array(src.length);
  bf16ToF32(h, back);
  assert.ok(Number.isNaN(back[6]));
  assert.equal(back[7], Infinity);
  assert.equal(back[1], -2.5);
});
