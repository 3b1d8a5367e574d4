// `move37 generate MODEL_DIR --prompt ...`: completions from a Hugging Face model folder.
import { InvalidArgumentError, type Command } from "commander";
import type { BackendKind } from "../engine/index.js";
import { loadForGeneration, parseWeightsDtype, type WeightsDtype } from "../model/io/pretrained.js";
import type { ChatRenderOptions } from "../tokenizer/chat-template.js";
import { KV_CACHE_DTYPES, type KvCacheDtype } from "../model/kv-cache.js";
import { encodePrompt, generate } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

const number = (what: string, integer = false) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new InvalidArgumentError(`${what} must be ${integer ? "an integer" : "a number"}`);
  return x;
};

/** The sampling and model options `generate` and `chat` share. */
export function addSamplingOptions(cmd: Command, defaults: { maxNewTokens: number; temperature: number }): Command {
  return cmd
    .option("--max-new-tokens <n>", "tokens to generate at most", number("--max-new-tokens", true), defaults.maxNewTokens)
    .option("--temperature <t>", "sampling temperature; 0 = greedy", number("--temperature"), defaults.temperature)
    .option("--top-k <k>", "keep the k most likely tokens (0 = off)", number("--top-k", true), 0)
    .option("--top-p <p>", "nucleus sampling mass (1 = off)", number("--top-p"), 1)
    .option("--min-p <p>", "drop tokens below p × the top probability (0 = off)", number("--min-p"), 0)
    .option("--repetition-penalty <r>", "penalty on tokens already seen (1 = off)", number("--repetition-penalty"), 1)
    .option("--seed <n>", "random seed (a run with the same seed repeats itself)", number("--seed", true))
    .option("--stop <text...>", "stop when the completion contains one of these")
    .option("--template <name>", "chat template: model (tokenizer_config.json's) or r1 (built-in); default: the model's if it has one, else r1")
    .option("--think", "prefill the reasoning block (<think>) after the assistant's turn opens")
    .option("--backend <kind>", "engine backend: auto, native or reference", "auto")
    .option("--dtype <dtype>", "weights: float32, or bfloat16 (frozen BF16 Linear weights: half the memory, faster decode)", dtypeFlag, "float32")
    .option("--kv-cache-dtype <dtype>", "KV cache: float32, or bfloat16 (keys and values in BF16: half the cache's memory)", kvCacheDtypeFlag, "float32");
}

/** --kv-cache-dtype float32 | bfloat16 */
export const kvCacheDtypeFlag = (v: string): KvCacheDtype => {
  if (!(KV_CACHE_DTYPES as readonly string[]).includes(v)) throw new InvalidArgumentError(`--kv-cache-dtype must be one of ${KV_CACHE_DTYPES.join(", ")}, got "${v}"`);
  return v as KvCacheDtype;
};

/** --dtype float32 | bfloat16 */
export const dtypeFlag = (v: string): WeightsDtype => {
  try { return parseWeightsDtype(v); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
};

export interface SamplingFlags {
  maxNewTokens: number; temperature: number; topK: number; topP: number; minP: number; repetitionPenalty: number;
  seed?: number; stop?: string[]; template?: string; think?: boolean; backend: BackendKind; dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype;
}

export const samplingFrom = (f: SamplingFlags): SamplingOptions => ({
  maxNewTokens: f.maxNewTokens, temperature: f.temperature, topK: f.topK, topP: f.topP, minP: f.minP,
  repetitionPenalty: f.repetitionPenalty, seed: f.seed, stop: f.stop ?? [],
});

export const chatFrom = (f: SamplingFlags): ChatRenderOptions => ({ template: f.template, prefillThink: f.think ?? false });

export function register(program: Command): void {
  const cmd = program
    .command("generate")
    .description("generate completions of prompts with a model folder (config.json, model.safetensors, tokenizer.json); one prompt streams to the terminal")
    .argument("<model-dir>", "Hugging Face model folder, or a hub id (owner/name) in or for the HF cache")
    .requiredOption("-p, --prompt <text...>", "prompt(s); several are generated as one batch")
    .option("--chat", "wrap each prompt as a user message in the chat template (see --template, --think)")
    .option("-n, --num-return-sequences <n>", "completions per prompt", number("-n", true), 1)
    .option("--json", "print one JSON line per completion: prompt, sample, text, ids, logprobs, finish_reason");
  addSamplingOptions(cmd, { maxNewTokens: 128, temperature: 1 });
  cmd.action((dir: string, flags: SamplingFlags & { prompt: string[]; chat?: boolean; numReturnSequences: number; json?: boolean }) => {
    const { model, tokenizer } = loadForGeneration(dir, flags.backend, flags.dtype, flags.kvCacheDtype);
    const prompts = flags.prompt.map(p => encodePrompt(tokenizer, p, flags.chat ? chatFrom(flags) : false));
    const sampling = { ...samplingFrom(flags), numReturnSequences: flags.numReturnSequences };
    const stream = !flags.json && prompts.length * flags.numReturnSequences === 1;
    const t0 = performance.now();
    const out = generate(model, tokenizer, prompts, sampling, stream ? e => output.out(e.text) : undefined);
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) {
      for (const g of out) output.out(JSON.stringify({ prompt: g.prompt, sample: g.sample, text: g.text, ids: g.ids, logprobs: g.logprobs, finish_reason: g.finishReason }) + "\n");
    } else if (stream) {
      output.out("\n");
    } else {
      for (const g of out) output.out(`--- prompt ${g.prompt} sample ${g.sample} (${g.finishReason}, ${g.ids.length} tokens)\n${g.text}\n`);
    }
    const tokens = out.reduce((a, g) => a + g.ids.length, 0);
    output.err(`[${tokens} tokens in ${seconds.toFixed(2)} s, ${(tokens / seconds).toFixed(1)} tokens/s]\n`);
  });
  withExamples(cmd, [
    "move37 generate runs/tiny/final --prompt 'The cat' --max-new-tokens 32 --temperature 0",
    "move37 generate runs/r1/final --chat --template r1 --prompt 'What is 17 + 25?' --seed 1 -n 4",
  ]);
}
