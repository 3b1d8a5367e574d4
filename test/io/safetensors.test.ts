import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors, SafetensorsFile, writeSafetensors } from "../../src/model/io/safetensors.js";
import { SafetensorsCorruptError, SafetensorsTruncatedError, UnsupportedDtypeError } from "../../src/model/io/errors.js";

const dir = mkdtempSync(join(tmpdir(), "m37-st-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A file assembled by hand from the spec (not by our writer): u64 LE header length, JSON, raw bytes. */
function handMade(header: object, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test("reads F32, F16 and BF16 tensors of a hand-made file as F32", () => {
  const f32 = new Float32Array([1.5, -2, 3.25]);
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001]); // 1, -2, 0.33325195, 2^-24
  const bf16 = new Uint16Array([0x3f80, 0xc020]); // 1, -2.5
  const bytes = Buffer.concat([Buffer.from(f32.buffer), Buffer.from(f16.buffer), Buffer.from(bf16.buffer)]);
  const p = join(dir, "hand.safetensors");
  writeFileSync(p, handMade({
    __metadata__: { format: "pt" },
    b: { dtype: "F16", shape: [2, 2], data_offsets: [12, 20] },
    a: { dtype: "F32", shape: [3], data_offsets: [0, 12] },
    c: { dtype: "BF16", shape: [1, 2], data_offsets: [20, 24] },
  }, bytes));
  const got = Object.fromEntries(readSafetensors(p).map(t => [t.name, t]));
  assert.deepEqual([...got.a.data], [1.5, -2, 3.25]);
  assert.deepEqual(got.b.shape, [2, 2]);
  assert.deepEqual([...got.b.data], [1, -2, 0.333251953125, 2 ** -24]);
  assert.deepEqual([...got.c.data], [1, -2.5]);
  const f = new SafetensorsFile(p);
  assert.deepEqual(f.header.metadata, { format: "pt" });
  f.close();
});

test("writer output follows the spec byte for byte (8-aligned header, contiguous offsets) and round-trips", () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Float32Array([0.1, -7]);
  const p = join(dir, "w.safetensors");
  writeSafetensors(p, [{ name: "x.weight", shape: [2, 3], data: a }, { name: "y", shape: [2], data: b }], "F32", { format: "pt" });
  const buf = readFileSync(p);
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  assert.deepEqual(header["x.weight"], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header.y, { dtype: "F32", shape: [2], data_offsets: [24, 32] });
  assert.deepEqual(new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + 24, buf.byteOffset + 8 + n + 32)), b);
  assert.equal(buf.length, 8 + n + 32);
  const back = readSafetensors(p);
  assert.deepEqual(back.map(t => t.name), ["x.weight", "y"]);
  assert.deepEqual(back[0].data, a);
});

test("BF16 write then read gives the bf16-rounded values", () => {
  const src = new Float32Array(1000).map((_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
  const p = join(dir, "bf.safetensors");
  writeSafetensors(p, [{ name: "t", shape: [10, 100], data: src }], "BF16");
  const [t] = readSafetensors(p);
  for (let i = 0; i < src.length; i++) assert.ok(Math.abs(t.data[i] - src[i]) <= Math.abs(src[i]) * 2 ** -8, `element ${i}`);
  assert.equal(readFileSync(p).length - 8 - Number(readFileSync(p).readBigUInt64LE(0)), 2000);
});

test("reads into a caller's buffer (a view into a flat parameter buffer)", () => {
  const p = join(dir, "into.safetensors");
  writeSafetensors(p, [{ name: "t", shape: [4], data: new Float32Array([9, 8, 7, 6]) }]);
  const flat = new Float32Array(10);
  const f = new SafetensorsFile(p);
  f.read("t", flat.subarray(3, 7));
  f.close();
  assert.deepEqual([...flat], [0, 0, 0, 9, 8, 7, 6, 0, 0, 0]);
});

test("damaged files give named errors, never a silent load", () => {
  const good = join(dir, "good.safetensors");
  writeSafetensors(good, [{ name: "a", shape: [2, 2], data: new Float32Array(4).fill(1) }, { name: "b", shape: [3], data: new Float32Array(3) }]);
  const bytes = readFileSync(good);
  const bad = join(dir, "bad.safetensors");
  const expect = (content: Buffer, err: new (...a: never[]) => Error, re: RegExp) => {
    writeFileSync(bad, content);
    assert.throws(() => readSafetensors(bad), (e: Error) => e instanceof err && re.test(e.message), `${err.name} ${re}`);
  };
  // truncated anywhere: in the length, in the header, in the data
  for (const cut of [3, 20, bytes.length - 1]) {
    writeFileSync(bad, bytes);
    truncateSync(bad, cut);
    assert.throws(() => readSafetensors(bad), SafetensorsTruncatedError, `cut at ${cut}`);
  }
  const f32 = (n: number) => new Uint8Array(4 * n);
  expect(Buffer.concat([bytes, Buffer.alloc(4)]), SafetensorsCorruptError, /after the last tensor/);
  expect(handMade({ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, f32(3)), SafetensorsCorruptError, /shape \[2,2\] × F32 is 16 bytes/);
  expect(handMade({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, f32(3)), SafetensorsCorruptError, /overlaps/);
  expect(handMade({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32(2)), SafetensorsCorruptError, /gap of 4 bytes/);
  expect(handMade({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(2)), SafetensorsTruncatedError, /need 16 data bytes/);
  expect(handMade({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, f32(1)), SafetensorsCorruptError, /unknown dtype/);
  expect(handMade({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32(1)), SafetensorsCorruptError, /invalid shape/);
  expect(handMade({ a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, f32(1)), SafetensorsCorruptError, /invalid data_offsets/);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(1n << 40n);
  expect(Buffer.concat([len, Buffer.alloc(16)]), SafetensorsCorruptError, /header length/);
  len.writeBigUInt64LE(5n);
  expect(Buffer.concat([len, Buffer.from("{\"a\":")]), SafetensorsCorruptError, /not UTF-8 JSON/);
  expect(handMade({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, f32(2)), UnsupportedDtypeError, /I64 is not supported/);
});
