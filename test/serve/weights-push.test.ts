/**
 * Weights over HTTP into a real `move37 serve` process: a pushed model (and a pushed LoRA adapter) reads back bit
 * for bit, completions report the pushed version, a wrong checksum and an upload cut half-way are refused and
 * leave the old weights serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdirSync, statSync, writeFileSync, createReadStream } from "node:fs";
import { request } from "node:http";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { readSafetensors } from "../../src/model/io/safetensors.js";
import type { CausalLM } from "../../src/model/types.js";
import { withLora } from "../../src/train/lora.js";
import { writePushFile } from "../../src/train/rollout/weights.js";
import { fileSha256, pushWeightsFile, WEIGHTS_SHA256_HEADER, WEIGHTS_VERSION_HEADER } from "../../src/serve/weights-http.js";
import { tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder } from "../train/grpo-micro.js";
import { spawnServe } from "./spawn-serve.js";

async function served(origin: string, dir: string, name: string) {
  const res = await fetch(`${origin}/v1/weights`);
  assert.equal(res.status, 200);
  const file = join(dir, `${name}.safetensors`);
  writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
  return { version: Number(res.headers.get("x-move37-policy-version")), tensors: readSafetensors(file) };
}

function assertBitEqual(got: { name: string; data: Float32Array }[], want: CausalLM, what: string) {
  assert.deepEqual(got.map(t => t.name), want.params.map(p => p.name), `${what}: tensor names`);
  for (const [i, p] of want.params.entries()) {
    const a = Buffer.from(got[i].data.buffer, got[i].data.byteOffset, got[i].data.byteLength), b = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    assert.ok(a.equals(b), `${what}: ${p.name} differs from the trainer's`);
  }
}

const version = async (origin: string) => ((await (await fetch(`${origin}/v1/weights/version`)).json()) as { version: number }).version;

test("weights pushed over HTTP equal the trainer's bit for bit; bad checksums and cut uploads leave the old weights", async () => {
  const root = tempRoot("weights-push"), dir = join(root, "push");
  mkdirSync(dir, { recursive: true });
  const modelDir = byteModelFolder(root);
  const server = await spawnServe(modelDir);
  const origin = new URL(server.url).origin;
  try {
    const base = loadPretrained(modelDir, getBackend("auto")).model;
    assert.equal(await version(origin), 0);
    // the served weights start as the folder's
    assertBitEqual((await served(origin, dir, "start")).tensors, base, "start");

    const b = createModel(base.config, getBackend("auto"), 11); // other weights than the folder's
    writePushFile(b, join(dir, "b.safetensors"));
    const ok = await pushWeightsFile(`${origin}/v1/weights`, join(dir, "b.safetensors"), 3, { timeoutMs: 30_000 });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).version, 3);
    const after = await served(origin, dir, "after-b");
    assert.equal(after.version, 3);
    assertBitEqual(after.tensors, b, "pushed model");
    const completion = await (await fetch(`${server.url}/completions`, { method: "POST", body: JSON.stringify({ prompt: [[1, 2, 3]], max_tokens: 2, seed: 1 }) })).json() as { policy_version: number };
    assert.equal(completion.policy_version, 3, "completions report the version that decoded them");

    // a checksum that does not match the body: refused, version and weights unchanged
    const c = createModel(base.config, getBackend("auto"), 12);
    writePushFile(c, join(dir, "c.safetensors"));
    const bad = await pushWeightsFile(`${origin}/v1/weights`, join(dir, "c.safetensors"), 4, { timeoutMs: 30_000, sha256: "0".repeat(64) });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /checksum mismatch/);
    assert.equal(await version(origin), 3);
    assertBitEqual((await served(origin, dir, "after-bad")).tensors, b, "after a refused checksum");

    // an upload cut half-way (the connection dies): the old weights stay
    // (with the true checksum of the whole file, so only the cut can make the server refuse it)
    const file = join(dir, "c.safetensors"), size = statSync(file).size, sha = await fileSha256(file);
    await new Promise<void>(done => {
      const req = request(`${origin}/v1/weights`, { method: "POST", headers: { "content-length": size, [WEIGHTS_VERSION_HEADER]: "5", [WEIGHTS_SHA256_HEADER]: sha } });
      req.on("error", () => done());
      req.on("response", () => done());
      let sent = 0;
      createReadStream(file, { end: Math.floor(size / 2) }).on("data", d => { sent += d.length; req.write(d); }).on("end", () => setTimeout(() => { req.destroy(); done(); }, 100));
    });
    await new Promise(ok => setTimeout(ok, 200));
    assert.equal(await version(origin), 3);
    assertBitEqual((await served(origin, dir, "after-cut")).tensors, b, "after a cut upload");
    const ver = await (await fetch(`${origin}/v1/weights/version`)).json() as { refused: number; pushes: number };
    assert.equal(ver.pushes, 1);
    assert.equal(ver.refused, 2, "the bad checksum and the cut upload");
    // the same file sent whole is taken: the refusal was the cut's
    const whole = await pushWeightsFile(`${origin}/v1/weights`, file, 5, { timeoutMs: 30_000 });
    assert.equal(whole.status, 200, whole.body);
    assertBitEqual((await served(origin, dir, "after-whole")).tensors, c, "the whole upload");

    // LoRA: only the adapter travels; the server attaches it to its base and serves it
    const lora = withLora(createModel(base.config, getBackend("auto"), 11), { r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: "all-linear", use_rslora: false, seed: 0 } as never, null);
    lora.params.forEach((p, k) => p.data.forEach((_, i) => { p.data[i] = Math.sin(i * 0.37 + k) * 0.1; }));
    writePushFile(lora, join(dir, "lora.safetensors"));
    assert.ok(statSync(join(dir, "lora.safetensors")).size < statSync(join(dir, "b.safetensors")).size / 2, "an adapter push is smaller than the model");
    const pushed = await pushWeightsFile(`${origin}/v1/weights`, join(dir, "lora.safetensors"), 6, { timeoutMs: 30_000 });
    assert.equal(pushed.status, 200, pushed.body);
    const adapter = await served(origin, dir, "lora");
    assert.equal(adapter.version, 6);
    assertBitEqual(adapter.tensors, lora, "pushed adapter");
  } finally {
    await server.stop();
  }
});
