// 16-bit float conversions for checkpoints: IEEE half (F16) and bfloat16 (BF16), both rounded to nearest even.

let f16Table: Float32Array | undefined;

/** Every F16 bit pattern decoded once (256 KB): decoding is then a lookup. */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24; // zero and subnormals
    else if (exp === 0x1f) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/** dst[i] = src[i] decoded from F16 bits. */
export function f16ToF32(src: Uint16Array, dst: Float32Array): void {
  const t = f16ToF32Table();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
}

/** One F32 bit pattern → F16 bits: overflow gives ±Inf, tiny values become subnormals or ±0, NaN stays NaN. */
export function f32BitsToF16(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the correct rounding (up to Inf)
  return sign | h;
}

/** dst[i] = src[i] rounded to F16 bits. */
export function f32ToF16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16(bits[i]);
}

/** dst[i] = src[i] decoded from BF16 bits (the high half of an F32). */
export function bf16ToF32(src: Uint16Array, dst: Float32Array): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
}

/** dst[i] = src[i] rounded to BF16 bits; NaN stays NaN (a quiet bit is forced so rounding cannot make it Inf). */
export function f32ToBf16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) { dst[i] = (b >>> 16) | 0x40; continue; }
    dst[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}
