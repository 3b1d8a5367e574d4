/**
 * The GRPO trainer (R1-Zero): sample a group of completions per prompt, score them with rule rewards,
 * normalise rewards within each group into advantages, and take a clipped policy-gradient step. It reads
 * top to bottom like TRL's GRPOTrainer: generate → reward → advantages → loss → backward → AdamW.
 * The algorithm's pieces are pure functions in src/train/grpo/; this file only wires them to the model,
 * the sampler, the rewards, the run directory and checkpoints.
 *
 * Data position and sampling seeds derive from the step number, so a run resumed from a checkpoint of
 * step s continues exactly as the uninterrupted run would have.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { z } from "zod";
import { parse as parseYaml } from "yaml";
import { listRecipes } from "../recipes/shipped.js";
import { getBackend } from "../engine/index.js";
import type { Backend } from "../engine/backend.js";
import type { CausalLM } from "../model/types.js";
import { bf16Copy, createModel } from "../model/transformer.js";
import { loadPretrained } from "../model/io/pretrained.js";
import { saveModel } from "./lora.js";
import { loadTokenizer } from "../tokenizer/load.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { Generation } from "../sample/generate.js";
import type { Example } from "../tasks/index.js";
import { problemSplit, problemSource } from "../eval/problems.js";
import { promptFormat, type PromptFormat } from "../sample/prompt-format.js";
import { mixSeed } from "../tasks/rng.js";
import { yieldToEvents, type Trainer } from "../recipes/registry.js";
import type { Run, SampleRow } from "../runs/run.js";
import { metricChart } from "../runs/chart.js";
import { readMetrics } from "../runs/read.js";
import {
  GRPOConfigSchema, combineRewards, computeAdvantages, dataPosition, grpoStep, informativeGroups, samplingSeed,
  rewardMetrics, completionMetrics, healthWarnings, rewardWeightsOf, type GRPOConfig,
} from "./grpo/index.js";
import { AdamW } from "./optimizer.js";
import { lrMultiplier, ScheduleConfigSchema } from "./schedule.js";
import { loadLatestCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { scoreCompletions, type ScoredRewards } from "./rewarding.js";
import { evaluate, evaluatePassAtK, type EvalResult, type PassAtKFigures } from "../eval/heldout.js";
import { countdownSamples, searchMetrics } from "../eval/search-behaviour.js";
import { languageStats } from "../rewards/language.js";
import { modelRewardExamples, useModelRewards } from "../rewards/reward-model.js";
import { createRollout, RolloutConfigError, RolloutConfigSchema } from "./rollout/index.js";
import { RolloutPipeline } from "./grpo/pipeline.js";
import { BackendChoiceSchema, checkpointFields, oneProblemSource, problemSetFields } from "./trainer-config.js";
import { LoraConfigSchema, TorchDtypeSchema, isAdapterFolder, isLoraModel, requireLoraForBf16, withLora } from "./lora.js";
import { generate as sampleLocally } from "../sample/generate.js";
import type { RolloutSampling } from "./rollout/index.js";
import { EnvironmentConfigSchema } from "../env/environment.js";
import { episodeMetrics, type Episode } from "../env/episode.js";
import { episodeRollout, evaluateEpisodes, scoreEpisodes, type EpisodeEvalResult, type EpisodeRollout } from "../env/grpo.js";

export { PromptConfigSchema, promptFormat, type PromptConfig, type PromptFormat } from "../sample/prompt-format.js";

export const GRPORecipeSchema = z.object({
  /** A Hugging Face model folder (config.json, safetensors, tokenizer.json). */
  model: z.string().min(1),
  ...problemSetFields(256),
  grpo: GRPOConfigSchema,
  schedule: ScheduleConfigSchema.default(ScheduleConfigSchema.parse({ lr_scheduler_type: "constant" })),
  adam_beta2: z.number().min(0).lt(1).default(0.99),
  weight_decay: z.number().min(0).default(0),
  /** Evaluate on the held-out set every N steps (0 = only before and after). */
  eval_every: z.number().int().nonnegative().default(0),
  /** Reward names that define held-out correctness and format (a completion counts when the reward is 1). */
  accuracy_reward: z.string().min(1),
  format_reward: z.string().min(1),
  /** Held-out evaluation also at temperature 1 (pass@1 sampled), besides greedy. */
  eval_sampled: z.boolean().default(true),
  /**
   * pass@k before and after RL (report.json `pass_at_k`): `samples` completions (default the largest k) of each of the
   * first `problems` held-out problems at `temperature`, judged by accuracy_reward; the unbiased estimator.
   */
  eval_pass_at_k: z.object({
    k: z.array(z.number().int().positive()).min(1),
    problems: z.number().int().positive().default(64),
    samples: z.number().int().positive().optional(),
    temperature: z.number().positive().default(1),
  }).strict().refine(p => p.samples === undefined || p.samples >= Math.max(...p.k), { message: "samples must be at least the largest k", path: ["samples"] }).optional(),
  /** Completions per step written to samples.jsonl. */
  log_completions: z.number().int().nonnegative().default(8),
  ...checkpointFields(50),
  /** Write the final policy here as a Hugging Face folder (optional). */
  output_dir: z.string().min(1).optional(),
  /** Stop after this many minutes of training (0 = no limit), still evaluating and reporting. */
  max_minutes: z.number().nonnegative().default(0),
  backend: BackendChoiceSchema,
  /** A reward-model folder (`move37 train recipes/rm-tiny.yaml`) that the reward_model reward scores with (RLHF). */
  reward_model: z.string().min(1).optional(),
  /** Its trunk's weights: float32, or bfloat16 (frozen, half the memory; scores within BF16 rounding; docs/rlhf.md). */
  reward_model_dtype: z.enum(["float32", "bfloat16"]).default("float32"),
  /** Where completions come from: the in-process sampler, or an OpenAI-compatible server (see docs/serve.md). */
  rollout: RolloutConfigSchema.default(RolloutConfigSchema.parse({})),
  /** Train LoRA adapters on a frozen base (PEFT's keys, docs/lora.md); the KL reference is then the base with adapters off. */
  lora: LoraConfigSchema.optional(),
  /** The model's weights (TRL's ModelConfig.torch_dtype): bfloat16 keeps the base frozen in BF16 (with lora: only; docs/lora.md). */
  torch_dtype: TorchDtypeSchema,
  /** How decode stores keys and values (rollouts, evaluations): float32, or bfloat16 (half the cache; docs/generation.md). */
  kv_cache_dtype: z.enum(["float32", "bfloat16"]).default("float32"),
  /**
   * Multi-turn episodes with tools (docs/tools.md): {type: calculator | python | problems | a registered one, format,
   * max_turns, max_tokens, …}. Completions become episodes; held-out evaluation runs episodes too.
   */
  environment: EnvironmentConfigSchema.optional(),
}).strict().superRefine(oneProblemSource());
export type GRPORecipe = z.output<typeof GRPORecipeSchema>;

