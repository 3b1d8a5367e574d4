// GGUF v3 container (llama.cpp's model file): little-endian header, typed key/values, tensor infos, then
// tensor data aligned to 32 bytes. Layout rules are in /work/shared/gguf-notes.md; types are strict because
// llama.cpp's loader checks them (a u32 key written as i32 is refused).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { GgufFormatError } from "./errors.js";
import { bf16ToF32, f16ToF32, f32BitsToF16, f32ToBf16, f32ToF16 } from "./half.js";
import { writeAll, writeFileStreamed } from "./write-stream.js";

export const GGUF_ALIGNMENT = 32;
const TYPE_CODES = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
export type GgufScalarType = Exclude<keyof typeof TYPE_CODES, "array">;
type Scalar = number | bigint | boolean | string;
export type GgufValue =
  | { type: GgufScalarType; value: Scalar }
  | { type: "array"; itemType: GgufScalarType; value: Scalar[] };

/** ggml tensor types written here (ggml.h's enum ggml_type). */
export const GGML_TYPES = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export type GgmlType = keyof typeof GGML_TYPES;

/** Q8_0 (ggml-common.h block_q8_0): blocks of 32 values along a row, each an F16 scale d then 32 int8s q; x ≈ d·q. */
export const Q8_0_BLOCK = 32;
const Q8_0_BYTES = 2 + Q8_0_BLOCK;

/** Bytes of `n` values of a ggml type (n a multiple of 32 for Q8_0). */
export function ggmlTypeBytes(type: GgmlType, n: number): number {
  return type === "F32" ? 4 * n : type === "Q8_0" ? (n / Q8_0_BLOCK) * Q8_0_BYTES : 2 * n;
}

/**
 * Quantizes `src` (a multiple of 32 values) to Q8_0 blocks in `dst` as ggml's quantize_row_q8_0_ref does: d = max|x| / 127
 * in F32, stored as F16; q = round(x / d) half away from zero, with 1/d computed in F32 (0 for an all-zero block).
 */
export function quantizeQ8_0(src: Float32Array, dst: Uint8Array): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const f = Math.fround, dBits = new Uint32Array(1), dF32 = new Float32Array(dBits.buffer);
  for (let b = 0, o = 0; b < src.length; b += Q8_0_BLOCK, o += Q8_0_BYTES) {
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(src[b + j]));
    const d = f(amax / 127), id = d ? f(1 / d) : 0;
    dF32[0] = d;
    view.setUint16(o, f32BitsToF16(dBits[0]), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const x = f(src[b + j] * id);
      view.setInt8(o + 2 + j, Math.sign(x) * Math.round(Math.abs(x)));
    }
  }
}

/** Q8_0 blocks back to F32: x = d·q (ggml's dequantize_row_q8_0). */
export function dequantizeQ8_0(src: Uint8Array, dst: Float32Array): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const d16 = new Uint16Array(1), d32 = new Float32Array(1);
  for (let b = 0, o = 0; b < dst.length; b += Q8_0_BLOCK, o += Q8_0_BYTES) {
    d16[0] = view.getUint16(o, true);
    f16ToF32(d16, d32);
    for (let j = 0; j < Q8_0_BLOCK; j++) dst[b + j] = d32[0] * view.getInt8(o + 2 + j);
  }
}

/** Tensor values, or a function that produces them when the writer reaches the tensor (so a file streams). */
export type TensorSource = Float32Array | (() => Float32Array);

export interface GgufTensor {
  name: string;
  /** Row-major (PyTorch) shape; written reversed as ggml's ne (innermost first). */
  shape: number[];
  type: GgmlType;
  data: TensorSource;
}

const pad = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
const CHUNK = 1 << 24;

/** Growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number) { this.room(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  u64(v: number | bigint) { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  string(s: string) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.room(b.length); b.copy(this.buf, this.length); this.length += b.length; }
  scalar(type: GgufScalarType, v: Scalar) {
    const w = (n: number, f: (b: Buffer, o: number) => void) => { this.room(n); f(this.buf, this.length); this.length += n; };
    switch (type) {
      case "u8": return w(1, (b, o) => b.writeUInt8(v as number, o));
      case "i8": return w(1, (b, o) => b.writeInt8(v as number, o));
      case "u16": return w(2, (b, o) => b.writeUInt16LE(v as number, o));
      case "i16": return w(2, (b, o) => b.writeInt16LE(v as number, o));
      case "u32": return w(4, (b, o) => b.writeUInt32LE(v as number, o));
      case "i32": return w(4, (b, o) => b.writeInt32LE(v as number, o));
      case "f32": return w(4, (b, o) => b.writeFloatLE(v as number, o));
      case "bool": return w(1, (b, o) => b.writeUInt8(v ? 1 : 0, o));
      case "string": return this.string(v as string);
      case "u64": return w(8, (b, o) => b.writeBigUInt64LE(BigInt(v as number), o));
      case "i64": return w(8, (b, o) => b.writeBigInt64LE(BigInt(v as number), o));
      case "f64": return w(8, (b, o) => b.writeDoubleLE(v as number, o));
    }
  }
  padTo(n: number) { const p = pad(n) - n; this.room(p); this.buf.fill(0, this.length, this.length + p); this.length += p; }
  bytes() { return this.buf.subarray(0, this.length); }
}

/**
 * Writes a GGUF v3 file: `kv` in order, then tensors in order, data streamed tensor by tensor (F16, BF16 and Q8_0
 * converted in chunks). Written to a temp file, fsynced and renamed.
 */
export function writeGguf(path: string, kv: readonly [string, GgufValue][], tensors: readonly GgufTensor[]): number {
  const h = new ByteWriter();
  h.scalar("u32", 0x46554747); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(kv.length);
  for (const [key, v] of kv) {
    h.string(key);
    h.u32(TYPE_CODES[v.type]);
    if (v.type === "array") {
      h.u32(TYPE_CODES[v.itemType]);
      h.u64(v.value.length);
      for (const x of v.value) h.scalar(v.itemType, x);
    } else h.scalar(v.type, v.value);
  }
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    h.string(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(GGML_TYPES[t.type]);
    h.u64(offset);
    if (t.type === "Q8_0" && t.shape[t.shape.length - 1] % Q8_0_BLOCK) throw new Error(`${path}: tensor ${t.name} [${t.shape}] cannot be Q8_0: its rows are not a multiple of ${Q8_0_BLOCK}`);
    offset = pad(offset + ggmlTypeBytes(t.type, n));
  }
  h.padTo(h.length);
  const zeros = new Uint8Array(GGUF_ALIGNMENT);

  writeFileStreamed(path, fd => {
    writeAll(fd, h.bytes());
    for (const t of tensors) {
      const data = typeof t.data === "function" ? t.data() : t.data;
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (n !== data.length) throw new Error(`${path}: tensor ${t.name} has ${data.length} values for shape [${t.shape}]`);
      let bytes: number;
      if (t.type === "F32") {
        writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        bytes = data.byteLength;
      } else if (t.type === "Q8_0") {
        const blocks = new Uint8Array(ggmlTypeBytes("Q8_0", Math.min(CHUNK, n)));
        for (let i = 0; i < n; i += CHUNK) {
          const m = Math.min(CHUNK, n - i), len = ggmlTypeBytes("Q8_0", m);
          quantizeQ8_0(data.subarray(i, i + m), blocks.subarray(0, len));
          writeAll(fd, blocks.subarray(0, len));
        }
        bytes = ggmlTypeBytes("Q8_0", n);
      } else {
        const half = new Uint16Array(Math.min(CHUNK, n));
        const convert = t.type === "BF16" ? f32ToBf16 : f32ToF16;
        for (let i = 0; i < n; i += half.length) {
          const m = Math.min(half.length, n - i);
          convert(data.subarray(i, i + m), half.subarray(0, m));
          writeAll(fd, new Uint8Array(half.buffer, 0, m * 2));
        }
        bytes = n * 2;
      }
      writeAll(fd, zeros.subarray(0, pad(bytes) - bytes));
    }
  });
  return h.length + offset;
}

export interface GgufTensorInfo { name: string; /** ggml order, innermost first */ ne: number[]; type: number; offset: number }
export interface GgufInfo { version: number; kv: Map<string, GgufValue>; tensors: GgufTensorInfo[]; dataStart: number }

const CODE_GGML = Object.fromEntries(Object.entries(GGML_TYPES).map(([k, v]) => [v, k])) as Record<number, GgmlType | undefined>;
const CODE_TYPES = Object.fromEntries(Object.entries(TYPE_CODES).map(([k, v]) => [v, k])) as Record<number, keyof typeof TYPE_CODES>;

/** Parses header, key/values and tensor infos (not the data). */
export function readGgufInfo(path: string): GgufInfo {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    // The header's size is only known once parsed: read a prefix, and a longer one if parsing runs off its end.
    for (let want = 1 << 20; ; want *= 4) {
      const buf = Buffer.alloc(Math.min(want, size));
      readSync(fd, buf, 0, buf.length, 0);
      try {
        return parseHeader(buf, path, size);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        if (buf.length === size) throw new GgufFormatError(path, "file ends inside the header");
      }
    }
  } finally {
    closeSync(fd);
  }
}

