// Test-side Arrow IPC stream writer (the format `datasets.save_to_disk` writes with pyarrow), written from the
// format spec (format/Message.fbs, Schema.fbs; "Arrow Columnar Format"), with a tiny forward-only flatbuffer
// builder: a table's vtable is written just before it, referenced objects after it, and offsets are patched.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { zstdStored } from "./write.js";

export type ArrowType = "utf8" | "large_utf8" | "int64" | "int32" | "uint8" | "float64" | "float32" | "bool" | "null" | "date32" | "timestamp_ms"
  | { list: ArrowType } | { large_list: ArrowType } | { fixed_list: ArrowType; size: number } | { struct: ArrowField[] };
export interface ArrowField { name: string; type: ArrowType }

class Builder {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  get v() { return new DataView(this.buf.buffer); }
  pad(to: number) { while (this.len % to) this.u8(0); }
  u8(x: number) { this.ensure(1); this.buf[this.len++] = x & 255; }
  u16(x: number) { this.ensure(2); this.v.setUint16(this.len, x, true); this.len += 2; }
  u32(x: number) { this.ensure(4); this.v.setUint32(this.len, x >>> 0, true); this.len += 4; }
  i64(x: bigint) { this.ensure(8); this.v.setBigInt64(this.len, x, true); this.len += 8; }
  bytes(b: Uint8Array) { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
  patch(at: number, target: number) { this.v.setUint32(at, target - at, true); }
  out() { return this.buf.slice(0, this.len); }
}

/** A table field: a scalar of some width, or a reference written after the table by `write` (returns its position). */
type Slot = { id: number; size: 1 | 2 | 4 | 8; put: (b: Builder) => void } | { id: number; ref: (b: Builder) => number };
const u8 = (id: number, x: number): Slot => ({ id, size: 1, put: b => b.u8(x) });
const i16 = (id: number, x: number): Slot => ({ id, size: 2, put: b => b.u16(x & 0xffff) });
const i32 = (id: number, x: number): Slot => ({ id, size: 4, put: b => b.u32(x) });
const i64 = (id: number, x: number): Slot => ({ id, size: 8, put: b => b.i64(BigInt(x)) });
const ref = (id: number, w: (b: Builder) => number): Slot => ({ id, ref: w });

function table(slots: Slot[]) {
  return (b: Builder): number => {
    const sorted = [...slots].sort((a, c) => ("ref" in c ? 4 : c.size) - ("ref" in a ? 4 : a.size)); // big first: aligned
    const offsets = new Map<number, number>();
    let size = 4; // soffset
    for (const s of sorted) {
      const w = "ref" in s ? 4 : s.size;
      size = Math.ceil(size / w) * w;
      offsets.set(s.id, size);
      size += w;
    }
    const maxId = Math.max(-1, ...slots.map(s => s.id));
    b.pad(2);
    const vt = b.len;
    b.u16(4 + 2 * (maxId + 1));
    b.u16(size);
    for (let id = 0; id <= maxId; id++) b.u16(offsets.get(id) ?? 0);
    b.pad(8);
    const t = b.len;
    b.u32(t - vt); // soffset: the vtable is before the table
    const refs: { at: number; w: (b: Builder) => number }[] = [];
    for (const s of sorted) {
      while (b.len < t + offsets.get(s.id)!) b.u8(0);
      if ("ref" in s) { refs.push({ at: b.len, w: s.ref }); b.u32(0); } else s.put(b);
    }
    while (b.len < t + size) b.u8(0);
    for (const r of refs) b.patch(r.at, r.w(b));
    return t;
  };
}

const str = (s: string) => (b: Builder): number => {
  b.pad(4);
  const p = b.len;
  const e = new TextEncoder().encode(s);
  b.u32(e.length); b.bytes(e); b.u8(0);
  return p;
};

const tables = (items: ((b: Builder) => number)[]) => (b: Builder): number => {
  b.pad(4);
  const p = b.len;
  b.u32(items.length);
  const at = items.map(() => { const a = b.len; b.u32(0); return a; });
  items.forEach((w, i) => b.patch(at[i], w(b)));
  return p;
};

/** A vector of 16-byte structs (two int64 each): FieldNode {length, null_count}, Buffer {offset, length}. */
const pairs = (xs: [number, number][]) => (b: Builder): number => {
  while ((b.len + 4) % 8) b.u8(0);
  const p = b.len;
  b.u32(xs.length);
  for (const [a, c] of xs) { b.i64(BigInt(a)); b.i64(BigInt(c)); }
  return p;
};

const TYPE_ID = { null: 1, int64: 2, int32: 2, uint8: 2, float64: 3, float32: 3, utf8: 5, bool: 6, date32: 8, timestamp_ms: 10, list: 12, struct: 13, fixed_list: 16, large_utf8: 20, large_list: 21 } as const;

const kindOf = (t: ArrowType) => (typeof t === "string" ? t : "list" in t ? "list" : "large_list" in t ? "large_list" : "fixed_list" in t ? "fixed_list" : "struct");

function typeTable(t: ArrowType): (b: Builder) => number {
  switch (kindOf(t)) {
    case "int64": return table([i32(0, 64), u8(1, 1)]);
    case "int32": return table([i32(0, 32), u8(1, 1)]);
    case "uint8": return table([i32(0, 8), u8(1, 0)]);
    case "float64": return table([i16(0, 2)]);
    case "float32": return table([i16(0, 1)]);
    case "date32": return table([i16(0, 0)]); // DateUnit.DAY
    case "timestamp_ms": return table([i16(0, 1)]); // TimeUnit.MILLISECOND
    case "fixed_list": return table([i32(0, (t as { size: number }).size)]);
    default: return table([]);
  }
}

function fieldTable(f: ArrowField): (b: Builder) => number {
  const t = f.type;
  const children: ArrowField[] = typeof t === "string" ? [] : "list" in t ? [{ name: "item", type: t.list }] : "large_list" in t ? [{ name: "item", type: t.large_list }]
    : "fixed_list" in t ? [{ name: "item", type: t.fixed_list }] : t.struct;
  return table([ref(0, str(f.name)), u8(1, 1), u8(2, TYPE_ID[kindOf(t)]), ref(3, typeTable(t)), ref(5, tables(children.map(fieldTable)))]);
}

function bitmap(bits: boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((x, i) => { if (x) out[i >> 3] |= 1 << (i & 7); });
  return out;
}

/** Nodes and buffers of one column, pre-order. */
function encode(t: ArrowType, values: unknown[], nodes: [number, number][], buffers: Uint8Array[]) {
  const nulls = values.filter(v => v === null || v === undefined).length;
  nodes.push([values.length, t === "null" ? values.length : nulls]);
  if (t === "null") return;
  buffers.push(nulls ? bitmap(values.map(v => v !== null && v !== undefined)) : new Uint8Array(0));
  const offsets = (lengths: number[], large: boolean) => {
    const o = large ? new BigInt64Array(lengths.length + 1) : new Int32Array(lengths.length + 1);
    lengths.forEach((n, i) => { (o as unknown as (number | bigint)[])[i + 1] = large ? (o[i] as bigint) + BigInt(n) : (o[i] as number) + n; });
    return new Uint8Array(o.buffer);
  };
  if (t === "utf8" || t === "large_utf8") {
    const enc = values.map(v => new TextEncoder().encode(typeof v === "string" ? v : ""));
    const data = new Uint8Array(enc.reduce((n, e) => n + e.length, 0));
    let at = 0;
    for (const e of enc) { data.set(e, at); at += e.length; }
    buffers.push(offsets(enc.map(e => e.length), t === "large_utf8"), data);
  } else if (t === "int64") buffers.push(new Uint8Array(BigInt64Array.from(values.map(v => BigInt((v as number) ?? 0))).buffer));
  else if (t === "timestamp_ms") buffers.push(new Uint8Array(BigInt64Array.from(values.map(v => BigInt(v === null ? 0 : Date.parse(v as string)))).buffer));
  else if (t === "int32") buffers.push(new Uint8Array(Int32Array.from(values.map(v => (v as number) ?? 0)).buffer));
  else if (t === "date32") buffers.push(new Uint8Array(Int32Array.from(values.map(v => (v === null ? 0 : Date.parse(v as string) / 86_400_000))).buffer));
  else if (t === "uint8") buffers.push(Uint8Array.from(values.map(v => (v as number) ?? 0)));
  else if (t === "float64") buffers.push(new Uint8Array(Float64Array.from(values.map(v => (v as number) ?? 0)).buffer));
  else if (t === "float32") buffers.push(new Uint8Array(Float32Array.from(values.map(v => (v as number) ?? 0)).buffer));
  else if (t === "bool") buffers.push(bitmap(values.map(v => v === true)));
  else if ("list" in t || "large_list" in t) {
    buffers.push(offsets(values.map(v => (Array.isArray(v) ? v.length : 0)), "large_list" in t));
    encode("list" in t ? t.list : t.large_list, values.flatMap(v => (Array.isArray(v) ? v : [])), nodes, buffers);
  } else if ("fixed_list" in t) {
    encode(t.fixed_list, values.flatMap(v => (Array.isArray(v) ? v : Array(t.size).fill(null))), nodes, buffers);
  } else for (const f of t.struct) encode(f.type, values.map(v => (v as Record<string, unknown> | null)?.[f.name] ?? null), nodes, buffers);
}

function message(headerType: number, header: (b: Builder) => number, body: Uint8Array): Uint8Array {
  const b = new Builder();
  b.u32(0);
  b.patch(0, table([i16(0, 4), u8(1, headerType), ref(2, header), i64(3, body.length)])(b));
  b.pad(8);
  const meta = b.out();
  const out = new Uint8Array(8 + meta.length + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xffffffff, true);
  v.setInt32(4, meta.length, true);
  out.set(meta, 8);
  out.set(body, 8 + meta.length);
  return out;
}

/** An Arrow IPC stream: the schema, one record batch per `batches` entry, end of stream. */
export function arrowStream(fields: ArrowField[], batches: Record<string, unknown>[][], opts: { zstd?: boolean } = {}): Uint8Array {
  const parts = [message(1, table([i16(0, 0), ref(1, tables(fields.map(fieldTable)))]), new Uint8Array(0))];
  for (const rows of batches) {
    const nodes: [number, number][] = [], raw: Uint8Array[] = [];
    for (const f of fields) encode(f.type, rows.map(r => r[f.name] ?? null), nodes, raw);
    const stored = raw.map(x => {
      if (!opts.zstd || x.length === 0) return x;
      const z = zstdStored(x), o = new Uint8Array(8 + z.length);
      new DataView(o.buffer).setBigInt64(0, BigInt(x.length), true);
      o.set(z, 8);
      return o;
    });
    const specs: [number, number][] = [];
    let off = 0;
    for (const s of stored) { specs.push([off, s.length]); off += Math.ceil(s.length / 8) * 8; }
    const body = new Uint8Array(off);
    stored.forEach((s, i) => body.set(s, specs[i][0]));
    const slots: Slot[] = [i64(0, rows.length), ref(1, pairs(nodes)), ref(2, pairs(specs))];
    if (opts.zstd) slots.push(ref(3, table([u8(0, 1), u8(1, 0)])));
    parts.push(message(3, table(slots), body));
  }
  parts.push(new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A `datasets.save_to_disk` DatasetDict folder: dataset_dict.json, and per split state.json + Arrow shards. */
export function writeSaveToDisk(dir: string, fields: ArrowField[], splits: Record<string, Record<string, unknown>[][]>, opts: { zstd?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "dataset_dict.json"), JSON.stringify({ splits: Object.keys(splits) }));
  for (const [split, shards] of Object.entries(splits)) {
    const names = shards.map((_, i) => `data-${String(i).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.arrow`);
    mkdirSync(join(dir, split), { recursive: true });
    shards.forEach((rows, i) => writeFileSync(join(dir, split, names[i]), arrowStream(fields, [rows], opts)));
    writeFileSync(join(dir, split, "state.json"), JSON.stringify({ _data_files: names.map(filename => ({ filename })), _fingerprint: "0", _split: null }));
    writeFileSync(join(dir, split, "dataset_info.json"), "{}");
  }
  mkdirSync(dirname(dir), { recursive: true });
  return dir;
}
