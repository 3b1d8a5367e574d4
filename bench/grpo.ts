/**
 * GRPO step benchmark: one step of the R1-Zero recipe (recipes/r1-zero-tiny.yaml) — generation of G completions per
 * prompt with the KV cache, reward scoring and group advantages, then training: the reference log-probs when β > 0,
 * forward + backward of the GRPO loss, AdamW — timed per phase with the process's peak RSS, against the same step in
 * PyTorch 1.13 eager (bench/peers/torch_grpo.py: HF-generate-style KV-cache sampling, TRL's loss, a LoRA written out
 * from PEFT's formulas) with the same shapes and thread count. Cases:
 *   tiny         recipes/base-tiny.yaml's byte-level Llama (hidden 256, 4 layers, vocab 258), 4 prompts × 16 × 96, β 0
 *   qwen         Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14 heads, 2 KV heads, FFN 4864, vocab 151936, tied,
 *                qkv bias), 1 prompt × 8 generations × 256 new tokens, β 0, full fine-tune F32
 *   qwen-full    issue 18 (a): the 0.5B shape, 8 prompts × 8 × 256, β = 0.04, full fine-tune F32 (the reference a
 *                second F32 copy, as the trainer keeps)
 *   qwen-lora    issue 18 (b): the same step with LoRA r 16, lora_alpha 32 on all seven projections over a frozen BF16
 *                base (--lora-base float32 for an F32 base); the reference is the base with the adapters off
 *   qwen15-lora  (b) at Qwen2.5-1.5B's shape (hidden 1536, 28 layers, 12 heads, 2 KV heads, FFN 8960, vocab 151936,
 *                tied): the issue's target is its peak RSS (< 12 GiB)
 * Move37's side also reports where its time goes (issue 18's "per-kernel breakdown"): every backend kernel is timed
 * (bench/common.ts kernelTimer) during generation and during training, and each phase's figures give the seconds in
 * each kernel of ≥ 1% of the phase, the rest of the kernels together, and JavaScript outside the kernels.
 * `--case issue` runs qwen-full and qwen-lora and adds the (b)/(a) figures (time and peak RSS of LoRA against the full
 * fine-tune, Move37 and PyTorch each); `all` runs tiny and qwen. `--layers N` scales every Qwen case down (the figure
 * names carry the layer count and the shape), `--new-tokens` the completion length.
 * Weights are random (each side its own init) and EOS is off, so every completion runs to the full length and both
 * sides do the same work. Random weights never earn the recipe's reward, so every group would have zero variance and
 * dynamic sampling would drop the whole step: the rewards and advantages are computed and timed as the trainer does,
 * but the loss uses advantages ±1 alternating (a kept group, half right), the same on both sides.
 * Each side runs in its own process after --warmup warm-up steps (default 1); the best of --steps timed steps counts.
 * The PyTorch peer runs under each of bench/common.ts's thread variants (--peer-variant NAME: only that one;
 * --no-peer: none) and its best counts.
 *
 *   npm run bench -- grpo [--case tiny|qwen|qwen-full|qwen-lora|qwen15-lora|issue|all] [--layers N] [--new-tokens N]
 *                         [--steps 1] [--warmup 1] [--lora-base bfloat16|float32] [--peer-variant NAME] [--no-peer]
 *   npm run bench -- grpo --quick     (smoke run: 16 new tokens, the Qwen shape with 2 layers)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { getBackend } from "../src/engine/index.js";
import { ModelConfigSchema, type ModelConfig } from "../src/model/config.js";
import { createModel, type Transformer } from "../src/model/transformer.js";
import type { CausalLM } from "../src/model/types.js";
import { FrozenWeightsError } from "../src/model/params.js";
import { f32ToBf16 } from "../src/model/io/half.js";
import { uniformRng } from "../src/rng.js";
import type { Backend } from "../src/engine/backend.js";
import { parseWeightsDtype, type WeightsDtype } from "../src/model/io/pretrained.js";
import { LoraConfigSchema, LoraModel, isLoraModel, type LoraConfig } from "../src/train/lora.js";
import { ByteTokenizer } from "../src/tokenizer/byte.js";
import { HfTokenizer } from "../src/tokenizer/hf.js";
import { byteLevelTokenizerJson } from "../src/tokenizer/tokenizer-json.js";
import type { Tokenizer } from "../src/tokenizer/types.js";
import { generate } from "../src/sample/generate.js";
import { makeTask, trainEvalSplit } from "../src/tasks/index.js";
import { GRPORecipeSchema, promptFormat, type GRPORecipe } from "../src/train/grpo-trainer.js";
import { combineRewards, computeAdvantages, grpoStep, rewardWeightsOf } from "../src/train/grpo/index.js";
import { defaultMicroBatch } from "../src/train/grpo/step.js";
import { scoreCompletions } from "../src/train/rewarding.js";
import { AdamW } from "../src/train/optimizer.js";
import { ensureTorch, figure, kernelTimer, printFigures, runPythonPeer, PeerError, PEER_THREAD_VARIANTS, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    case: { type: "string", default: "all" }, layers: { type: "string" }, "new-tokens": { type: "string" },
    steps: { type: "string", default: "1" }, warmup: { type: "string", default: "1" }, quick: { type: "boolean", default: false },
    "lora-base": { type: "string", default: "bfloat16" }, "peer-variant": { type: "string" }, "no-peer": { type: "boolean", default: false },
    worker: { type: "string" },
  },
});

const RECIPE = fileURLToPath(new URL("../recipes/r1-zero-tiny.yaml", import.meta.url));
const BASE = fileURLToPath(new URL("../recipes/base-tiny.yaml", import.meta.url));
const readYaml = (path: string) => parseYaml(readFileSync(path, "utf8")) as Record<string, unknown>;

/** A bench argument or run that cannot give comparable figures. */
export class GrpoBenchError extends Error {
  constructor(message: string) { super(message); this.name = "GrpoBenchError"; }
}

