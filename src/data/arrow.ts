// Arrow IPC (streaming format, and the file format around it) → rows, for `datasets.save_to_disk` folders,
// whose splits are `data-0000N-of-0000M.arrow` files written by pyarrow's RecordBatchStreamWriter.
//
// A stream is a sequence of messages: [0xFFFFFFFF] int32 metadata length, a flatbuffer `Message`
// (Schema, RecordBatch or DictionaryBatch; format/Message.fbs, Schema.fbs), then `bodyLength` bytes of buffers.
// A record batch lists one FieldNode {length, null_count} per field and its buffers in schema pre-order:
//   Int/Float/Bool/Date/Time/Timestamp/Duration/Decimal/FixedSizeBinary: validity, values
//   Utf8/Binary: validity, int32 offsets, bytes        LargeUtf8/LargeBinary: int64 offsets
//   List/Map: validity, int32 offsets, then the child  LargeList: int64 offsets     Struct: validity, then children
//   FixedSizeList: validity, then the child           Null: no buffers
// Read: those types (Decimal, Date, Time, Interval and FixedSizeBinary are skipped unless a needed column has
// them), uncompressed or ZSTD-compressed bodies. Refused by name: dictionary-encoded columns, unions,
// run-end-encoded and view types, LZ4-frame bodies, big-endian files.
import { decompressZstd } from "hyparquet-compressors";
import { DatasetError } from "./errors.js";

// ---- flatbuffers: just enough to read tables, vectors, strings and unions ----

class FB {
  constructor(readonly v: DataView, readonly base: number) {}
  /** Root table position of a buffer that starts at `base`. */
  root(): number { return this.base + this.v.getUint32(this.base, true); }
  private field(t: number, id: number): number {
    const vt = t - this.v.getInt32(t, true);
    const vtSize = this.v.getUint16(vt, true);
    const o = 4 + 2 * id;
    return o < vtSize ? this.v.getUint16(vt + o, true) : 0;
  }
  u8(t: number, id: number, d = 0) { const o = this.field(t, id); return o ? this.v.getUint8(t + o) : d; }
  i16(t: number, id: number, d = 0) { const o = this.field(t, id); return o ? this.v.getInt16(t + o, true) : d; }
  i32(t: number, id: number, d = 0) { const o = this.field(t, id); return o ? this.v.getInt32(t + o, true) : d; }
  i64(t: number, id: number, d = 0) { const o = this.field(t, id); return o ? Number(this.v.getBigInt64(t + o, true)) : d; }
  bool(t: number, id: number) { return this.u8(t, id) !== 0; }
  /** Position of a referenced table (or vector/string), or 0 when absent. */
  ref(t: number, id: number): number { const o = this.field(t, id); return o ? t + o + this.v.getUint32(t + o, true) : 0; }
  str(t: number, id: number): string | undefined {
    const p = this.ref(t, id);
    if (!p) return undefined;
    const n = this.v.getUint32(p, true);
    return new TextDecoder().decode(new Uint8Array(this.v.buffer, this.v.byteOffset + p + 4, n));
  }
  /** Element positions of a vector of tables. */
  tables(t: number, id: number): number[] {
    const p = this.ref(t, id);
    if (!p) return [];
    const n = this.v.getUint32(p, true);
    return Array.from({ length: n }, (_, i) => { const e = p + 4 + 4 * i; return e + this.v.getUint32(e, true); });
  }
  /** A vector of structs of `size` bytes: their positions. */
  structs(t: number, id: number, size: number): number[] {
    const p = this.ref(t, id);
    if (!p) return [];
    return Array.from({ length: this.v.getUint32(p, true) }, (_, i) => p + 4 + size * i);
  }
}

// ---- schema ----

const TYPE_NAMES = ["NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool", "Decimal", "Date", "Time", "Timestamp", "Interval", "List", "Struct", "Union", "FixedSizeBinary", "FixedSizeList", "Map", "Duration", "LargeBinary", "LargeUtf8", "LargeList", "RunEndEncoded", "BinaryView", "Utf8View", "ListView", "LargeListView"];

interface Field {
  name: string;
  type: string;
  /** Int: bit width; FloatingPoint: 16/32/64; Date: 32 (days) or 64 (ms); FixedSizeBinary: bytes; FixedSizeList: items. */
  width: number;
  signed: boolean;
  dictionary: boolean;
  children: Field[];
}

function readField(fb: FB, t: number): Field {
  const typeId = fb.u8(t, 2);
  const type = TYPE_NAMES[typeId] ?? `type ${typeId}`;
  const tt = fb.ref(t, 3);
  let width = 0, signed = true;
  if (type === "Int") { width = fb.i32(tt, 0); signed = fb.bool(tt, 1); }
  else if (type === "FloatingPoint") width = [16, 32, 64][fb.i16(tt, 0)];
  else if (type === "Date") width = fb.i16(tt, 0, 1) === 0 ? 32 : 64;
  else if (type === "Time") width = fb.i32(tt, 1, 32);
  else if (type === "Decimal") width = fb.i32(tt, 2, 128);
  else if (type === "FixedSizeBinary") width = fb.i32(tt, 0);
  else if (type === "FixedSizeList") width = fb.i32(tt, 0);
  else if (type === "Timestamp" || type === "Duration" || type === "Interval") width = 64;
  return { name: fb.str(t, 0) ?? "", type, width, signed, dictionary: fb.ref(t, 4) !== 0, children: fb.tables(t, 5).map(c => readField(fb, c)) };
}