/** wallSeconds: the whole run's time (loading, evaluations, RL), which `npm start`'s 10-minute promise is about. */
interface GRPOState { trainSeconds: number; wallSeconds: number; before: EvalResult | null; passBefore?: PassAtKFigures | null }

export class MissingModelError extends Error {
  constructor(dir: string, recipe?: string) {
    super(`${dir} holds no model (no config.json): ` + (recipe
      ? `it is made by \`move37 train ${recipe}\` (pretraining on this machine), or point \`model:\` at another Hugging Face folder`
      : "point `model:` at a Hugging Face model folder (config.json, model.safetensors, tokenizer.json); docs/models.md says how to download one"));
    this.name = "MissingModelError";
  }
}

/** Fails before any work when a trainer's starting model folder is missing, naming the shipped recipe that makes it, if one does. */
export function requireModelFolder(dir: string): void {
  if (existsSync(join(dir, "config.json")) || isAdapterFolder(dir)) return;
  const maker = listRecipes().find(r => {
    const out = (parseYaml(readFileSync(r.path, "utf8")) as { output_dir?: unknown } | null)?.output_dir;
    return typeof out === "string" && resolve(out) === resolve(dir);
  });
  throw new MissingModelError(dir, maker && relative(process.cwd(), maker.path));
}

/**
 * A frozen copy of the policy's weights, for the KL term (beta > 0); in BF16 with reference_dtype bfloat16; under LoRA
 * the same model with adapters off (no copy).
 */