interface Case {
  id: string; label: string; config: ModelConfig; tokenizer: Tokenizer; prompts: number; generations: number; newTokens: number;
  beta: number; lora: LoraConfig | null; baseDtype: WeightsDtype;
}

/** Qwen2.5-0.5B's vocabulary size with a tokenizer that can emit every id: bytes, "tok<id>" words, two specials. */
function fullVocabTokenizer(V: number): Tokenizer {
  const json = byteLevelTokenizerJson([], []);
  for (let id = 256; id < V - 2; id++) json.model.vocab[`tok${id}`] = id; // printable ASCII spells itself in byte-level BPE
  json.added_tokens = ["<|endoftext|>", "<|im_end|>"].map((content, i) => ({
    id: V - 2 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return new HfTokenizer(json, { eos_token: "<|im_end|>" });
}

/** Qwen2.5 shapes (random weights): 0.5B and 1.5B, `layers` of them. */
function qwenConfig(size: "0.5b" | "1.5b", layers: number): ModelConfig {
  const shape = size === "0.5b"
    ? { hidden_size: 896, num_attention_heads: 14, intermediate_size: 4864 }
    : { hidden_size: 1536, num_attention_heads: 12, intermediate_size: 8960 };
  return ModelConfigSchema.parse({
    architecture: "qwen2", vocab_size: 151936, ...shape, num_hidden_layers: layers, num_key_value_heads: 2,
    rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true, tie_word_embeddings: true, max_position_embeddings: 32768,
    eos_token_id: 151935, bos_token_id: null,
  });
}

/** Issue 18's adapters: r 16, lora_alpha 32, all seven projections. */
const ISSUE_LORA = LoraConfigSchema.parse({ r: 16, lora_alpha: 32, target_modules: "all-linear" });

export const CASES = ["tiny", "qwen", "qwen-full", "qwen-lora", "qwen15-lora"] as const;

function makeCase(id: string, layers: number | undefined, newTokens: number | undefined, loraBase: WeightsDtype): Case {
  const none = { beta: 0, lora: null, baseDtype: "float32" as const };
  if (id === "tiny") {
    const config = ModelConfigSchema.parse(readYaml(BASE).model);
    const g = readYaml(RECIPE).grpo as Record<string, number>;
    return { id, label: `r1-zero-tiny: d256 L4 V258, ${g.prompts_per_step}×${g.num_generations}×${newTokens ?? g.max_completion_length}`, config,
      tokenizer: new ByteTokenizer(), prompts: g.prompts_per_step, generations: g.num_generations, newTokens: newTokens ?? g.max_completion_length, ...none };
  }
  if (!(CASES as readonly string[]).includes(id)) throw new GrpoBenchError(`unknown --case ${id}: use ${CASES.join(", ")}, issue or all`);
  const big = id === "qwen15-lora";
  const config = qwenConfig(big ? "1.5b" : "0.5b", layers ?? (big ? 28 : 24));
  const L = config.num_hidden_layers, N = newTokens ?? 256, tokenizer = fullVocabTokenizer(config.vocab_size);
  const shape = big ? "Qwen2.5-1.5B" : "Qwen2.5-0.5B";
  if (id === "qwen") return { id, label: `${shape} shape L${L}, 1×8×${N}`, config, tokenizer, prompts: 1, generations: 8, newTokens: N, ...none };
  const lora = id === "qwen-full" ? null : ISSUE_LORA;
  const how = lora ? `LoRA r${lora.r} all projections, ${loraBase === "bfloat16" ? "BF16" : "F32"} base` : "full FT F32";
  return { id, label: `${shape} shape L${L}, 8×8×${N}, β 0.04, ${how}`, config, tokenizer, prompts: 8, generations: 8, newTokens: N,
    beta: 0.04, lora, baseDtype: lora ? loraBase : "float32" };
}

/** The recipe with the case's group shape; dynamic sampling off (see the header). */
function recipeFor(c: Case): GRPORecipe {
  const { trainer: _, ...raw } = readYaml(RECIPE);
  const grpo = { ...(raw.grpo as object), prompts_per_step: c.prompts, num_generations: c.generations, max_completion_length: c.newTokens, dynamic_sampling: false, beta: c.beta };
  return GRPORecipeSchema.parse({ ...raw, grpo });
}

/** What both sides are given: prompt ids, gold answers, the tokenizer's bytes per id, hyper-parameters, the loss's advantages. */
function specFor(c: Case, steps: number, warmup: number) {
  const r = recipeFor(c), g = r.grpo, fmt = promptFormat(r.prompt, c.tokenizer);
  const split = trainEvalSplit(makeTask(r.task), { train_seed: r.train_seed, eval_seed: r.eval_seed, eval_size: 1 });
  const examples = Array.from({ length: c.prompts }, (_, i) => split.train(i));
  const utf8 = new TextEncoder();
  const vocabHex = Array.from({ length: c.config.vocab_size }, (_, id) =>
    Buffer.from(id < 256 ? [id] : utf8.encode(c.tokenizer.decode([id]))).toString("hex")); // ids < 256 are raw bytes in both tokenizers
  return {
    case: c.id, layers: c.config.num_hidden_layers, config: c.config, steps, warmup, lora_base: c.baseDtype,
    beta: c.beta, lora: c.lora && { r: c.lora.r, lora_alpha: c.lora.lora_alpha, target_modules: c.lora.target_modules }, base_dtype: c.baseDtype,
    prompts: examples.map(ex => fmt.encode(ex)), golds: examples.map(ex => ex.answer), examples, vocab_hex: vocabHex,
    num_generations: g.num_generations, max_new_tokens: c.newTokens, temperature: g.temperature,
    epsilon: g.epsilon, epsilon_high: g.epsilon_high ?? g.epsilon, learning_rate: g.learning_rate,
    adam_beta2: r.adam_beta2, weight_decay: r.weight_decay, max_grad_norm: g.max_grad_norm,
    advantages: Array.from({ length: c.prompts * c.generations }, (_, i) => (i % 2 ? -1 : 1)),
    micro_batch: g.per_device_train_batch_size ?? defaultMicroBatch(c.prompts * c.generations), // grpoStep's micro-batches
  };
}
type Spec = ReturnType<typeof specFor>;

interface Side {
  generation_s: number; reward_s: number; training_s: number; total_s: number; threads: number; completion_tokens: number; peak_rss_mb: number; trainable: number;
  /** Move37 only: seconds of the timed step in each backend kernel, and in JavaScript outside them, per phase. */
  kernels_s?: { generation: Record<string, number>; training: Record<string, number> };
}

/**
 * A frozen BF16 model with random weights (uniform, std 0.02; norms 1, biases 0) written straight into its BF16
 * buffers. createModel(…, seed, { weights: "bfloat16" }) initialises a whole F32 copy first and rounds it, which would
 * put an F32 model into the peak RSS; a trainer loads its BF16 base from safetensors without one.
 */
function randomBf16Base(config: ModelConfig, be: Backend, seed: number): CausalLM {
  const model = createModel(config, be, null, { weights: "bfloat16" }) as Transformer<Float32Array>;
  const rand = uniformRng(seed + 1), a = 0.02 * Math.sqrt(3);
  const chunk = new Float32Array(1 << 20);
  for (const p of model.bf16Params) {
    for (let i = 0; i < p.data.length; i += chunk.length) {
      const n = Math.min(chunk.length, p.data.length - i);
      for (let j = 0; j < n; j++) chunk[j] = (2 * rand() - 1) * a;
      f32ToBf16(chunk.subarray(0, n), p.data.subarray(i, i + n));
    }
  }
  for (const p of model.params) p.data.fill(/norm/.test(p.name) ? 1 : 0);
  return model;
}

/**
 * Move37's side, in a worker process: the trainer's own step (grpoStep, src/train/grpo/step.ts; μ = 1), with the
 * trainer's reference (referenceModel in src/train/grpo-trainer.ts): a second F32 copy for a full fine-tune, the base
 * with adapters off under LoRA.
 */
async function measureMove37(spec: Spec): Promise<Side> {
  const c = makeCase(spec.case, spec.layers, spec.max_new_tokens, spec.lora_base);
  const r = recipeFor(c), g = r.grpo, fmt = promptFormat(r.prompt, c.tokenizer);
  const be = getBackend("native");
  const base = c.baseDtype === "bfloat16" ? randomBf16Base(c.config, be, 0) : createModel(c.config, be, 0);
  const model: CausalLM = c.lora ? new LoraModel(base as Transformer<Float32Array>, c.lora) : base;
  let ref: CausalLM | undefined;
  if (g.beta > 0) {
    if (isLoraModel(model)) ref = model.reference();
    else { const copy = createModel(c.config, be, null); copy.flatParams.set(model.flatParams); ref = copy; }
  }
  const optimizer = new AdamW(model, be, { learning_rate: g.learning_rate, max_grad_norm: g.max_grad_norm, adam_beta2: r.adam_beta2, weight_decay: r.weight_decay });
  const N = spec.max_new_tokens, rows = spec.prompts.length * g.num_generations;
  const advantages = Float64Array.from(spec.advantages);
  const timer = kernelTimer(be);
  /**
   * Each kernel's seconds in the phase just timed (those under 1% of it summed as "other kernels"), and JavaScript's:
   * the phase's wall time minus all kernels'.
   */
  const phase = (wallMs: number) => {
    const ks = Object.entries(timer.times()).sort((a, b) => b[1].ms - a[1].ms);
    const big = ks.filter(([, t]) => t.ms >= 0.01 * wallMs), small = ks.filter(([, t]) => t.ms < 0.01 * wallMs);
    const out = Object.fromEntries(big.map(([k, t]) => [k, t.ms / 1000]));
    if (small.length) out[`${small.length} other kernels`] = small.reduce((s, [, t]) => s + t.ms, 0) / 1000;
    out["JavaScript (outside the kernels)"] = (wallMs - ks.reduce((s, [, t]) => s + t.ms, 0)) / 1000;
    timer.reset();
    return out;
  };
  const step = async (seed: number) => {
    timer.reset(); timer.on();
    const t0 = performance.now();
    const gens = generate(model, c.tokenizer, spec.prompts, {
      maxNewTokens: N, temperature: g.temperature, topP: g.top_p, topK: g.top_k, numReturnSequences: g.num_generations,
      seed, stop: fmt.stop, eosTokenIds: [],
    });
    const t1 = performance.now();
    const generation = phase(t1 - t0);
    const short = gens.find(x => x.ids.length !== N);
    if (short) throw new GrpoBenchError(`a completion stopped after ${short.ids.length} of ${N} tokens (${short.finishReason}): the peer always generates the full length, so this step is not comparable; run again (another seed) or lower --new-tokens`);
    const scored = await scoreCompletions(g.reward_funcs, gens.map(x => fmt.completion(x)), gens.map(x => spec.examples[x.prompt]));
    computeAdvantages(combineRewards(scored.table, rewardWeightsOf(g)), g.num_generations, g.scale_rewards);
    const t2 = performance.now();
    timer.reset();
    // The trainer's step: EOS off (eosIds []), every row kept, the spec's advantages.
    try {
      grpoStep(model, optimizer, { prompts: spec.prompts, rows: gens, advantages }, g, { eosIds: [], lr: g.learning_rate, ref });
    } catch (e) {
      if (e instanceof FrozenWeightsError) throw new GrpoBenchError(`${e.message}. LoRA over a BF16 base needs the backward through frozen BF16 weights (the bf16train branch); until this checkout has it, run with --lora-base float32`);
      throw e;
    }
    const t3 = performance.now();
    const training = phase(t3 - t2);
    timer.off();
    return { generation_s: (t1 - t0) / 1000, reward_s: (t2 - t1) / 1000, training_s: (t3 - t2) / 1000, total_s: (t3 - t0) / 1000, kernels_s: { generation, training } };
  };
  for (let w = 0; w < spec.warmup; w++) await step(1);
  let best = await step(2);
  for (let s = 1; s < spec.steps; s++) { const t = await step(2 + s); if (t.total_s < best.total_s) best = t; }
  return { ...best, threads: be.threads, completion_tokens: rows * N, peak_rss_mb: process.resourceUsage().maxRSS / 1024, trainable: model.flatParams.length };
}

function runWorker(specPath: string): Side {
  const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--worker", specPath], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout?.trim().split("\n").at(-1);
  if (r.status !== 0 || !line) throw new PeerError("move37 worker", `exit status ${r.status} (its stderr is above)`);
  return JSON.parse(line) as Side;
}

interface CaseResult { c: Case; ours: Side; peer: Side | null; peerName: string }

function benchCase(c: Case, steps: number, warmup: number): CaseResult {
  const specPath = join(tmpdir(), `m37-bench-grpo-${process.pid}-${c.id}.json`);
  writeFileSync(specPath, JSON.stringify(specFor(c, steps, warmup)));
  try {
    process.stderr.write(`grpo (${c.id}): Move37 (load ${load()})\n`);
    const ours = runWorker(specPath);
    process.stderr.write(`grpo (${c.id}): Move37 ${JSON.stringify(ours)} (load ${load()})\n`);
    if (args["no-peer"]) return { c, ours, peer: null, peerName: "none" };
    const variants = args["peer-variant"] ? PEER_THREAD_VARIANTS.filter(v => v.name === args["peer-variant"]) : PEER_THREAD_VARIANTS;
    if (!variants.length) throw new GrpoBenchError(`--peer-variant ${args["peer-variant"]}: use one of ${PEER_THREAD_VARIANTS.map(v => v.name).join(", ")}`);
    const peers = runPythonPeer<Side>(fileURLToPath(new URL("./peers/torch_grpo.py", import.meta.url)), [specPath], variants);
    const best = peers.reduce((a, b) => (b.result.total_s < a.result.total_s ? b : a));
    const how = c.lora ? `, LoRA ${c.baseDtype === "bfloat16" ? "BF16" : "F32"} base` : "";
    process.stderr.write(`grpo (${c.id}): Move37 ${ours.threads} threads, peer ${best.result.threads} torch threads (${best.variant}) ${JSON.stringify(best.result)} (load ${load()})\n`);
    return { c, ours, peer: best.result, peerName: `pytorch 1.13 eager${how} (${best.variant})` };
  } finally {
    rmSync(specPath, { force: true });
  }
}

/** Figures of one case against its peer (Move37 alone, peer "none", with --no-peer). */
function caseFigures({ c, ours, peer, peerName }: CaseResult): Figure[] {
  const f = (name: string, unit: string, key: Exclude<keyof Side, "kernels_s">, lowerIsBetter = true) =>
    peer ? figure({ bench: "grpo", figure: `${name} (${c.id}) ${c.label}`, unit, value: ours[key], peer: peerName, peer_value: peer[key] }, lowerIsBetter)
      : { bench: "grpo", figure: `${name} (${c.id}) ${c.label}`, unit, value: ours[key], peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number };
  const figs = [f("generation", "s", "generation_s"), f("reward+advantages", "s", "reward_s"), f("training", "s", "training_s"), f("step", "s", "total_s")];
  const tps = (s: Side) => s.completion_tokens / s.total_s;
  figs.push(peer ? figure({ bench: "grpo", figure: `step (${c.id}) ${c.label}`, unit: "tokens/s", value: tps(ours), peer: peerName, peer_value: tps(peer) })
    : { bench: "grpo", figure: `step (${c.id}) ${c.label}`, unit: "tokens/s", value: tps(ours), peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number });
  figs.push(f("peak RSS", "MiB", "peak_rss_mb"));
  // where Move37's time goes (issue 18: "a per-kernel breakdown"), Move37 alone
  for (const [ph, ks] of Object.entries(ours.kernels_s ?? {}))
    for (const [k, sec] of Object.entries(ks))
      figs.push({ bench: "grpo", figure: `${ph}: ${k} (${c.id}) ${c.label}`, unit: "s", value: sec, peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number });
  return figs;
}

/** Issue 18's (b)/(a) figures: LoRA (b) against the full fine-tune (a), each side's own; ratio = (a)/(b), > 1 = LoRA better. */
function loraVsFull(a: CaseResult, b: CaseResult): Figure[] {
  const L = a.c.config.num_hidden_layers, N = a.c.newTokens;
  const out: Figure[] = [];
  const sides: [string, Side, Side | null][] = [["move37", b.ours, a.ours], ["pytorch", b.peer!, a.peer]];
  for (const [who, lora, full] of sides) {
    if (!lora || !full) continue;
    for (const [name, key] of [["step", "total_s"], ["generation", "generation_s"], ["training", "training_s"], ["peak RSS", "peak_rss_mb"]] as const) {
      out.push(figure({ bench: "grpo", figure: `${who}: LoRA (b) vs full FT (a), ${name} (0.5B shape L${L}, 8×8×${N})`, unit: key === "peak_rss_mb" ? "MiB" : "s",
        value: lora[key], peer: `${who} full FT (a)`, peer_value: full[key] }, true));
    }
  }
  return out;
}

const load = () => loadavg()[0].toFixed(2);

if (args.worker) {
  console.log(JSON.stringify(await measureMove37(JSON.parse(readFileSync(args.worker, "utf8")) as Spec)));
  process.exit(0); // a reward worker thread must not keep the process alive
} else {
  if (!args["no-peer"]) ensureTorch();
  const quick = args.quick;
  const layers = args.layers !== undefined ? Number(args.layers) : quick ? 2 : undefined;
  const newTokens = args["new-tokens"] !== undefined ? Number(args["new-tokens"]) : quick ? 16 : undefined;
  const loraBase = parseWeightsDtype(args["lora-base"]!);
  const ids = args.case === "all" ? ["tiny", "qwen"] : args.case === "issue" ? ["qwen-full", "qwen-lora"] : [args.case!];
  const results = ids.map(id => benchCase(makeCase(id, layers, newTokens, loraBase), Number(args.steps), Number(args.warmup)));
  const figures = results.flatMap(caseFigures);
  const full = results.find(r => r.c.id === "qwen-full"), lora = results.find(r => r.c.id === "qwen-lora");
  if (full && lora) figures.push(...loraVsFull(full, lora));
  printFigures(figures, `one GRPO step (dapo, on-policy, no EOS; β as labelled); tokens/s = completion tokens / step time; time and RSS ratios = peer / Move37 (LoRA vs full: (a)/(b)); load now ${load()}`);
}
