// Safetensors (https://github.com/huggingface/safetensors): u64 header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}, then the tensor bytes.
// Reads go tensor by tensor straight into the caller's Float32Array, so a checkpoint never sits in memory twice.
// Assumes a little-endian host (x86-64, arm64), like the format.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { writeAll, writeFileStreamed } from "./write-stream.js";
import { SafetensorsCorruptError, SafetensorsTruncatedError, UnsupportedDtypeError } from "./errors.js";
import { bf16ToF32, f16ToF32, f32ToBf16 } from "./half.js";
import { numel } from "../params.js";

/** Bytes per element of every dtype the format defines (all are validated; F32/F16/BF16 are converted). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};
export const READABLE_DTYPES = ["F32", "F16", "BF16"] as const;
export const WRITABLE_DTYPES = ["F32", "BF16"] as const;
export type WritableDtype = (typeof WRITABLE_DTYPES)[number];

/** The official library refuses headers over 100 MB; so do we, before allocating. */
const MAX_HEADER_BYTES = 100_000_000;
/** Tensors are read and converted in chunks of this many bytes. */
const CHUNK_BYTES = 1 << 26;

export interface TensorData { name: string; shape: number[]; data: Float32Array }

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Entries in file order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute file offset of the data section. */
  dataStart: number;
}