function referenceModel(policy: CausalLM, backend: Backend, dtype: "float32" | "bfloat16" = "float32"): CausalLM {
  if (isLoraModel(policy)) return policy.reference();
  if (dtype === "bfloat16") return bf16Copy(policy, backend);
  const ref = createModel(policy.config, backend);
  ref.flatParams.set(policy.flatParams);
  return ref;
}

export const grpo: Trainer<typeof GRPORecipeSchema> = {
  name: "grpo",
  description: "GRPO from rule rewards (R1-Zero): group sampling, clipped policy gradient, optional KL",
  schema: GRPORecipeSchema,
  async run(c, run, ctx) {
    const started = performance.now();
    const g: GRPOConfig = c.grpo;
    requireModelFolder(c.model);
    const backend = getBackend(c.backend);
    requireLoraForBf16(c.torch_dtype, c.lora, c.model);
    const model = withLora(loadPretrained(c.model, backend, { dtype: c.torch_dtype, kvCacheDtype: c.kv_cache_dtype }).model, c.lora, c.model);
    const tok = loadTokenizer(c.model);
    const fmt = promptFormat(c.prompt, tok);
    useModelRewards(g.reward_funcs, { rewardModel: c.reward_model, rewardModelDtype: c.reward_model_dtype, policy: c.model, temperature: g.temperature, backend: c.backend });
    const split = problemSplit(c);
    const optimizer = new AdamW(model, backend, { learning_rate: g.learning_rate, max_grad_norm: g.max_grad_norm, adam_beta2: c.adam_beta2, weight_decay: c.weight_decay });
    const weights = rewardWeightsOf(g);
    const eosIds = [tok.eosId, model.config.eos_token_id].filter((x): x is number => x !== null);

    let step = 0;
    let state: GRPOState = { trainSeconds: 0, wallSeconds: 0, before: null };
    if (ctx.resume) {
      const restored = loadLatestCheckpoint<GRPOState>(run.checkpointsDir, model, optimizer, ctx.log);
      if (restored) { step = restored.step; state = { ...restored.trainer, wallSeconds: restored.trainer.wallSeconds ?? 0 }; run.rewind(step); ctx.log(`resumed at step ${step}`); }
    }
    const wallBase = state.wallSeconds;
    const wallSeconds = () => wallBase + (performance.now() - started) / 1000;
    const ref = g.beta > 0 ? referenceModel(model, backend, g.reference_dtype) : null;
    const folder = { copyFrom: c.model };
    const rollout = createRollout(c.rollout, { policy: model, tokenizer: tok, weightsDir: join(run.dir, "rollout-weights"), save: folder, log: ctx.log, ratioLevel: g.importance_sampling_level });
    const sampling = { temperature: g.temperature, topP: g.top_p, topK: g.top_k, eosTokenIds: eosIds };
    const episodes = c.environment ? episodeRollout(c.environment, {
      tok, fmt, prompt: c.prompt, maxCompletionLength: g.max_completion_length, maxContext: model.config.max_position_embeddings,
      // one sequence per episode, each from its own seed stream (the in-process sampler honours `seeds`; a server gets
      // the batch's first seed, so its episodes are reproducible only as far as the server batches them the same way)
      generate: (prompts, s) => rollout.generate(prompts, { ...sampling, maxNewTokens: s.maxNewTokens, numReturnSequences: 1, stop: s.stop,
        ...(c.rollout.backend === "openai" ? { seed: s.seeds[0] ?? 0 } : { seeds: s.seeds }) } as unknown as RolloutSampling),
    }) : null;
    const save = () => { state.wallSeconds = wallSeconds(); saveCheckpoint(run.checkpointsDir, step, model, optimizer, state, { keep: c.save_total_limit, model: folder }); };
    const runEval = async (label: string) => {
      if (episodes) {
        const r = await evaluateEpisodes(episodes, temperature => async (prompts, s) => sampleLocally(model, tok, prompts, { maxNewTokens: s.maxNewTokens, temperature, stop: s.stop, seeds: s.seeds, eosTokenIds: eosIds, batchSize: 64 }),
          fmt, split.eval, { accuracy: c.accuracy_reward, format: c.format_reward, sampled: c.eval_sampled, seed: c.eval_seed });
        ctx.log(`${label}: accuracy ${pct(r.accuracy)} greedy${r.accuracySampled !== null ? `, ${pct(r.accuracySampled)} at T=1` : ""}, format ${pct(r.format)}, tool calls in ${pct(r.toolCallRate)} of episodes, tool errors ${pct(r.toolErrorRate)}, mean length ${r.meanLength.toFixed(1)} tokens`);
        return r;
      }
      const r = (await evaluate(model, tok, fmt, split.eval, {
        accuracy: c.accuracy_reward, format: c.format_reward, maxNewTokens: g.max_completion_length, sampled: c.eval_sampled, seed: c.eval_seed,
      })).figures;
      ctx.log(`${label}: accuracy ${pct(r.accuracy)} greedy${r.accuracySampled !== null ? `, ${pct(r.accuracySampled)} at T=1` : ""}, format ${pct(r.format)}, mean length ${r.meanLength.toFixed(1)} tokens`);
      return r;
    };
    const passAtK = async (label: string): Promise<PassAtKFigures | null> => {
      const p = c.eval_pass_at_k;
      if (!p) return null;
      const r = await evaluatePassAtK(model, tok, fmt, split.eval.slice(0, p.problems), {
        accuracy: c.accuracy_reward, ks: p.k, samples: p.samples, temperature: p.temperature, maxNewTokens: g.max_completion_length, seed: c.eval_seed,
      });
      ctx.log(`${label}: ${Object.entries(r.pass_at_k).map(([k, v]) => `pass@${k} ${pct(v)}`).join(", ")} (${r.problems} problems × ${r.samples} at T=${r.temperature})`);
      return r;
    };
    if (!state.before) {
      state.before = await runEval("before RL (held-out)");
      run.logMetrics(step, evalMetrics(state.before));
    }
    if (state.passBefore === undefined || (state.passBefore === null && c.eval_pass_at_k)) {
      state.passBefore = await passAtK("before RL (pass@k)");
      if (state.passBefore) run.logMetrics(step, passMetrics(state.passBefore));
    }

    await rollout.sync(model, step); // the servers' policy version is the step count (a resumed run starts them at its step)
    const bar = ctx.progress({
      total: g.max_steps, startStep: step,
      timeLimit: c.max_minutes > 0 ? { seconds: c.max_minutes * 60, used: () => state.trainSeconds, label: "max_minutes" } : undefined,
    });
    const warned = new Set<string>();
    const groupsOf = (u: number) => sampleGroups(u, g, {
      next: i => split.train(i), fmt, tok, weights, episodes, generate: (p, seed) => rollout.generate(p, {
        maxNewTokens: g.max_completion_length, temperature: g.temperature, topP: g.top_p, topK: g.top_k,
        numReturnSequences: g.num_generations, seed, stop: fmt.stop, eosTokenIds: eosIds,
      }),
    });
    // max_staleness k > 0 (src/train/grpo/pipeline.ts): the groups of steps up to step + k are generated on the servers while this step trains
    const pipeline = c.rollout.max_staleness > 0 ? new RolloutPipeline(c.rollout.max_staleness, g.max_steps, groupsOf, rollout) : null;
    if (pipeline && episodes) throw new RolloutConfigError("rollout.max_staleness > 0 with environment: episodes are sampled turn by turn and carry no policy version: use max_staleness 0");
    try {
    while (step < g.max_steps && !ctx.signal.aborted && !(c.max_minutes > 0 && state.trainSeconds > c.max_minutes * 60)) {
      await yieldToEvents(); // lets Ctrl-C reach ctx.signal
      const t0 = performance.now();
      const sampled = pipeline ? await pipeline.take(step) : { ...(await groupsOf(step)), offPolicy: {} as Record<string, number> };
      const { examples, prompts, gens, scored, rewards, adv, rounds, seconds, offPolicy } = sampled;
      let keep = sampled.keep;
      if (pipeline) keep = pipeline.dropStale(step, gens, keep, offPolicy);
      const t2 = performance.now();

      const overlapping = pipeline?.inFlight() ?? false;
      const train = keep.length > 0
        ? grpoStep(model, optimizer, { prompts, rows: gens, advantages: adv.advantages, keep }, g,
          { eosIds, lr: g.learning_rate * lrMultiplier(c.schedule, step, g.max_steps), ref, correction: rollout.correction }).metrics
        : null;
      const t2b = performance.now();
      if (pipeline) pipeline.pushed(step + 1, rollout.sync(model, step + 1)); // awaited before step + 1 trains; generation goes on meanwhile
      else if (train) await rollout.sync(model, step + 1);
      const t3 = performance.now();
      if (pipeline) Object.assign(offPolicy, { "time/overlap": overlapping ? (t2b - t2) / 1000 : 0 });
      step++;
      state.trainSeconds += (t3 - t0) / 1000;

      const lengths = completionLengths(gens, eosIds, g.max_completion_length);
      const metrics: Record<string, number | null> = {
        ...rewardMetrics(scored.table, g.reward_funcs, adv),
        ...completionMetrics(lengths.lengths, lengths.truncated),
        ...stepLanguageMetrics(g, gens, examples, fmt),
        ...(train ?? {}),
        "frac_groups_kept": keep.length / gens.length,
        ...(g.dynamic_sampling ? { "dynamic_sampling/rounds": rounds, "dynamic_sampling/groups_sampled": gens.length / g.num_generations, "dynamic_sampling/groups_kept": keep.length / g.num_generations } : {}),
        ...(episodes ? { ...episodeMetrics(gens as Episode[]), "time/environment": seconds.environment } : {}),
        "time/generation": seconds.generation, "time/reward": seconds.reward, "time/training": (t3 - t2) / 1000,
        ...offPolicy, ...(rollout.metrics?.() ?? {}),
        "tokens_per_second": lengths.total / ((t3 - t0) / 1000),
        "train_minutes": state.trainSeconds / 60,
        // countdown: search behaviour of this step's completions, per 100 (src/eval/search-behaviour.ts)
        ...searchMetrics(countdownSamples(gens.map(x => fmt.completion(x)), gens.map(x => examples[x.prompt]))),
      };
      if (c.eval_every > 0 && step % c.eval_every === 0 && step < g.max_steps) Object.assign(metrics, evalMetrics(await runEval(`step ${step}`)));
      run.logMetrics(step, metrics);
      run.logSamples(sampleRows(step, gens, examples, fmt, scored, rewards, adv.advantages, c.log_completions));
      bar.update(step, metrics);
      for (const w of healthWarnings(metrics as Record<string, number>, { dynamicSampling: g.dynamic_sampling ? { groups: g.prompts_per_step, maxRounds: g.dynamic_sampling_max_rounds } : undefined })) {
        const key = w.split(" ")[0];
        if (!warned.has(key)) { warned.add(key); bar.log(`warning: ${w}`); }
      }
      if (c.save_steps > 0 && step % c.save_steps === 0) save();
    }
    } finally {
      pipeline?.discard(); // groups sampled ahead for steps not trained are dropped (a resumed run samples them again)
      rollout.close?.();
    }
    bar.stop();
    save();
    const after = await runEval("after RL (held-out)");
    run.logMetrics(step, evalMetrics(after));
    const passAfter = await passAtK("after RL (pass@k)");
    if (passAfter) run.logMetrics(step, passMetrics(passAfter));
    if (c.output_dir) saveModel(model, c.output_dir, folder);
    writeReport(run, c, split.eval.length, state.before!, after, state.trainSeconds, wallSeconds(), ctx.log, {
      pass: { before: state.passBefore ?? null, after: passAfter },
      language: g.reward_funcs.includes("language") || split.eval.some(e => typeof e.language === "string"),
    });
  },
};

