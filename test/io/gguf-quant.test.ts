// GGUF BF16 and Q8_0 (issue 18): the block layout of ggml's Q8_0 (an F16 scale, 32 int8s; x ≈ d·q) and BF16's
// rounding, byte for byte on hand-made values; an export's tensor types and sizes; and the values read back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGML_TYPES, dequantizeQ8_0, quantizeQ8_0, readGgufInfo, readGgufTensor, writeGguf } from "../../src/model/io/gguf.js";
import { exportGguf, ggmlTypeFor } from "../../src/model/io/gguf-export.js";
import { GgufExportError } from "../../src/model/io/errors.js";
import { tinyConfigs, writeTinyFolder } from "./tiny-folder.js";

const root = mkdtempSync(join(tmpdir(), "m37-gguf-quant-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

test("Q8_0 block: F16 scale max|x|/127, then round(x/d) half away from zero, 34 bytes per 32 values", () => {
  // max |x| = 127 → d = 1 exactly, so q = round(x): 2.5 → 3, −2.5 → −3 (away from zero), 0.49 → 0, −127 → −127
  const x = new Float32Array(64);
  x.set([2.5, -2.5, 0.49, -127, 100.5, 1]);
  x.set([0.5, -0.25], 32); // second block: d = 0.5/127
  const out = new Uint8Array(68);
  quantizeQ8_0(x, out);
  const v = new DataView(out.buffer);
  assert.equal(v.getUint16(0, true), 0x3c00, "d = 1.0 as F16");
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(j => v.getInt8(2 + j)), [3, -3, 0, -127, 101, 1, 0]);
  assert.deepEqual([0, 1].map(j => v.getInt8(36 + j)), [127, -64], "0.5 → 127; −0.25·127/0.5 = −63.5 → −64");
  const back = new Float32Array(64);
  dequantizeQ8_0(out, back);
  assert.deepEqual([...back.subarray(0, 6)], [3, -3, 0, -127, 101, 1]);
  assert.ok(Math.abs(back[32] - 0.5) < 1e-3 && Math.abs(back[33] + 64 * 0.5 / 127) < 64 * 0.5 / 127 * 2 ** -11, "x = d·q (d rounded to F16)");
  const zero = new Uint8Array(34);
  quantizeQ8_0(new Float32Array(32), zero);
  assert.ok(zero.every(b => b === 0), "an all-zero block is d = 0, q = 0");
});

test("writer: BF16 and Q8_0 tensors get ggml types 30 and 8, their sizes and 32-byte padding; Q8_0 refuses rows that are not whole blocks", () => {
  const w = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i) * 3);
  const path = join(root, "t.gguf");
  writeGguf(path, [["general.architecture", { type: "string", value: "llama" }]], [
    { name: "bf", shape: [2, 64], type: "BF16", data: w }, { name: "q", shape: [2, 64], type: "Q8_0", data: w }, { name: "f", shape: [3], type: "F32", data: new Float32Array(3) },
  ]);
  const info = readGgufInfo(path);
  assert.deepEqual(info.tensors.map(t => [t.name, t.type, t.offset]), [["bf", 30, 0], ["q", 8, 256], ["f", 0, 256 + 160]], "256 BF16 bytes; 4 blocks × 34 = 136 → 160");
  const bf = readGgufTensor(path, info, "bf"), q = readGgufTensor(path, info, "q");
  const bytes = readFileSync(path);
  assert.equal(bytes.readUInt16LE(info.dataStart + 2), new Uint32Array(Float32Array.of(w[1]).buffer)[0] + 0x8000 >>> 16 & 0xffff, "BF16 is the rounded high half");
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(bf[i] - w[i]) <= Math.abs(w[i]) * 2 ** -8, `bf16 ${i}`);
    assert.ok(Math.abs(q[i] - w[i]) <= 3 / 127 * (0.5 + 127 * 2 ** -11), `q8_0 ${i}: ${q[i]} vs ${w[i]}`);
  }
  assert.ok(q.some((x, i) => x !== bf[i]), "Q8_0 and BF16 are different roundings");
  assert.throws(() => writeGguf(join(root, "bad.gguf"), [], [{ name: "q", shape: [2, 48], type: "Q8_0", data: new Float32Array(96) }]), /not a multiple of 32/);
});

test("export --dtype bf16 / q8_0: 2-D weights in the dtype (Q8_0 falls back to F16 for rows that are not whole blocks), 1-D ones F32, file_type set", () => {
  const dir = join(root, "qwen2");
  const model = writeTinyFolder(dir, tinyConfigs.qwen2, 12, "qwen2");
  const sizes: Record<string, number> = {};
  for (const dtype of ["f32", "bf16", "q8_0"] as const) {
    const out = join(root, `m-${dtype}.gguf`);
    exportGguf(dir, out, dtype);
    sizes[dtype] = statSync(out).size;
    const info = readGgufInfo(out);
    assert.equal(info.kv.get("general.file_type")!.value, { f32: 0, bf16: 32, q8_0: 7 }[dtype]);
    const want = { f32: GGML_TYPES.F32, bf16: GGML_TYPES.BF16, q8_0: GGML_TYPES.Q8_0 }[dtype];
    for (const t of info.tensors) assert.equal(t.type, t.ne.length === 1 ? GGML_TYPES.F32 : want, `${dtype} ${t.name}`);
    // the values: the model's own, within the dtype's rounding
    const q = readGgufTensor(out, info, "blk.0.attn_q.weight"), src = model.params.find(p => p.name === "model.layers.0.self_attn.q_proj.weight")!.data;
    let maxErr = 0, maxAbs = 0;
    src.forEach((x, i) => { maxErr = Math.max(maxErr, Math.abs(q[i] - x)); maxAbs = Math.max(maxAbs, Math.abs(x)); });
    assert.ok(maxErr <= { f32: 0, bf16: maxAbs * 2 ** -8, q8_0: maxAbs / 127 * (0.5 + 127 * 2 ** -11) }[dtype], `${dtype} q_proj error ${maxErr}`);
    if (dtype !== "f32") assert.ok(maxErr > 0, `${dtype} really rounded`);
  }
  assert.ok(sizes.bf16 < 0.6 * sizes.f32 && sizes.q8_0 < sizes.bf16, `sizes ${JSON.stringify(sizes)}`);
  assert.equal(ggmlTypeFor("q8_0", [64, 48]), "F16");
  assert.equal(ggmlTypeFor("q8_0", [48, 64]), "Q8_0");
  assert.equal(ggmlTypeFor("bf16", [64]), "F32");
  assert.throws(() => exportGguf(dir, join(root, "x.gguf"), "q4_0" as never), GgufExportError);
});
