/**
 * The LoRA Linear against PyTorch (fixtures/peft_lora.py: PEFT's Linear.forward and scaling written out, autograd
 * gradients) on the reference and native backends: y, dx, dA, dB, the frozen W getting no gradient, and A's
 * Kaiming-uniform bound as torch computes it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import type { Backend } from "../../src/engine/backend.js";
import { linearBackward, linearForward } from "../../src/model/linear.js";
import { LoraConfigSchema, createAdapters, loraScale, type LoraControl, type LoraHook } from "../../src/model/lora.js";
import { ModelConfigSchema } from "../../src/model/config.js";

interface Case {
  R: number; I: number; O: number; r: number; lora_alpha: number; use_rslora: boolean; kaiming_bound: number;
  x: number[]; W: number[]; b: number[] | null; A: number[]; B: number[]; dy: number[]; y: number[]; dx: number[]; dA: number[]; dB: number[];
}
const golden = JSON.parse(readFileSync(new URL("./fixtures/peft_lora.json", import.meta.url), "utf8")) as { cases: Case[] };

function close(name: string, got: ArrayLike<number>, want: number[], tol = 2e-5) {
  assert.equal(got.length, want.length, `${name} length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `${name}[${i}]: ${got[i]} vs torch ${want[i]}`);
}

const backends: [string, Backend][] = [["reference", referenceBackend], ...(nativeAvailable() ? [["native", getBackend("native")] as [string, Backend]] : [])];
for (const [bname, be] of backends) {
  test(`LoRA Linear forward and backward equal PEFT's in PyTorch (${golden.cases.length} cases, ${bname} backend)`, () => {
    for (const c of golden.cases) {
      const f = (a: number[]) => Float32Array.from(a);
      const ctl: LoraControl = { enabled: true, training: true, dropoutCalls: 0, seed: 0, scratch: null };
      const adapter = { module: "m", I: c.I, O: c.O, r: c.r, scale: loraScale(c), dropout: 0, A: f(c.A), B: f(c.B), dA: new Float32Array(c.r * c.I), dB: new Float32Array(c.O * c.r), maskSeed: 0, ctl };
      const hook: LoraHook = { frozen: true, adapter };
      const x = f(c.x), W = f(c.W), b = c.b ? f(c.b) : null, y = new Float32Array(c.R * c.O);
      linearForward(be, y, x, W, b, c.R, c.O, c.I, false, hook);
      close("y", y, c.y);
      const dx = new Float32Array(c.R * c.I).fill(NaN), dW = new Float32Array(c.O * c.I), db = b ? new Float32Array(c.O) : null;
      linearBackward(be, dx, dW, db, f(c.dy), x, W, c.R, c.O, c.I, false, hook);
      close("dx", dx, c.dx); close("dA", adapter.dA, c.dA); close("dB", adapter.dB, c.dB);
      assert.ok(dW.every(v => v === 0) && (!db || db.every(v => v === 0)), "the frozen base gets no gradient");
    }
  });
}

test("A's initialisation is bounded as torch's kaiming_uniform_(a=√5) and B starts at 0", () => {
  for (const c of golden.cases) {
    const cfg = ModelConfigSchema.parse({ vocab_size: 8, hidden_size: c.I, num_hidden_layers: 1, num_attention_heads: 1, num_key_value_heads: 1, intermediate_size: 4, max_position_embeddings: 8 });
    const ad = createAdapters(cfg, LoraConfigSchema.parse({ r: c.r, target_modules: ["q_proj"] }), Float64Array);
    const a = ad.adapters[0];
    assert.ok(Math.abs(1 / Math.sqrt(c.I) - c.kaiming_bound) < 1e-12, "1/√in is torch's bound");
    assert.ok(a.A.every(v => Math.abs(v) <= c.kaiming_bound));
    assert.ok(Math.max(...a.A.map(Math.abs)) > 0.8 * c.kaiming_bound, "spread over the whole range");
    assert.ok(a.B.every(v => v === 0));
  }
});
