import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufInfo } from "../../src/model/io/gguf.js";
import { loadHfFolder } from "../../src/model/io/hf.js";
import { tinyConfigs, writeTinyFolder } from "./tiny-folder.js";
import { writeFamilyFolder } from "./family-folders.js";
import { runExport } from "./run-export.js";

const root = mkdtempSync(join(tmpdir(), "m37-export-"));
test.after(() => rmSync(root, { recursive: true, force: true }));


test("move37 export writes F32 and F16 GGUF files; F16 stores matrices at half the size", async () => {
  const dir = join(root, "model");
  writeTinyFolder(dir, tinyConfigs.qwen2, 2, "qwen2");
  const f32 = join(root, "m32.gguf"), f16 = join(root, "m16.gguf");
  assert.match(await runExport([dir, "--out", f32]), /wrote .*m32\.gguf: qwen2, 26 tensors, f32/);
  await runExport([dir, "--format", "gguf", "--dtype", "f16", "--out", f16]);
  assert.equal(readGgufInfo(f32).kv.get("general.file_type")!.value, 0);
  assert.equal(readGgufInfo(f16).kv.get("general.file_type")!.value, 1);
  assert.ok(statSync(f16).size < 0.6 * statSync(f32).size);
  await assert.rejects(runExport([dir, "--dtype", "q4", "--out", f16]), /Allowed choices are f32, f16/);
  await assert.rejects(runExport([dir]), /--out/);
});

test("move37 export writes the new families' GGUF and passes a refusal through by key", async () => {
  const dir = join(root, "gemma3");
  writeFamilyFolder(dir, "gemma3", 4);
  const out = join(root, "gemma3.gguf");
  assert.match(await runExport([dir, "--format", "gguf", "--out", out]), /wrote .*gemma3\.gguf: gemma3, 42 tensors, f32/);
  assert.deepEqual(readGgufInfo(out).kv.get("gemma3.attention.sliding_window_pattern")!.value, [true, false, true]);
  const smol = join(root, "smollm3");
  writeFamilyFolder(smol, "smollm3", 4, { no_rope_layers: [0, 1, 1, 1] });
  await assert.rejects(runExport([smol, "--out", join(root, "smol.gguf")]), /GGUF export: no_rope_layers is \[0,1,1,1\]/);
});

test("move37 export --format hf writes a folder that reloads (f32 exact, bf16 half the size); f16 is refused for hf by name", async () => {
  const dir = join(root, "hf-src");
  writeTinyFolder(dir, tinyConfigs.llama, 3, "gpt2");
  const f32 = join(root, "hf-f32"), bf16 = join(root, "hf-bf16");
  assert.match(await runExport([dir, "--format", "hf", "--out", f32]), /wrote .*hf-f32: llama, \d+ tensors, f32/);
  await runExport([dir, "--format", "hf", "--dtype", "bf16", "--out", bf16]);
  const src = loadHfFolder(dir), a = loadHfFolder(f32), b = loadHfFolder(bf16);
  assert.deepEqual(a.tensors.map(t => [t.name, [...t.data]]), src.tensors.map(t => [t.name, [...t.data]]));
  const w = (x: typeof src) => x.tensors.find(t => t.name === "model.embed_tokens.weight")!.data;
  assert.ok(w(b).some((v, i) => v !== w(src)[i]) && w(b).every((v, i) => Math.abs(v - w(src)[i]) <= Math.abs(w(src)[i]) / 128), "bf16 rounds each weight to 8 bits of mantissa");
  assert.ok(statSync(join(bf16, "model.safetensors")).size < 0.6 * statSync(join(f32, "model.safetensors")).size);
  assert.ok(existsSync(join(f32, "tokenizer.json")) && existsSync(join(f32, "tokenizer_config.json")), "tokenizer files copied");
  await assert.rejects(runExport([dir, "--format", "hf", "--dtype", "f16", "--out", join(root, "hf-f16")]), /--dtype f16 is not a hf dtype: give f32 or bf16/);
});
