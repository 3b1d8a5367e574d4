/**
 * Episodes in the GRPO trainer: the recipe's `environment:` key turns each group's completions into episodes of the
 * row (src/env/episode.ts), scored by the recipe's rewards (the reward name `environment` reads the environment's own
 * reward()), and evaluated on the held-out set as episodes too (accuracy with the tools, tool-call and error rates).
 */
import type { Example } from "../tasks/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { Generation } from "../sample/generate.js";
import type { PromptConfig, PromptFormat } from "../sample/prompt-format.js";
import { scoreCompletions, type ScoredRewards } from "../train/rewarding.js";
import { mixSeed } from "../rng.js";
import { detectToolFormat, type ToolFormat } from "./formats.js";
import { environmentSpec, type EnvironmentConfig } from "./environment.js";
import { EnvironmentError, episodeMetrics, runEpisodes, type Episode, type EpisodeSampling } from "./episode.js";
import type { EvalResult } from "../eval/heldout.js";
import { loadProblems, type Policy, type SamplingJob } from "../eval/problems.js";
import { promptFormat } from "../sample/prompt-format.js";
import type { RolloutSampling } from "../train/rollout/index.js";
import { toolSchemas } from "./tools.js";

/** The reward name that reads the environment's reward(). */
export const ENVIRONMENT_REWARD = "environment";

export interface EpisodeRollout {
  format: ToolFormat;
  maxTokens: number;
  /** G episodes of each row: the row's prompt ids (the same for its G episodes) and the episodes, prompt-major. */
  run(examples: readonly Example[], G: number, seed: number, generate?: EpisodeGenerate): Promise<{ prompts: number[][]; gens: Episode[]; seconds: { generation: number; environment: number } }>;
}

export type EpisodeGenerate = (prompts: number[][], s: EpisodeSampling) => Promise<Generation[]>;

export function episodeRollout(cfg: EnvironmentConfig, o: { tok: Tokenizer; fmt: PromptFormat; prompt: PromptConfig; maxCompletionLength: number; maxContext?: number; generate: EpisodeGenerate }): EpisodeRollout {
  const spec = environmentSpec(cfg.type);
  const format: ToolFormat = cfg.format === "auto" ? detectToolFormat(o.tok) : cfg.format;
  const maxTokens = cfg.max_tokens ?? o.maxCompletionLength;
  return {
    format, maxTokens,
    async run(examples, G, seed, generate = o.generate) {
      const { episodes, seconds } = await runEpisodes(ep => spec.create(cfg, ep), examples, G, {
        cfg, maxTokens, maxContext: o.maxContext, format, tokenizer: o.tok, fmt: o.fmt, generate, seed,
        chatExtra: o.prompt.chat_template_kwargs, systemPrompt: o.prompt.system_prompt,
      });
      const prompts = examples.map((ex, p) => {
        const first = episodes[p * G].promptIds;
        for (let k = 1; k < G; k++) {
          const ids = episodes[p * G + k].promptIds;
          if (ids.length !== first.length || ids.some((x, i) => x !== first[i]))
            throw new EnvironmentError(`environment ${cfg.type}: reset() gave the episodes of row ${ex.id ?? p} different prompts; a GRPO group shares its prompt, so reset(row) must depend on the row only (keep per-episode randomness in tools or step)`);
        }
        return first;
      });
      return { prompts, gens: episodes, seconds };
    },
  };
}

/** The recipe's rewards on the episodes' text, the `environment` column from each episode's reward(). */
export async function scoreEpisodes(names: readonly string[], completions: string[], examples: readonly object[], episodes: readonly Episode[]): Promise<ScoredRewards> {
  const others = names.filter(n => n !== ENVIRONMENT_REWARD);
  const base = await scoreCompletions(others, completions, examples);
  if (others.length === names.length) return base;
  if (episodes.some(e => !("envReward" in e))) throw new EnvironmentError(`the reward "${ENVIRONMENT_REWARD}" reads the environment's reward(), and this environment has none: use the recipe's rewards instead`);
  const table = base.table.map((row, i) => names.map(n => (n === ENVIRONMENT_REWARD ? episodes[i].envReward ?? null : row[others.indexOf(n)])));
  return { table, byName: i => Object.fromEntries(names.map((n, k) => [n, table[i][k]])) };
}

export interface EpisodeEvalResult extends EvalResult {
  /** Share of held-out episodes with at least one tool call, and of calls that failed. */
  toolCallRate: number;
  toolErrorRate: number | null;
  /** Per subset of the held-out set (a mixture task's parts), when its problems carry one: the share of episodes with a call. */
  toolCallRateBySubset?: Record<string, number>;
  metrics: Record<string, number | null>;
}