// ---- record batches ----

interface Batch { length: number; nodes: { length: number; nulls: number }[]; buffers: Uint8Array[] }

function decodeBuffers(fb: FB, rb: number, body: Uint8Array, file: string): Batch {
  const v = fb.v;
  const nodes = fb.structs(rb, 1, 16).map(p => ({ length: Number(v.getBigInt64(p, true)), nulls: Number(v.getBigInt64(p + 8, true)) }));
  const comp = fb.ref(rb, 3);
  const codec = comp ? fb.u8(comp, 0) : -1; // 0 LZ4_FRAME, 1 ZSTD
  if (codec === 0) throw new DatasetError(`${file}: Arrow buffers compressed with LZ4 frames, which Move37 does not read; save the dataset uncompressed or as Parquet (ds.to_parquet)`);
  const buffers = fb.structs(rb, 2, 16).map(p => {
    const off = Number(v.getBigInt64(p, true)), len = Number(v.getBigInt64(p + 8, true));
    const raw = body.subarray(off, off + len);
    if (codec !== 1 || len === 0) return raw;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const n = Number(dv.getBigInt64(0, true));
    return n === -1 ? raw.subarray(8) : decompressZstd(raw.subarray(8), new Uint8Array(n));
  });
  return { length: fb.i64(rb, 0), nodes, buffers };
}

/** Buffers a type takes in a record batch (its children's come after). */
function bufferCount(f: Field): number {
  if (f.dictionary) return 2; // validity, indices
  switch (f.type) {
    case "Null": return 0;
    case "Struct": case "FixedSizeList": return 1;
    case "Utf8": case "Binary": case "LargeUtf8": case "LargeBinary": return 3;
    case "List": case "LargeList": case "Map": return 2;
    default: return 2;
  }
}

const UNREADABLE = new Set(["Union", "RunEndEncoded", "BinaryView", "Utf8View", "ListView", "LargeListView"]);
const SKIPPED = new Set(["Decimal", "Interval", "FixedSizeBinary", "Time"]);

class Cursor {
  node = 0;
  buffer = 0;
  constructor(readonly batch: Batch) {}
}

const isNull = (validity: Uint8Array, i: number) => validity.length > 0 && (validity[i >> 3] & (1 << (i & 7))) === 0;
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const int64 = (v: bigint) => (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString());

/**
 * Values of one field for `length` slots starting at `offset` (child arrays are addressed by parent offsets).
 * `want` false: walk the field's nodes and buffers without decoding (a column the loader does not use).
 */