/**
 * A step's groups: prompts_per_step prompts, each sampled num_generations times, scored, and their advantages. With
 * dynamic sampling (DAPO), more rounds of prompts_per_step prompts while fewer than prompts_per_step groups are
 * informative and dynamic_sampling_max_rounds allows; `keep` is then the rows of the first prompts_per_step informative
 * groups. Prompts and seeds are functions of (step, round) (grpo/dynamic.ts), so resume stays exact. Rewards,
 * advantages and metrics cover every group sampled.
 */
async function sampleGroups(step: number, g: GRPOConfig, o: {
  next(position: number): Example; fmt: PromptFormat; tok: Tokenizer; weights: number[]; episodes: EpisodeRollout | null;
  generate(prompts: number[][], seed: number): Promise<Generation[]>;
}) {
  const P = g.prompts_per_step, G = g.num_generations, maxRounds = g.dynamic_sampling ? g.dynamic_sampling_max_rounds : 1;
  const examples: Example[] = [], prompts: number[][] = [], gens: Generation[] = [], table: (number | null)[][] = [];
  const seconds = { generation: 0, reward: 0, environment: 0 };
  let rounds = 0, rewards: Float64Array = new Float64Array(0);
  while (rounds < maxRounds) {
    rounds++;
    const t0 = performance.now();
    const ex = Array.from({ length: P }, (_, i) => o.next(dataPosition(step, rounds, i, P)));
    let pr: number[][], out: Generation[];
    if (o.episodes) { // multi-turn: each completion is an episode (model turns and tool results, src/env)
      const r = await o.episodes.run(ex, G, samplingSeed(g.seed, step, rounds));
      pr = r.prompts; out = r.gens; seconds.environment += r.seconds.environment;
    } else {
      pr = ex.map(e => o.fmt.encode(e));
      out = await o.generate(pr, samplingSeed(g.seed, step, rounds));
    }
    const t1 = performance.now();
    const rewardExamples = modelRewardExamples(g.reward_funcs, out, ex, o.fmt, o.tok), texts = out.map(x => o.fmt.completion(x));
    const scored = o.episodes ? await scoreEpisodes(g.reward_funcs, texts, rewardExamples, out as Episode[]) : await scoreCompletions(g.reward_funcs, texts, rewardExamples);
    const offset = examples.length;
    examples.push(...ex); prompts.push(...pr); table.push(...scored.table);
    gens.push(...out.map(x => ({ ...x, prompt: x.prompt + offset })));
    rewards = combineRewards(table, o.weights);
    seconds.generation += (t1 - t0) / 1000; seconds.reward += (performance.now() - t1) / 1000;
    if (!g.dynamic_sampling || informativeGroups(rewards, G, P).groups.length >= P) break;
  }
  const t = performance.now();
  const adv = computeAdvantages(rewards, G, g.scale_rewards);
  const keep = g.dynamic_sampling ? informativeGroups(rewards, G, P).rows : gens.map((_, i) => i);
  seconds.reward += (performance.now() - t) / 1000;
  const scored: ScoredRewards = { table, byName: i => Object.fromEntries(g.reward_funcs.map((n, k) => [n, table[i][k]])) };
  return { examples, prompts, gens, scored, rewards, adv, keep, rounds, seconds };
}

