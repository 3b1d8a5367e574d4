/**
 * GRPO step benchmark: one step of the R1-Zero recipe (recipes/r1-zero-tiny.yaml) — generation of G completions per
 * prompt with the KV cache, reward scoring and group advantages, forward + backward of the GRPO loss, AdamW — timed
 * per phase, against the same step in PyTorch 1.13 eager (bench/peers/torch_grpo.py: HF-generate-style KV-cache
 * sampling, TRL's loss) with the same shapes and thread count. Two shapes:
 *   tiny   the default run: recipes/base-tiny.yaml's byte-level Llama (hidden 256, 4 layers, vocab 258),
 *          4 prompts × 16 generations × 96 new tokens
 *   qwen   Qwen2.5-0.5B's shape (hidden 896, 24 layers, 14 heads, 2 KV heads, FFN 4864, vocab 151936, tied, qkv bias),
 *          1 prompt × 8 generations × 256 new tokens
 * Weights are random (each side its own init) and EOS is off, so every completion runs to the full length and both
 * sides do the same work. Random weights never earn the recipe's reward, so every group would have zero variance and
 * dynamic sampling would drop the whole step: the rewards and advantages are computed and timed as the trainer does,
 * but the loss uses advantages ±1 alternating (a kept group, half right), the same on both sides.
 * Each side runs in its own process after one warm-up step; the best of --steps timed steps counts.
 *
 *   npm run bench -- grpo [--case tiny|qwen|all] [--layers 24] [--new-tokens N] [--steps 1]
 *   npm run bench -- grpo --quick     (smoke run: 16 new tokens, the Qwen shape with 2 layers)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { getBackend } from "../src/engine/index.js";
import { ModelConfigSchema, type ModelConfig } from "../src/model/config.js";
import { createModel } from "../src/model/transformer.js";
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
import { ensureTorch, figure, printFigures, runPythonPeer, PeerError, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    case: { type: "string", default: "all" }, layers: { type: "string" }, "new-tokens": { type: "string" },
    steps: { type: "string", default: "1" }, quick: { type: "boolean", default: false }, worker: { type: "string" },
  },
});

const RECIPE = fileURLToPath(new URL("../recipes/r1-zero-tiny.yaml", import.meta.url));
const BASE = fileURLToPath(new URL("../recipes/base-tiny.yaml", import.meta.url));
const readYaml = (path: string) => parseYaml(readFileSync(path, "utf8")) as Record<string, unknown>;

/** A bench argument or run that cannot give comparable figures. */
export class GrpoBenchError extends Error {
  constructor(message: string) { super(message); this.name = "GrpoBenchError"; }
}

interface Case { id: string; label: string; config: ModelConfig; tokenizer: Tokenizer; prompts: number; generations: number; newTokens: number }