function readColumn(f: Field, c: Cursor, want: boolean, file: string, path: string): (i: number) => unknown {
  const where = `${file}: column "${path}"`;
  if (UNREADABLE.has(f.type)) throw new DatasetError(`${where}: Arrow type ${f.type}, which Move37 does not read; convert the dataset to Parquet (ds.to_parquet)`);
  if (f.dictionary && want) throw new DatasetError(`${where}: a dictionary-encoded Arrow column, which Move37 does not read; convert the dataset to Parquet (ds.to_parquet)`);
  const node = c.batch.nodes[c.node++];
  const bufs = c.batch.buffers.slice(c.buffer, c.buffer + bufferCount(f));
  c.buffer += bufferCount(f);
  if (!node) throw new DatasetError(`${file}: a record batch with fewer field nodes than the schema has fields; the file is damaged`);
  if (f.dictionary) return () => undefined; // not wanted (checked above): its indices are skipped
  const validity = f.type === "Null" ? new Uint8Array(0) : bufs[0];
  const nullable = (get: (i: number) => unknown) => (i: number) => (node.nulls > 0 && isNull(validity, i) ? null : get(i));
  const children = (wantChildren: boolean) => f.children.map(ch => readColumn(ch, c, wantChildren, file, `${path}.${ch.name}`));
  if (f.type === "Struct") {
    const kids = children(want);
    return nullable(i => Object.fromEntries(f.children.map((ch, k) => [ch.name, kids[k](i)])));
  }
  if (f.type === "List" || f.type === "LargeList" || f.type === "Map") {
    const [kid] = children(want);
    const dv = view(bufs[1]);
    const at = f.type === "LargeList" ? (i: number) => Number(dv.getBigInt64(8 * i, true)) : (i: number) => dv.getInt32(4 * i, true);
    return nullable(i => { const out = []; for (let j = at(i); j < at(i + 1); j++) out.push(kid(j)); return out; });
  }
  if (f.type === "FixedSizeList") {
    const [kid] = children(want);
    return nullable(i => Array.from({ length: f.width }, (_, j) => kid(i * f.width + j)));
  }
  if (!want) return () => undefined;
  if (SKIPPED.has(f.type)) throw new DatasetError(`${where}: Arrow type ${f.type}, which Move37 does not read as a dataset column; map another column or convert the dataset to Parquet`);
  const dv = f.type === "Null" ? view(new Uint8Array(0)) : view(bufs[1]);
  switch (f.type) {
    case "Null": return () => null;
    case "Bool": return nullable(i => (bufs[1][i >> 3] & (1 << (i & 7))) !== 0);
    case "Int": {
      const w = f.width;
      if (w === 8) return nullable(i => (f.signed ? dv.getInt8(i) : dv.getUint8(i)));
      if (w === 16) return nullable(i => (f.signed ? dv.getInt16(2 * i, true) : dv.getUint16(2 * i, true)));
      if (w === 32) return nullable(i => (f.signed ? dv.getInt32(4 * i, true) : dv.getUint32(4 * i, true)));
      return nullable(i => int64(f.signed ? dv.getBigInt64(8 * i, true) : dv.getBigUint64(8 * i, true)));
    }
    case "FloatingPoint":
      if (f.width === 32) return nullable(i => dv.getFloat32(4 * i, true));
      if (f.width === 64) return nullable(i => dv.getFloat64(8 * i, true));
      throw new DatasetError(`${where}: half-precision floats, which Move37 does not read as a dataset column`);
    case "Date": return nullable(i => new Date(f.width === 32 ? dv.getInt32(4 * i, true) * 86_400_000 : Number(dv.getBigInt64(8 * i, true))).toISOString().slice(0, 10));
    case "Timestamp": case "Duration": return nullable(i => int64(dv.getBigInt64(8 * i, true)));
    case "Utf8": case "Binary": case "LargeUtf8": case "LargeBinary": {
      const large = f.type.startsWith("Large");
      const at = large ? (i: number) => Number(dv.getBigInt64(8 * i, true)) : (i: number) => dv.getInt32(4 * i, true);
      const data = bufs[2], dec = new TextDecoder();
      return f.type.endsWith("Utf8") ? nullable(i => dec.decode(data.subarray(at(i), at(i + 1)))) : nullable(i => data.slice(at(i), at(i + 1)));
    }
  }
  throw new DatasetError(`${where}: Arrow type ${f.type}, which Move37 does not read`);
}

/** Rows of an Arrow IPC stream or file (at most `limit`; only the `wanted` top-level columns are decoded). */
export function readArrowRows(bytes: Uint8Array, file: string, limit?: number, wanted?: readonly string[]): { rows: Record<string, unknown>[]; columns: string[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  if (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 6)) === "ARROW1") pos = 8; // file format: magic, then a stream
  let fields: Field[] | undefined;
  const rows: Record<string, unknown>[] = [];
  while (pos + 8 <= bytes.length && (limit === undefined || rows.length < limit)) {
    let len = v.getInt32(pos, true);
    pos += 4;
    if (len === -1) { len = v.getInt32(pos, true); pos += 4; } // continuation marker
    if (len === 0) break; // end of stream
    if (len < 0 || pos + len > bytes.length) throw new DatasetError(`${file}: not a readable Arrow IPC file (a message of ${len} bytes at byte ${pos - 4}); check that the file is complete`);
    const fb = new FB(v, pos);
    const msg = fb.root();
    const headerType = fb.u8(msg, 1), header = fb.ref(msg, 2), bodyLength = fb.i64(msg, 3);
    pos += len;
    const body = bytes.subarray(pos, pos + bodyLength);
    pos += bodyLength;
    if (headerType === 1) {
      if (fb.i16(header, 0) === 1) throw new DatasetError(`${file}: a big-endian Arrow file, which Move37 does not read`);
      fields = fb.tables(header, 1).map(f => readField(fb, f));
    } else if (headerType === 2) {
      // a dictionary batch: only a column the loader does not use may be dictionary-encoded (refused in readColumn)
    } else if (headerType === 3) {
      if (!fields) throw new DatasetError(`${file}: a record batch before the schema; not a readable Arrow IPC stream`);
      const batch = decodeBuffers(fb, header, body, file);
      const c = new Cursor(batch);
      const cols = fields.map(f => readColumn(f, c, !wanted || wanted.includes(f.name), file, f.name));
      const n = limit === undefined ? batch.length : Math.min(batch.length, limit - rows.length);
      for (let i = 0; i < n; i++) {
        const row: Record<string, unknown> = {};
        fields.forEach((f, k) => { if (!wanted || wanted.includes(f.name)) row[f.name] = cols[k](i); });
        rows.push(row);
      }
    } else {
      throw new DatasetError(`${file}: an Arrow message of type ${headerType}, which a dataset file should not hold`);
    }
  }
  if (!fields) throw new DatasetError(`${file}: not a readable Arrow IPC file (no schema message); check that the file is complete`);
  return { rows, columns: fields.map(f => f.name) };
}