/** Completion lengths as TRL logs them: tokens up to and including the first EOS; truncated = hit the limit. */
function completionLengths(gens: Generation[], eosIds: number[], limit: number) {
  // an episode (src/env) ends a turn with EOS and goes on: its length is all of it, truncated when it hit max_tokens
  const lengths = gens.map(x => { if ("mask" in x) return x.ids.length; const i = x.ids.findIndex(t => eosIds.includes(t)); return i >= 0 ? i + 1 : x.ids.length; });
  const truncated = gens.map(x => ("mask" in x ? ((x as Episode).stats.stoppedBy === "max_tokens" ? 1 : 0) : x.finishReason === "length" && x.ids.length >= limit ? 1 : 0));
  return { lengths, truncated, total: gens.reduce((s, x) => s + x.ids.length, 0) };
}

function sampleRows(step: number, gens: Generation[], examples: Example[], fmt: PromptFormat, scored: ScoredRewards,
  rewards: Float64Array, advantages: ArrayLike<number>, n: number): SampleRow[] {
  // An even spread over the prompts: the first n completions would all come from the first prompt.
  const stride = Math.max(1, Math.floor(gens.length / Math.max(1, n)));
  const rows: SampleRow[] = [];
  for (let i = 0; i < gens.length && rows.length < n; i += stride) {
    const ex = examples[gens[i].prompt];
    rows.push({
      step, prompt: fmt.text(ex), completion: fmt.completion(gens[i]), answer: ex.answer,
      reward: Number.isNaN(rewards[i]) ? null : rewards[i], rewards: scored.byName(i), advantage: advantages[i],
      // an episode turn by turn: what the model wrote, what the tools and the environment answered
      ...("segments" in gens[i] ? { turns: (gens[i] as Episode).segments.map(s => ({ role: s.role, text: s.text, ...(s.calls ? { calls: s.calls } : {}) })) } : {}),
    });
  }
  return rows;
}

