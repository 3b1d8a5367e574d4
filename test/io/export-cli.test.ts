import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { register } from "../../src/cli/export.js";
import { output } from "../../src/cli/output.js";
import { readGgufInfo } from "../../src/model/io/gguf.js";
import { tinyConfigs, writeTinyFolder } from "./tiny-folder.js";
import { writeFamilyFolder } from "./family-folders.js";

const root = mkdtempSync(join(tmpdir(), "m37-export-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

async function run(args: string[]): Promise<string> {
  const program = new Command("move37").exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  let out = "";
  const saved = output.out;
  output.out = s => { out += s; };
  try {
    await program.parseAsync(["export", ...args], { from: "user" });
  } finally {
    output.out = saved;
  }
  return out;
}

test("move37 export writes F32 and F16 GGUF files; F16 stores matrices at half the size", async () => {
  const dir = join(root, "model");
  writeTinyFolder(dir, tinyConfigs.qwen2, 2, "qwen2");
  const f32 = join(root, "m32.gguf"), f16 = join(root, "m16.gguf");
  assert.match(await run([dir, "--out", f32]), /wrote .*m32\.gguf: qwen2, 26 tensors, f32/);
  await run([dir, "--format", "gguf", "--dtype", "f16", "--out", f16]);
  assert.equal(readGgufInfo(f32).kv.get("general.file_type")!.value, 0);
  assert.equal(readGgufInfo(f16).kv.get("general.file_type")!.value, 1);
  assert.ok(statSync(f16).size < 0.6 * statSync(f32).size);
  await assert.rejects(run([dir, "--dtype", "q4", "--out", f16]), /Allowed choices are f32, f16/);
  await assert.rejects(run([dir]), /--out/);
});

test("move37 export writes the new families' GGUF and passes a refusal through by key", async () => {
  const dir = join(root, "gemma3");
  writeFamilyFolder(dir, "gemma3", 4);
  const out = join(root, "gemma3.gguf");
  assert.match(await run([dir, "--format", "gguf", "--out", out]), /wrote .*gemma3\.gguf: gemma3, 42 tensors, f32/);
  assert.deepEqual(readGgufInfo(out).kv.get("gemma3.attention.sliding_window_pattern")!.value, [true, false, true]);
  const smol = join(root, "smollm3");
  writeFamilyFolder(smol, "smollm3", 4, { no_rope_layers: [0, 1, 1, 1] });
  await assert.rejects(run([smol, "--out", join(root, "smol.gguf")]), /GGUF export: no_rope_layers is \[0,1,1,1\]/);
});