function parseHeader(b: Buffer, path: string, fileSize: number): GgufInfo {
  let o = 0;
  const u32 = () => { const v = b.readUInt32LE(o); o += 4; return v; };
  const u64 = () => { const v = b.readBigUInt64LE(o); o += 8; if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFormatError(path, `u64 ${v} at byte ${o - 8} is too large`); return Number(v); };
  const str = () => { const n = u64(); if (o + n > b.length) throw new RangeError("past end"); const s = b.toString("utf8", o, o + n); o += n; return s; };
  const scalar = (t: keyof typeof TYPE_CODES): Scalar => {
    const r = <T>(n: number, f: () => T) => { const v = f(); o += n; return v; };
    switch (t) {
      case "u8": return r(1, () => b.readUInt8(o));
      case "i8": return r(1, () => b.readInt8(o));
      case "u16": return r(2, () => b.readUInt16LE(o));
      case "i16": return r(2, () => b.readInt16LE(o));
      case "u32": return r(4, () => b.readUInt32LE(o));
      case "i32": return r(4, () => b.readInt32LE(o));
      case "f32": return r(4, () => b.readFloatLE(o));
      case "bool": return r(1, () => b.readUInt8(o) !== 0);
      case "string": return str();
      case "u64": return r(8, () => b.readBigUInt64LE(o));
      case "i64": return r(8, () => b.readBigInt64LE(o));
      case "f64": return r(8, () => b.readDoubleLE(o));
      default: throw new GgufFormatError(path, `value type ${t} is not a scalar`);
    }
  };
  const typeAt = () => { const c = u32(); const t = CODE_TYPES[c]; if (!t) throw new GgufFormatError(path, `unknown value type ${c} at byte ${o - 4}`); return t; };

  if (b.length < 4 || b.toString("latin1", 0, 4) !== "GGUF") throw new GgufFormatError(path, "missing GGUF magic");
  o = 4;
  const version = u32();
  if (version !== 3) throw new GgufFormatError(path, `version ${version}, expected 3`);
  const nTensors = u64(), nKv = u64();
  const kv = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = typeAt();
    if (type === "array") {
      const itemType = typeAt();
      if (itemType === "array") throw new GgufFormatError(path, `${key}: nested arrays are not supported`);
      const n = u64();
      const value: Scalar[] = [];
      for (let j = 0; j < n; j++) value.push(scalar(itemType));
      kv.set(key, { type, itemType, value });
    } else kv.set(key, { type, value: scalar(type) });
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nDims = u32();
    const ne = Array.from({ length: nDims }, u64);
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  const alignment = Number(kv.get("general.alignment")?.value ?? GGUF_ALIGNMENT);
  const dataStart = Math.ceil(o / alignment) * alignment;
  for (const t of tensors) {
    const type = CODE_GGML[t.type], n = t.ne.reduce((a, d) => a * d, 1);
    const bytes = type ? ggmlTypeBytes(type, n) : 0;
    if (t.offset % alignment) throw new GgufFormatError(path, `tensor ${t.name} offset ${t.offset} is not ${alignment}-aligned`);
    if (dataStart + t.offset + bytes > fileSize) throw new GgufFormatError(path, `tensor ${t.name} extends past the end of the file`);
  }
  return { version, kv, tensors, dataStart };
}

/** Reads one F32, F16, BF16 or Q8_0 tensor as F32 (dequantized), in ggml order (row-major with shape = ne reversed). */
export function readGgufTensor(path: string, info: GgufInfo, name: string): Float32Array {
  const t = info.tensors.find(x => x.name === name);
  if (!t) throw new GgufFormatError(path, `no tensor ${name}`);
  const n = t.ne.reduce((a, d) => a * d, 1);
  const type = CODE_GGML[t.type];
  if (!type) throw new GgufFormatError(path, `tensor ${name} has ggml type ${t.type}; only F32, F16, BF16 and Q8_0 are read`);
  const fd = openSync(path, "r");
  try {
    const raw = new Uint8Array(ggmlTypeBytes(type, n));
    readSync(fd, raw, 0, raw.length, info.dataStart + t.offset);
    if (type === "F32") return new Float32Array(raw.buffer);
    const out = new Float32Array(n);
    if (type === "Q8_0") dequantizeQ8_0(raw, out);
    else (type === "BF16" ? bf16ToF32 : f16ToF32)(new Uint16Array(raw.buffer), out);
    return out;
  } finally {
    closeSync(fd);
  }
}