function evalMetrics(r: EvalResult): Record<string, number | null> {
  const out: Record<string, number | null> = { accuracy: r.accuracy, accuracy_sampled: r.accuracySampled, "eval/format": r.format, "eval/mean_length": r.meanLength,
    ...(r.language !== null ? { "eval/language": r.language, "eval/language_switched": r.languageSwitched, "eval/language_judged": r.languageJudged ?? null } : {}) };
  if ("toolCallRate" in r) Object.assign(out, { "eval/tool_call_rate": (r as EpisodeEvalResult).toolCallRate, "eval/tool_error_rate": (r as EpisodeEvalResult).toolErrorRate });
  for (const [name, rate] of Object.entries((r as EpisodeEvalResult).toolCallRateBySubset ?? {})) out[`eval/tool_call_rate/${name}`] = rate;
  for (const [name, f] of Object.entries(r.subsets ?? {})) { out[`accuracy/${name}`] = f.accuracy; out[`accuracy_sampled/${name}`] = f.accuracySampled; }
  for (const [k, v] of Object.entries(r.search?.greedy ?? {})) out[`eval/${k}`] = v;
  return out;
}

/** pass@k figures as metrics: `pass@k/<k>` (and `pass@k/<subset>/<k>`), logged before and after RL. */
function passMetrics(p: PassAtKFigures): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(p.pass_at_k)) out[`pass@k/${k}`] = v;
  for (const [name, curve] of Object.entries(p.subsets ?? {})) for (const [k, v] of Object.entries(curve)) out[`pass@k/${name}/${k}`] = v;
  return out;
}

