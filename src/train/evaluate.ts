/**
 * Held-out evaluation of a policy on a task: pass@1 greedy (and at temperature 1), the share of well-formed
 * completions, and the mean completion length, plus a few reasoning traces to read. The numbers the R1-Zero
 * run reports before and after RL.
 */
import type { CausalLM } from "../model/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { generate, type Generation } from "../sample/generate.js";
import { mixSeed } from "../tasks/rng.js";
import type { Example } from "../tasks/index.js";
import type { PromptFormat } from "./grpo-trainer.js";
import { scoreCompletions } from "./rewarding.js";

export interface EvalResult {
  /** Share of problems solved, greedy decoding. */
  accuracy: number;
  /** Share solved by one sample at temperature 1; null when not measured. */
  accuracySampled: number | null;
  /** Share of greedy completions in the required format. */
  format: number;
  /** Mean greedy completion length in tokens. */
  meanLength: number;
  /**
   * Mean greedy completion length of the wrong answers (null when none is wrong): the figure where GRPO's
   * per-sequence normalisation and Dr. GRPO's constant one differ (long wrong answers are penalised less per token).
   */
  meanLengthWrong: number | null;
  /** Two greedy traces (prompt and completion) for the report. */
  traces: string[];
}

export interface EvalOptions {
  /** Reward names: a completion is correct when `accuracy` gives 1, well-formed when `format` gives 1. */
  accuracy: string;
  format: string;
  maxNewTokens: number;
  /** Also sample once at temperature 1. */
  sampled: boolean;
  seed: number;
  /** Rows decoded together. */
  batchSize?: number;
}

export async function evaluate(model: CausalLM, tok: Tokenizer, fmt: PromptFormat, examples: readonly Example[], o: EvalOptions): Promise<EvalResult> {
  const prompts = examples.map(ex => fmt.encode(ex));
  const run = (temperature: number) => generate(model, tok, prompts, {
    maxNewTokens: o.maxNewTokens, temperature, stop: fmt.stop, seed: mixSeed(o.seed, temperature), batchSize: o.batchSize ?? 64,
  });
  const solved = async (gens: Generation[]) => {
    const s = await scoreCompletions([o.accuracy, o.format], gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]));
    const right = s.table.map(r => r[0] === 1);
    return { right, acc: mean(right.map(Number)), format: mean(s.table.map(r => (r[1] === 1 ? 1 : 0))) };
  };
  const greedy = run(0);
  const g = await solved(greedy);
  const accuracySampled = o.sampled ? (await solved(run(1))).acc : null;
  const traces = greedy.slice(0, 2).map(x => `${fmt.text(examples[x.prompt])}${fmt.completion(x).replace(/^<think>/, "")}   [gold ${examples[x.prompt].answer}]`);
  const wrong = greedy.filter((_, i) => !g.right[i]).map(x => x.ids.length);
  return { accuracy: g.acc, accuracySampled, format: g.format, meanLength: mean(greedy.map(x => x.ids.length)), meanLengthWrong: wrong.length ? mean(wrong) : null, traces };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
