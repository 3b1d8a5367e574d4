/**
 * SFT throughput with packing against the same trainer padding its batches: useful (non-padding) tokens per
 * second over one epoch of short examples of mixed lengths, each step = forward + backward + AdamW, batches built
 * exactly as the trainer builds them (trainingBatches in src/train/sft-data.ts). Model: recipes/base-tiny.yaml's
 * byte-level Llama (hidden 256, 4 layers, vocab 258), max_length 256.
 *   mixed   examples of 16–256 tokens, log-uniform (most are short), prompt = the first third
 *   traces  the cold-start set of recipes/sft-tiny.yaml (worked arithmetic derivations, 90–150 tokens)
 * Peers: padding with group_by_length (the trainer's default without packing) and padding in random order.
 * Both sides train the same examples with about the same real tokens per optimizer step (packed: 4 rows of 256
 * positions; padded: as many examples as hold 4·256 tokens on average), so the AdamW steps per epoch match too.
 * The best of --reps epochs counts (filters time stolen by other work).
 *
 *   npm run bench -- sft [--case mixed|traces|all] [--examples 256] [--reps 2]
 */
import { parseArgs } from "node:util";
import { getBackend, type Backend } from "../src/engine/index.js";
import { ModelConfigSchema } from "../src/model/config.js";
import { createModel } from "../src/model/transformer.js";
import type { CausalLM } from "../src/model/types.js";
import { ByteTokenizer } from "../src/tokenizer/byte.js";
import { AdamW } from "../src/train/optimizer.js";
import { accumulateSftLoss } from "../src/train/sft.js";
import { tokenizeRow, trainingBatches, type BatchingOptions, type SFTExample } from "../src/train/sft-data.js";
import { arithmeticTraces, TracesConfigSchema } from "../src/train/sft-traces.js";
import { makeRng } from "../src/tasks/rng.js";
import { figure, printFigures, type Figure } from "./common.js";

const MAX_LENGTH = 256;
const CONFIG = ModelConfigSchema.parse({ architecture: "llama", vocab_size: 258, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4,
  num_key_value_heads: 4, intermediate_size: 688, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 512 });

class SftBenchError extends Error {
  constructor(message: string) { super(message); this.name = "SftBenchError"; }
}

function mixedExamples(n: number): SFTExample[] {
  const rng = makeRng(7);
  return Array.from({ length: n }, () => {
    const len = Math.round(Math.exp(Math.log(16) + rng.next() * (Math.log(MAX_LENGTH) - Math.log(16))));
    const prompt = Math.floor(len / 3);
    return { ids: Array.from({ length: len }, () => rng.int(0, 255)), loss: Uint8Array.from({ length: len }, (_, i) => (i >= prompt ? 1 : 0)) };
  });
}

function traceExamples(n: number): SFTExample[] {
  const tok = new ByteTokenizer();
  const rows = arithmeticTraces(TracesConfigSchema.parse({ task: { type: "arithmetic", min_terms: 4, max_terms: 7, digits: 1, ops: ["+", "-"], non_negative: true }, n }));
  return rows.flatMap(r => tokenizeRow(tok, r, MAX_LENGTH));
}

/** Useful tokens per second of one epoch (best of `reps`), and the padding share of the slots computed. */
function epochRate(model: CausalLM, be: Backend, examples: readonly SFTExample[], o: BatchingOptions, reps: number): { rate: number; padding: number } {
  const opt = new AdamW(model, be, { learning_rate: 1e-4 });
  const data = trainingBatches(examples, o);
  const batches = Array.from({ length: data.perEpoch }, (_, m) => data.at(m));
  const useful = batches.reduce((n, b) => n + b.mask.reduce((s, x) => s + x, 0), 0), slots = batches.reduce((n, b) => n + b.B * b.T, 0);
  let best = Infinity;
  for (let r = 0; r <= reps; r++) { // r = 0 warms up
    const t0 = performance.now();
    for (const b of batches) { model.flatGrads.fill(0); accumulateSftLoss(model, [b]); opt.step(); }
    if (r > 0) best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { rate: useful / best, padding: 1 - useful / slots };
}

function runCase(name: string, examples: SFTExample[], reps: number): Figure[] {
  const be = getBackend();
  const model = createModel(CONFIG, be, 0);
  const base = { maxLength: MAX_LENGTH, seed: 0, padId: 256 };
  const lengths = examples.map(e => e.ids.length), mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const padded = Math.max(1, Math.round(4 * MAX_LENGTH / (mean - 1)));
  const packed = epochRate(model, be, examples, { ...base, batchSize: 4, packing: true, groupByLength: true }, reps);
  const grouped = epochRate(model, be, examples, { ...base, batchSize: padded, packing: false, groupByLength: true }, reps);
  const random = epochRate(model, be, examples, { ...base, batchSize: padded, packing: false, groupByLength: false }, reps);
  process.stderr.write(`sft (${name}): ${examples.length} examples of ${Math.min(...lengths)}–${Math.max(...lengths)} tokens (mean ${mean.toFixed(0)}), padded batches of ${padded}; ` +
    `padding: packed ${(100 * packed.padding).toFixed(1)}%, group_by_length ${(100 * grouped.padding).toFixed(1)}%, random ${(100 * random.padding).toFixed(1)}%; backend ${be.name} × ${be.threads}\n`);
  const fig = (peer: string, p: { rate: number }) => figure({ bench: "sft", figure: `packed training (${name})`, unit: "useful tokens/s", value: packed.rate, peer, peer_value: p.rate });
  return [fig("same trainer, padded, group_by_length", grouped), fig("same trainer, padded, random order", random)];
}

const { values } = parseArgs({ options: { case: { type: "string", default: "all" }, examples: { type: "string", default: "256" }, reps: { type: "string", default: "2" } } });
const n = Number(values.examples), reps = Number(values.reps);
const cases: Record<string, () => SFTExample[]> = { mixed: () => mixedExamples(n), traces: () => traceExamples(n) };
if (values.case !== "all" && !(values.case! in cases)) throw new SftBenchError(`unknown --case ${values.case}: use mixed, traces or all`);
const figures = Object.entries(cases).filter(([k]) => values.case === "all" || k === values.case).flatMap(([k, make]) => runCase(k, make(), reps));
printFigures(figures, "Measured on a shared machine: absolute tokens/s are contended; the ratio compares runs made back to back.");