/**
 * Held-out evaluation as episodes: greedy episodes (and one at temperature 1 when `sampled`), correct when the
 * accuracy reward gives 1; traces show the episode turn by turn.
 */
export async function evaluateEpisodes(r: EpisodeRollout, generate: (temperature: number) => EpisodeGenerate, fmt: PromptFormat, examples: readonly Example[],
  o: { accuracy: string; format: string; sampled: boolean; seed: number }): Promise<EpisodeEvalResult> {
  const run = async (temperature: number) => {
    const { gens } = await r.run(examples, 1, mixSeed(o.seed, temperature), generate(temperature));
    const scored = await scoreEpisodes([o.accuracy, o.format], gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]), gens);
    return { gens, scored, right: scored.table.map(row => row[0] === 1) };
  };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const greedy = await run(0);
  const sampled = o.sampled ? await run(1) : null;
  const m = episodeMetrics(greedy.gens);
  const wrong = greedy.gens.filter((_, i) => !greedy.right[i]).map(e => e.ids.length);
  // a tags prompt is shown as the model read it, the tool list (describe_tools) included
  const promptOf = (e: Episode) => (r.format === "tags" && e.messages.length === 1 ? e.messages[0].content : fmt.text(examples[e.prompt]));
  const called = (e: Episode) => (Object.keys(e.stats.calls).length > 0 ? 1 : 0);
  // per subset (a mixture's parts: accuracy and tool-call rate each), and a trace of each subset's first problem
  const names = [...new Set(examples.map(e => e.subset).filter((x): x is string => x !== undefined))].sort();
  const of = <T>(xs: readonly T[], n: string) => xs.filter((_, i) => examples[greedy.gens[i].prompt].subset === n);
  const subsets = names.length ? {
    subsets: Object.fromEntries(names.map(n => [n, { problems: examples.filter(e => e.subset === n).length, accuracy: mean(of(greedy.right, n).map(Number)),
      accuracySampled: sampled ? mean(sampled.right.filter((_, i) => examples[sampled.gens[i].prompt].subset === n).map(Number)) : null }])),
    toolCallRateBySubset: Object.fromEntries(names.map(n => [n, mean(of(greedy.gens, n).map(called))])),
  } : {};
  const shown = names.length ? names.map(n => greedy.gens.find(e => examples[e.prompt].subset === n)!).slice(0, 3) : greedy.gens.slice(0, 2);
  const traces = shown.map(e => `${promptOf(e)}${e.segments.map(s => (s.role === "assistant" ? s.text : `⟦${s.text}⟧`)).join("")}   [gold ${examples[e.prompt].answer}]`);
  return {
    accuracy: mean(greedy.right.map(Number)), accuracySampled: sampled ? mean(sampled.right.map(Number)) : null,
    format: mean(greedy.scored.table.map(row => (row[1] === 1 ? 1 : 0))), meanLength: mean(greedy.gens.map(e => e.ids.length)),
    meanLengthWrong: wrong.length ? mean(wrong) : null, traces, language: null, languageSwitched: null, languageJudged: 0,
    toolCallRate: mean(greedy.gens.map(called)), toolErrorRate: m["tools/error_rate"], metrics: m, ...subsets,
  };
}

/**
 * `move37 sample --environment`: k episodes of each problem from a policy, scored like sampleProblems' completions
 * (the reward `environment` reads reward()); with the format and tool schemas the SFT rows of the kept ones need.
 */
export async function sampleEpisodes(policy: Policy, job: SamplingJob, env: EnvironmentConfig, log: (m: string) => void = () => {}) {
  const fmt = promptFormat(job.problems.prompt, policy.tokenizer);
  const examples = loadProblems(job.problems, job.split, job.n);
  const r = episodeRollout(env, {
    tok: policy.tokenizer, fmt, prompt: job.problems.prompt, maxCompletionLength: job.maxNewTokens, maxContext: policy.model?.config.max_position_embeddings,
    generate: (prompts, s) => policy.rollout.generate(prompts, {
      maxNewTokens: s.maxNewTokens, temperature: job.temperature, topP: 1, topK: 0, numReturnSequences: 1, stop: s.stop, eosTokenIds: policy.eosTokenIds, seeds: s.seeds,
    } as unknown as RolloutSampling),
  });
  log(`sampling ${examples.length} problems × ${job.k} episodes (${env.type}, ${r.format} format) at T=${job.temperature} from ${policy.modelDir}${policy.step !== null ? ` (step ${policy.step})` : ""}…`);
  const { gens } = await r.run(examples, job.k, mixSeed(job.seed));
  const scored = await scoreEpisodes(job.rewards, gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]), gens);
  const tools = toolSchemas(environmentSpec(env.type).create(env, { seed: 0 }).tools ?? []);
  return { fmt, examples, gens, scored, format: r.format, tools };
}