/**
 * The language mix of a step's completions (src/rewards/language.ts): `language/share`, the mean share of chain-of-thought
 * words in the row's target language, and `language/switched`, the share of completions that switch language part-way,
 * over the completions with words; `language/judged`, the share of completions whose thought has words at all (a
 * derivation in symbols, "3+7-2 = 10-2 = 8", has none). Logged when the rows name a language or the language reward is in use.
 */
function stepLanguageMetrics(g: GRPOConfig, gens: Generation[], examples: Example[], fmt: PromptFormat): Record<string, number | null> {
  if (!g.reward_funcs.includes("language") && !examples.some(e => typeof e.language === "string")) return {};
  const s = languageStats(gens.map(x => fmt.completion(x)), gens.map(x => examples[x.prompt]));
  return { "language/share": s.share, "language/switched": s.switched, "language/judged": s.judged };
}

const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);

/**
 * An episode run's curves over steps for report.json (issue 20's demonstration): per training step the reward, tool
 * calls per episode, the tool-error rate and turns; per evaluation (before RL is step 0) held-out accuracy, the
 * tool-call rate and the tool-error rate (and per part of a mixture task, accuracy and the tool-call rate). metrics.jsonl has every metric; these are the ones the issue names.
 */
function episodeCurves(rows: readonly Record<string, unknown>[]) {
  const pick = (r: Record<string, unknown>, keys: readonly string[]) =>
    Object.fromEntries([["step", r.step], ...keys.map(k => [k, typeof r[k] === "number" ? r[k] : null])]);
  return {
    train: rows.filter(r => typeof r.reward === "number").map(r => pick(r, ["reward", "tools/calls_per_episode", "tools/error_rate", "episodes/turns"])),
    // with a mixture task, each part's accuracy and tool-call rate too (accuracy/<part>, eval/tool_call_rate/<part>)
    eval: rows.filter(r => typeof r.accuracy === "number").map(r => pick(r, ["accuracy", "eval/tool_call_rate", "eval/tool_error_rate",
      ...Object.keys(r).filter(k => /^(accuracy|eval\/tool_call_rate)\/[\w-]+$/.test(k))])),
  };
}