/** Reads and validates the header of an open file: sizes, dtypes, shapes against byte ranges, bounds, no overlaps. */
function readHeader(fd: number, path: string): SafetensorsHeader {
  const size = fstatSync(fd).size;
  if (size < 8) throw new SafetensorsTruncatedError(path, `${size} bytes, shorter than the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0, path);
  const n = lenBuf.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsCorruptError(path, `header length ${n} is outside 2..${MAX_HEADER_BYTES}`);
  const headerLen = Number(n);
  if (8 + headerLen > size) throw new SafetensorsTruncatedError(path, `header needs ${headerLen} bytes, file has ${size - 8} after the length`);
  const jsonBuf = Buffer.alloc(headerLen);
  readExactly(fd, jsonBuf, 8, path);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(jsonBuf));
  } catch (e) {
    throw new SafetensorsCorruptError(path, `header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new SafetensorsCorruptError(path, "header is not a JSON object");

  const dataLen = size - 8 - headerLen;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null || Object.values(v).some(x => typeof x !== "string")) {
        throw new SafetensorsCorruptError(path, "__metadata__ must map strings to strings");
      }
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw new SafetensorsCorruptError(path, `entry ${name} is not an object`);
    const bytes = typeof e.dtype === "string" ? DTYPE_BYTES[e.dtype] : undefined;
    if (bytes === undefined) throw new SafetensorsCorruptError(path, `tensor ${name} has unknown dtype ${JSON.stringify(e.dtype)}`);
    const isDim = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(e.shape) || !e.shape.every(isDim)) throw new SafetensorsCorruptError(path, `tensor ${name} has invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isDim) || off[0] > off[1]) {
      throw new SafetensorsCorruptError(path, `tensor ${name} has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const shape = e.shape as number[];
    const [begin, end] = off as [number, number];
    if (numel(shape) * bytes !== end - begin) {
      throw new SafetensorsCorruptError(path, `tensor ${name}: shape [${shape}] × ${e.dtype} is ${numel(shape) * bytes} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: e.dtype as string, shape, begin, end });
  }
  // Like the reference implementation: byte ranges tile the data section exactly, in order, with no gap or overlap.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) throw new SafetensorsCorruptError(path, `tensor ${e.name} overlaps the tensor before it (starts at ${e.begin}, previous ends at ${cursor})`);
    if (e.begin > cursor) throw new SafetensorsCorruptError(path, `gap of ${e.begin - cursor} bytes before tensor ${e.name}`);
    cursor = e.end;
  }
  if (cursor > dataLen) throw new SafetensorsTruncatedError(path, `tensors need ${cursor} data bytes, file has ${dataLen}`);
  if (cursor < dataLen) throw new SafetensorsCorruptError(path, `${dataLen - cursor} bytes after the last tensor`);
  return { entries, metadata, dataStart: 8 + headerLen };
}

function readExactly(fd: number, buf: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new SafetensorsTruncatedError(path, `file ended at byte ${position + done}`);
    done += n;
  }
}

/** An open safetensors file: the validated header, and tensors read on demand. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  private readonly byName: Map<string, SafetensorsEntry>;
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
    try {
      this.header = readHeader(this.fd, path);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.byName = new Map(this.header.entries.map(e => [e.name, e]));
  }

  get names(): string[] { return this.header.entries.map(e => e.name); }
  entry(name: string): SafetensorsEntry | undefined { return this.byName.get(name); }

  /** Reads tensor `name` as F32 into `dest` (allocated if absent; must hold exactly numel elements). */
  read(name: string, dest?: Float32Array): Float32Array {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named ${name}`);
    if (!(READABLE_DTYPES as readonly string[]).includes(e.dtype)) throw new UnsupportedDtypeError(`${this.path}: tensor ${name}`, e.dtype, READABLE_DTYPES);
    const n = numel(e.shape);
    const out = dest ?? new Float32Array(n);
    if (out.length !== n) throw new Error(`${this.path}: tensor ${name} has ${n} elements, destination has ${out.length}`);
    const start = this.header.dataStart + e.begin;
    if (e.dtype === "F32") {
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      for (let o = 0; o < bytes.length; o += CHUNK_BYTES) readExactly(this.fd, bytes.subarray(o, Math.min(bytes.length, o + CHUNK_BYTES)), start + o, this.path);
      return out;
    }
    const convert = e.dtype === "F16" ? f16ToF32 : bf16ToF32;
    const chunk = new Uint16Array(Math.min(n, CHUNK_BYTES / 2));
    for (let i = 0; i < n; i += chunk.length) {
      const m = Math.min(chunk.length, n - i);
      const part = chunk.subarray(0, m);
      readExactly(this.fd, new Uint8Array(part.buffer, 0, m * 2), start + i * 2, this.path);
      convert(part, out.subarray(i, i + m));
    }
    return out;
  }

  /**
   * Reads tensor `name` as BF16 bits into `dest` (numel elements): a BF16 tensor's bytes go straight in (no F32 round
   * trip); F32 and F16 are rounded to BF16 chunk by chunk.
   */
  readBf16(name: string, dest: Uint16Array): Uint16Array {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named ${name}`);
    if (!(READABLE_DTYPES as readonly string[]).includes(e.dtype)) throw new UnsupportedDtypeError(`${this.path}: tensor ${name}`, e.dtype, READABLE_DTYPES);
    const n = numel(e.shape);
    if (dest.length !== n) throw new Error(`${this.path}: tensor ${name} has ${n} elements, destination has ${dest.length}`);
    const start = this.header.dataStart + e.begin;
    if (e.dtype === "BF16") {
      const bytes = new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength);
      for (let o = 0; o < bytes.length; o += CHUNK_BYTES) readExactly(this.fd, bytes.subarray(o, Math.min(bytes.length, o + CHUNK_BYTES)), start + o, this.path);
      return dest;
    }
    const f32 = new Float32Array(Math.min(n, CHUNK_BYTES / 4)), half = e.dtype === "F16" ? new Uint16Array(f32.length) : null;
    for (let i = 0; i < n; i += f32.length) {
      const m = Math.min(f32.length, n - i), part = f32.subarray(0, m);
      if (half) {
        readExactly(this.fd, new Uint8Array(half.buffer, 0, m * 2), start + i * 2, this.path);
        f16ToF32(half.subarray(0, m), part);
      } else readExactly(this.fd, new Uint8Array(part.buffer, 0, m * 4), start + i * 4, this.path);
      f32ToBf16(part, dest.subarray(i, i + m));
    }
    return dest;
  }

  close(): void { closeSync(this.fd); }
}

/** Reads every tensor of a file as F32. */
export function readSafetensors(path: string): TensorData[] {
  const f = new SafetensorsFile(path);
  try {
    return f.header.entries.map(e => ({ name: e.name, shape: [...e.shape], data: f.read(e.name) }));
  } finally {
    f.close();
  }
}

/**
 * Writes tensors (in the given order) as `dtype`, streaming chunk by chunk. Written to a temp file, fsynced and
 * renamed, so `path` holds either its old content or the complete new file.
 */
export function writeSafetensors(path: string, tensors: readonly TensorData[], dtype: WritableDtype = "F32", metadata: Record<string, string> = {}): void {
  if (!(WRITABLE_DTYPES as readonly string[]).includes(dtype)) throw new UnsupportedDtypeError(path, dtype, WRITABLE_DTYPES);
  const bytes = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.data.length !== numel(t.shape)) throw new Error(`${path}: tensor ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    if (t.name in header) throw new Error(`${path}: tensor name ${t.name} appears twice`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length * bytes] };
    offset += t.data.length * bytes;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8; // the data section starts 8-aligned, as the reference writer does
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));

  writeFileStreamed(path, fd => {
    writeAll(fd, len);
    writeAll(fd, json);
    for (const t of tensors) {
      if (dtype === "F32") {
        writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        continue;
      }
      const chunk = new Uint16Array(Math.min(t.data.length, CHUNK_BYTES / 2));
      for (let i = 0; i < t.data.length; i += chunk.length) {
        const m = Math.min(chunk.length, t.data.length - i);
        f32ToBf16(t.data.subarray(i, i + m), chunk);
        writeAll(fd, new Uint8Array(chunk.buffer, 0, m * 2));
      }
    }
  });
}