/** Qwen2.5-0.5B's vocabulary size with a tokenizer that can emit every id: bytes, "tok<id>" words, two specials. */
function fullVocabTokenizer(V: number): Tokenizer {
  const json = byteLevelTokenizerJson([], []);
  for (let id = 256; id < V - 2; id++) json.model.vocab[`tok${id}`] = id; // printable ASCII spells itself in byte-level BPE
  json.added_tokens = ["<|endoftext|>", "<|im_end|>"].map((content, i) => ({
    id: V - 2 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return new HfTokenizer(json, { eos_token: "<|im_end|>" });
}

function makeCase(id: string, layers: number | undefined, newTokens: number | undefined): Case {
  if (id === "tiny") {
    const config = ModelConfigSchema.parse(readYaml(BASE).model);
    const g = readYaml(RECIPE).grpo as Record<string, number>;
    return { id, label: `r1-zero-tiny: d256 L4 V258, ${g.prompts_per_step}×${g.num_generations}×${newTokens ?? g.max_completion_length}`, config,
      tokenizer: new ByteTokenizer(), prompts: g.prompts_per_step, generations: g.num_generations, newTokens: newTokens ?? g.max_completion_length };
  }
  if (id !== "qwen") throw new GrpoBenchError(`unknown --case ${id}: use tiny, qwen or all`);
  const L = layers ?? 24, N = newTokens ?? 256;
  const config = ModelConfigSchema.parse({
    architecture: "qwen2", vocab_size: 151936, hidden_size: 896, num_hidden_layers: L, num_attention_heads: 14,
    num_key_value_heads: 2, intermediate_size: 4864, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
    tie_word_embeddings: true, max_position_embeddings: 32768, eos_token_id: 151935, bos_token_id: null,
  });
  return { id, label: `Qwen2.5-0.5B shape L${L}, 1×8×${N}`, config, tokenizer: fullVocabTokenizer(config.vocab_size), prompts: 1, generations: 8, newTokens: N };
}

/** The recipe with the case's group shape; dynamic sampling off (see the header). */
function recipeFor(c: Case): GRPORecipe {
  const { trainer: _, ...raw } = readYaml(RECIPE);
  const grpo = { ...(raw.grpo as object), prompts_per_step: c.prompts, num_generations: c.generations, max_completion_length: c.newTokens, dynamic_sampling: false };
  return GRPORecipeSchema.parse({ ...raw, grpo });
}

/** What both sides are given: prompt ids, gold answers, the tokenizer's bytes per id, hyper-parameters, the loss's advantages. */
function specFor(c: Case, steps: number) {
  const r = recipeFor(c), g = r.grpo, fmt = promptFormat(r.prompt, c.tokenizer);
  const split = trainEvalSplit(makeTask(r.task), { train_seed: r.train_seed, eval_seed: r.eval_seed, eval_size: 1 });
  const examples = Array.from({ length: c.prompts }, (_, i) => split.train(i));
  const utf8 = new TextEncoder();
  const vocabHex = Array.from({ length: c.config.vocab_size }, (_, id) =>
    Buffer.from(id < 256 ? [id] : utf8.encode(c.tokenizer.decode([id]))).toString("hex")); // ids < 256 are raw bytes in both tokenizers
  return {
    case: c.id, layers: c.config.num_hidden_layers, config: c.config, steps,
    prompts: examples.map(ex => fmt.encode(ex)), golds: examples.map(ex => ex.answer), examples, vocab_hex: vocabHex,
    num_generations: g.num_generations, max_new_tokens: c.newTokens, temperature: g.temperature,
    epsilon: g.epsilon, epsilon_high: g.epsilon_high ?? g.epsilon, learning_rate: g.learning_rate,
    adam_beta2: r.adam_beta2, weight_decay: r.weight_decay, max_grad_norm: g.max_grad_norm,
    advantages: Array.from({ length: c.prompts * c.generations }, (_, i) => (i % 2 ? -1 : 1)),
    micro_batch: g.per_device_train_batch_size ?? defaultMicroBatch(c.prompts * c.generations), // grpoStep's micro-batches
  };
}
type Spec = ReturnType<typeof specFor>;

interface Side { generation_s: number; reward_s: number; training_s: number; total_s: number; threads: number; completion_tokens: number; peak_rss_mb: number }

/** Move37's side, in a worker process: the trainer's own step (grpoStep, src/train/grpo/step.ts; one micro-batch, μ = 1). */
async function measureMove37(spec: Spec): Promise<Side> {
  const c = makeCase(spec.case, spec.layers, spec.max_new_tokens);
  const r = recipeFor(c), g = r.grpo, fmt = promptFormat(r.prompt, c.tokenizer);
  const be = getBackend("native");
  const model = createModel(c.config, be, 0);
  const optimizer = new AdamW(model, be, { learning_rate: g.learning_rate, max_grad_norm: g.max_grad_norm, adam_beta2: r.adam_beta2, weight_decay: r.weight_decay });
  const N = spec.max_new_tokens, rows = spec.prompts.length * g.num_generations;
  const advantages = Float64Array.from(spec.advantages);
  const step = async (seed: number) => {
    const t0 = performance.now();
    const gens = generate(model, c.tokenizer, spec.prompts, {
      maxNewTokens: N, temperature: g.temperature, topP: g.top_p, topK: g.top_k, numReturnSequences: g.num_generations,
      seed, stop: fmt.stop, eosTokenIds: [],
    });
    const t1 = performance.now();
    const short = gens.find(x => x.ids.length !== N);
    if (short) throw new GrpoBenchError(`a completion stopped after ${short.ids.length} of ${N} tokens (${short.finishReason}): the peer always generates the full length, so this step is not comparable; run again (another seed) or lower --new-tokens`);
    const scored = await scoreCompletions(g.reward_funcs, gens.map(x => fmt.completion(x)), gens.map(x => spec.examples[x.prompt]));
    computeAdvantages(combineRewards(scored.table, rewardWeightsOf(g)), g.num_generations, g.scale_rewards);
    const t2 = performance.now();
    // The trainer's step: EOS off (eosIds []), every row kept, the spec's advantages.
    grpoStep(model, optimizer, { prompts: spec.prompts, rows: gens, advantages }, g, { eosIds: [], lr: g.learning_rate });
    const t3 = performance.now();
    return { generation_s: (t1 - t0) / 1000, reward_s: (t2 - t1) / 1000, training_s: (t3 - t2) / 1000, total_s: (t3 - t0) / 1000 };
  };
  await step(1); // warm-up
  let best = await step(2);
  for (let s = 1; s < spec.steps; s++) { const t = await step(2 + s); if (t.total_s < best.total_s) best = t; }
  return { ...best, threads: be.threads, completion_tokens: rows * N, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

function runWorker(specPath: string): Side {
  const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--worker", specPath], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout?.trim().split("\n").at(-1);
  if (r.status !== 0 || !line) throw new PeerError("move37 worker", `exit status ${r.status} (its stderr is above)`);
  return JSON.parse(line) as Side;
}

function benchCase(c: Case, steps: number): Figure[] {
  const specPath = join(tmpdir(), `m37-bench-grpo-${process.pid}-${c.id}.json`);
  writeFileSync(specPath, JSON.stringify(specFor(c, steps)));
  try {
    const ours = runWorker(specPath);
    const peers = runPythonPeer<Side>(fileURLToPath(new URL("./peers/torch_grpo.py", import.meta.url)), [specPath]);
    const best = peers.reduce((a, b) => (b.result.total_s < a.result.total_s ? b : a));
    const peer = best.result, peerName = `pytorch 1.13 eager (${best.variant})`;
    const f = (name: string, unit: string, key: keyof Side, lowerIsBetter = true) =>
      figure({ bench: "grpo", figure: `${name} (${c.id}) ${c.label}`, unit, value: ours[key], peer: peerName, peer_value: peer[key] }, lowerIsBetter);
    process.stderr.write(`grpo (${c.id}): Move37 ${ours.threads} threads, peer ${peer.threads} torch threads (${best.variant})\n`);
    return [
      f("generation", "s", "generation_s"), f("reward+advantages", "s", "reward_s"), f("training", "s", "training_s"),
      f("step", "s", "total_s"),
      figure({ bench: "grpo", figure: `step (${c.id}) ${c.label}`, unit: "tokens/s", value: ours.completion_tokens / ours.total_s, peer: peerName, peer_value: peer.completion_tokens / peer.total_s }),
      f("peak RSS", "MiB", "peak_rss_mb"),
    ];
  } finally {
    rmSync(specPath, { force: true });
  }
}

if (args.worker) {
  console.log(JSON.stringify(await measureMove37(JSON.parse(readFileSync(args.worker, "utf8")) as Spec)));
  process.exit(0); // a reward worker thread must not keep the process alive
} else {
  ensureTorch();
  const quick = args.quick;
  const layers = args.layers !== undefined ? Number(args.layers) : quick ? 2 : undefined;
  const newTokens = args["new-tokens"] !== undefined ? Number(args["new-tokens"]) : quick ? 16 : undefined;
  const ids = args.case === "all" ? ["tiny", "qwen"] : [args.case!];
  const figures = ids.flatMap(id => benchCase(makeCase(id, layers, newTokens), Number(args.steps)));
  printFigures(figures, "one GRPO step (dapo, beta 0, on-policy, no EOS); tokens/s = completion tokens / step time; time ratios = peer / Move37");
}