function writeReport(run: Run, c: GRPORecipe, evalSize: number, before: EvalResult, after: EvalResult, seconds: number, wall: number, log: (m: string) => void,
  o: { pass?: { before: PassAtKFigures | null; after: PassAtKFigures | null }; language?: boolean } = {}) {
  // language (rows that name one, or the language reward), subsets, search counts and pass@k appear only when
  // measured (worded arithmetic, countdown, eval_pass_at_k), so other reports keep their shape
  const pass = o.pass ?? { before: null, after: null };
  const side = (r: EvalResult, p: PassAtKFigures | null) => ({
    accuracy: r.accuracy, accuracy_sampled: r.accuracySampled, format: r.format, mean_length: r.meanLength, mean_length_wrong: r.meanLengthWrong,
    ...(o.language ? { language: r.language ?? null, language_switched: r.languageSwitched ?? null, language_judged: r.languageJudged ?? null } : {}),
    ...(r.subsets ? { subsets: Object.fromEntries(Object.entries(r.subsets).map(([n, f]) => [n, { problems: f.problems, accuracy: f.accuracy, accuracy_sampled: f.accuracySampled }])) } : {}),
    ...(r.search ? { search: r.search } : {}),
    ...(p ? { pass_at_k: p } : {}),
    ...("toolCallRate" in r ? { tool_call_rate: (r as EpisodeEvalResult).toolCallRate, tool_error_rate: (r as EpisodeEvalResult).toolErrorRate } : {}),
    ...((r as EpisodeEvalResult).toolCallRateBySubset ? { tool_call_rate_by_subset: (r as EpisodeEvalResult).toolCallRateBySubset } : {}),
  });
  const episodes = "toolCallRate" in before;
  const rows = readMetrics(run.dir);
  run.writeJson("report.json", { task: problemSource(c), eval_size: evalSize, before: side(before, pass.before), after: side(after, pass.after), minutes: wall / 60, train_minutes: seconds / 60, traces: {
    before: before.traces, after: after.traces,
    ...(after.backtrackTrace !== undefined ? { backtrack: { before: before.backtrackTrace ?? null, after: after.backtrackTrace } } : {}),
  }, ...(episodes ? { curves: episodeCurves(rows) } : {}) });
  const row = (name: string, f: (r: EvalResult) => string) => `  ${name.padEnd(22)} ${f(before).padStart(10)} ${f(after).padStart(10)}`;
  // countdown's seen_target / unseen_target as "  seen (greedy)", "  unseen (T=1)" under the accuracy rows
  const subsetRows = Object.keys(after.subsets ?? {}).flatMap(n => [
    row(`  ${n.replace(/_target$/, "")} (greedy)`, r => pct(r.subsets?.[n]?.accuracy ?? null)), row(`  ${n.replace(/_target$/, "")} (T=1)`, r => pct(r.subsets?.[n]?.accuracySampled ?? null))]);
  const searchRows = Object.keys(after.search?.greedy ?? {}).map(k => row(`${k} /100`, r => (r.search?.greedy[k] ?? 0).toFixed(0)));
  const passRows = pass.after ? Object.keys(pass.after.pass_at_k).map(k => `  ${`pass@${k}`.padEnd(22)} ${pct(pass.before?.pass_at_k[k] ?? null).padStart(10)} ${pct(pass.after!.pass_at_k[k]).padStart(10)}`) : [];
  log(["", `held-out set: ${evalSize} ${problemSource(c)} problems (seed ${c.eval_seed}), ${(seconds / 60).toFixed(1)} min of RL, ${(wall / 60).toFixed(1)} min in all`,
    `  ${"".padEnd(22)} ${"before".padStart(10)} ${"after".padStart(10)}`,
    row("accuracy (greedy)", r => pct(r.accuracy)), row("accuracy (T=1)", r => pct(r.accuracySampled)), ...subsetRows,
    row("format", r => pct(r.format)), row("mean length (tokens)", r => r.meanLength.toFixed(1)), ...searchRows, ...passRows,
    ...(before.language ?? after.language ?? null) !== null ? [row("language consistency", r => pct(r.language ?? null)), row("language switched", r => pct(r.languageSwitched ?? null)), row("thoughts with words", r => pct(r.languageJudged ?? null))] : [],
    ...(episodes ? [row("tool-call rate", r => pct((r as EpisodeEvalResult).toolCallRate)),
      ...Object.keys((after as EpisodeEvalResult).toolCallRateBySubset ?? {}).map(n => row(`  ${n}`, r => pct((r as EpisodeEvalResult).toolCallRateBySubset?.[n] ?? null))),
      row("tool-error rate", r => pct((r as EpisodeEvalResult).toolErrorRate))] : []),
    "", metricChart(rows, "completions/mean_length", 60),
    ...(episodes ? ["", metricChart(rows, "tools/calls_per_episode", 60)] : []),
    "", "before:", ...before.traces.map(t => `  ${t}`), "after:", ...after.traces.map(t => `  ${t}`),
    `report: ${run.dir}/report.json`].join("\n"));
}
