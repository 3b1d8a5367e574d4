/**
 * One GRPO step, full fine-tune vs LoRA, with a KL reference (β = 0.04): generation (KV-cache sampling), the
 * reference log-probs (full FT: a second copy of the model, as the trainer keeps; LoRA: the same model with adapters
 * off), forward + backward of the GRPO loss, AdamW. Each mode runs in its own process so peak RSS is its own.
 *   tiny   recipes/base-tiny.yaml's byte-level Llama (d256 L4 V258), 4 prompts × 16 completions × 96 tokens
 *   qwen   Qwen2.5-0.5B's shape (d896 L24, FFN 4864, V151936, tied, qkv bias), 1 × 8 × 256 (--layers, --new-tokens)
 * LoRA: r 16, lora_alpha 32 on all seven projections. Weights are random and EOS is off (every completion runs to
 * the full length). One warm-up step, then the best of --steps.
 *
 *   node --import tsx bench/lora.ts [--case tiny|qwen] [--layers N] [--new-tokens N] [--steps 1]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { getBackend } from "../src/engine/index.js";
import { ModelConfigSchema, type ModelConfig } from "../src/model/config.js";
import { Transformer, createModel } from "../src/model/transformer.js";
import type { CausalLM } from "../src/model/types.js";
import { ByteTokenizer } from "../src/tokenizer/byte.js";
import { generate } from "../src/sample/generate.js";
import { completionMask, grpoLoss, packBatch, GRPOConfigSchema, lossOptionsOf } from "../src/train/grpo/index.js";
import { AdamW } from "../src/train/optimizer.js";
import { LoraConfigSchema, LoraModel } from "../src/train/lora.js";
import { uniformRng } from "../src/rng.js";

const { values: args } = parseArgs({ options: {
  case: { type: "string", default: "tiny" }, layers: { type: "string" }, "new-tokens": { type: "string" }, steps: { type: "string", default: "1" }, worker: { type: "string" },
} });

function shape(id: string): { config: ModelConfig; prompts: number; G: number; N: number } {
  if (id === "tiny") {
    const base = parseYaml(readFileSync(new URL("../recipes/base-tiny.yaml", import.meta.url), "utf8")) as { model: unknown };
    return { config: ModelConfigSchema.parse(base.model), prompts: 4, G: 16, N: Number(args["new-tokens"] ?? 96) };
  }
  const config = ModelConfigSchema.parse({
    architecture: "qwen2", vocab_size: 151936, hidden_size: 896, num_hidden_layers: Number(args.layers ?? 24), num_attention_heads: 14,
    num_key_value_heads: 2, intermediate_size: 4864, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
    tie_word_embeddings: true, max_position_embeddings: 32768, eos_token_id: 151935, bos_token_id: null,
  });
  return { config, prompts: 1, G: 8, N: Number(args["new-tokens"] ?? 256) };
}

async function worker(mode: "full" | "lora"): Promise<void> {
  const s = shape(args.case!), be = getBackend("native"), tok = new ByteTokenizer();
  const base = createModel(s.config, be, 0);
  const model: CausalLM = mode === "lora" ? new LoraModel(base as Transformer<Float32Array>, LoraConfigSchema.parse({ r: 16, lora_alpha: 32, target_modules: "all-linear" }), null) : base;
  const ref: CausalLM = mode === "lora" ? (model as LoraModel).reference() : (() => { const r = createModel(s.config, be, null); r.flatParams.set(base.flatParams); return r; })();
  const g = GRPOConfigSchema.parse({ reward_funcs: ["format"], beta: 0.04, num_generations: s.G, prompts_per_step: s.prompts, max_completion_length: s.N, learning_rate: 1e-5 });
  const optimizer = new AdamW(model, be, { learning_rate: 1e-5 });
  const rand = uniformRng(3), V = Math.min(256, s.config.vocab_size);
  const prompts = Array.from({ length: s.prompts }, () => Array.from({ length: 32 }, () => Math.floor(rand() * V)));
  const rows = s.prompts * s.G, N = s.N;
  const advantages = Float64Array.from({ length: rows }, (_, i) => (i % 2 ? -1 : 1));
  const step = (seed: number) => {
    const t0 = performance.now();
    const gens = generate(model, tok, prompts, { maxNewTokens: N, temperature: 1, numReturnSequences: s.G, seed, eosTokenIds: [] });
    const t1 = performance.now();
    const ids = new Int32Array(rows * N);
    gens.forEach((x, b) => ids.set(x.ids, b * N));
    const cm = completionMask(ids, rows, N, [], { maxLength: N, maskTruncated: false });
    const p = packBatch(gens.map(x => prompts[x.prompt]), gens.map(x => x.ids), gens.map((_, b) => cm.mask.subarray(b * N, (b + 1) * N)));
    const refLogp = ref.forward(p.tokens, p.attention, p.targets, p.B, p.T, 1).logp.slice();
    const t2 = performance.now();
    model.flatGrads.fill(0);
    const out = model.forward(p.tokens, p.attention, p.targets, p.B, p.T, 1);
    const loss = grpoLoss({ B: p.B, T: p.T, logp: out.logp, refLogp, mask: p.lossMask, advantages, entropy: out.entropy },
      { ...lossOptionsOf(g), accumulation_steps: 1, num_items_in_batch: p.lossMask.reduce((a, x) => a + x, 0) });
    model.backward(loss.dlogp);
    optimizer.step();
    const t3 = performance.now();
    return { generation_s: (t1 - t0) / 1000, reference_s: (t2 - t1) / 1000, training_s: (t3 - t2) / 1000, total_s: (t3 - t0) / 1000 };
  };
  step(1);
  let best = step(2);
  for (let i = 1; i < Number(args.steps); i++) { const t = step(2 + i); if (t.total_s < best.total_s) best = t; }
  console.log(JSON.stringify({ mode, ...best, trainable: model.flatParams.length, peak_rss_mb: process.resourceUsage().maxRSS / 1024, threads: be.threads }));
}

if (args.worker) await worker(args.worker as "full" | "lora");
else {
  const res = (["full", "lora"] as const).map(mode => {
    const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), ...process.argv.slice(2), "--worker", mode], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) throw new Error(`${mode} worker failed (${r.status})`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, number | string>;
  });
  const s = shape(args.case!);
  console.log(`GRPO step, ${args.case} (${s.config.num_hidden_layers} layers), ${s.prompts}×${s.G}×${s.N}, β 0.04, ${res[0].threads} threads`);
  console.log("mode   trainable   generation  reference  training   total     peak RSS");
  for (const r of res) console.log(`${String(r.mode).padEnd(6)} ${String(r.trainable).padStart(10)}  ${(+r.generation_s).toFixed(2).padStart(8)} s ${(+r.reference_s).toFixed(2).padStart(8)} s ${(+r.training_s).toFixed(2).padStart(8)} s ${(+r.total_s).toFixed(2).padStart(7)} s ${(+r.peak_rss_mb).toFixed(0).padStart(7)} MB`);
  const [f, l] = res;
  console.log(`LoRA / full: training ${(+l.training_s / +f.training_s).toFixed(2)}×, step ${(+l.total_s / +f.total_s).toFixed(2)}×, peak RSS ${(+l.peak_rss_mb / +f.peak_rss_mb).toFixed(2)}×`);
}
