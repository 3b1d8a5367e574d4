/**
 * `move37 export --merge`: a PEFT adapter folder folded into its base as a Hugging Face folder (whose logits equal the
 * unmerged LoRA model's) and as GGUF; loading the adapter folder itself; an adapter without --merge is refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { readGgufInfo } from "../../src/model/io/gguf.js";
import { Transformer } from "../../src/model/transformer.js";
import { LoraConfigSchema } from "../../src/model/lora.js";
import { LoraModel, isLoraModel } from "../../src/train/lora.js";
import { tinyConfigs, writeTinyFolder } from "../io/tiny-folder.js";
import { rng } from "../model/finite-diff.js";
import { runExport } from "../io/run-export.js";

import { loadPolicy } from "../../src/eval/problems.js";
import { RolloutConfigSchema } from "../../src/train/rollout/config.js";
import { readHfConfig } from "../../src/model/io/hf.js";
const root = mkdtempSync(join(tmpdir(), "m37-lora-export-"));
test.after(() => rmSync(root, { recursive: true, force: true }));


test("export --merge writes a merged HF folder (= the LoRA model's logits) and a GGUF; adapters need --merge", async () => {
  const baseDir = join(root, "base"), adapterDir = join(root, "adapter");
  writeTinyFolder(baseDir, tinyConfigs.qwen2, 2, "qwen2");
  const be = getBackend("auto");
  const { model: base } = loadPretrained(baseDir, be);
  const lm = new LoraModel(base as Transformer<Float32Array>, LoraConfigSchema.parse({ r: 4, lora_alpha: 8, target_modules: ["q_proj", "v_proj", "down_proj"], use_rslora: true }), baseDir);
  const rand = rng(3);
  for (let i = 0; i < lm.flatParams.length; i++) lm.flatParams[i] = (rand() * 2 - 1) * 0.3;
  lm.saveAdapter(adapterDir);
  assert.ok(existsSync(join(adapterDir, "adapter_config.json")) && existsSync(join(adapterDir, "tokenizer.json")));

  const ids = Int32Array.of(5, 9, 2, 7, 1), v = Uint8Array.of(1, 1, 1, 1, 1);
  const want = lm.decode(lm.newCache(1, 8), ids, v, 5);
  const loaded = loadPretrained(adapterDir, be).model;
  assert.ok(isLoraModel(loaded));
  assert.deepEqual(Array.from(loaded.decode(loaded.newCache(1, 8), ids, v, 5)), Array.from(want));

  const merged = join(root, "merged");
  assert.match(await runExport([adapterDir, "--merge", "--format", "hf", "--out", merged]), /6 LoRA adapters merged \(r 4\)/);
  assert.ok(!existsSync(join(merged, "adapter_config.json")) && existsSync(join(merged, "tokenizer.json")));
  const m = loadPretrained(merged, be).model;
  assert.ok(!isLoraModel(m));
  const got = m.decode(m.newCache(1, 8), ids, v, 5);
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  assert.ok(maxDiff < 1e-4, `merged vs unmerged logits differ by ${maxDiff}`);
  const baseLogits = lm.reference().decode(lm.newCache(1, 8), ids, v, 5);
  assert.ok(baseLogits.some((x, i) => Math.abs(x - want[i]) > 1e-2), "the adapter changes the logits");

  const gguf = join(root, "merged.gguf");
  assert.match(await runExport([adapterDir, "--merge", "--out", gguf]), /LoRA adapters merged/);
  assert.equal(readGgufInfo(gguf).kv.get("general.architecture")!.value, "qwen2");
  await assert.rejects(runExport([adapterDir, "--out", join(root, "x.gguf")]), /is a LoRA adapter folder.*--merge/);
});

test("an adapter folder served by an OpenAI server lends its tokenizer and its base's config (eos) to eval/sample", () => {
  const baseDir = join(root, "base-served"), adapterDir = join(root, "adapter-served");
  writeTinyFolder(baseDir, tinyConfigs.qwen2, 2, "qwen2");
  const { model: base } = loadPretrained(baseDir, getBackend("auto"));
  new LoraModel(base as Transformer<Float32Array>, LoraConfigSchema.parse({ r: 2, lora_alpha: 4 }), baseDir).saveAdapter(adapterDir);
  assert.ok(!existsSync(join(adapterDir, "config.json")), "an adapter folder holds no config.json");
  const policy = loadPolicy(adapterDir, { backend: "auto", rollout: RolloutConfigSchema.parse({ backend: "openai", base_url: "http://127.0.0.1:9/v1" }) });
  assert.equal(policy.model, null);
  assert.ok(policy.eosTokenIds.includes(readHfConfig(baseDir).eos_token_id!), `${policy.eosTokenIds}`);
});
