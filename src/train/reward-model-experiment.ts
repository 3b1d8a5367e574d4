/**
 * The rlhf-vs-rl experiment ("RLHF is not RL"): from the same base model and with the same GRPO budget,
 *   rl     GRPO on the rule reward (the verifier: R1-Zero)
 *   rlhf   GRPO on a reward model fitted to a simulated, biased annotator's preferences (ChatGPT's recipe)
 * both measured on the same held-out problems at every checkpoint: true accuracy (the verifier), the reward model's
 * score, completion length, and how well the reward model still ranks correct above incorrect answers on what the
 * policy now writes (rm_auc). A learned reward that climbs while accuracy does not is reward hacking made visible.
 *
 * With `cold_start` (SFT keys), the base is first fine-tuned on worked traces (R1's stage 1) and everything below
 * starts from that model: a base that cannot yet write the answer format scores 0 under any verifier.
 *
 * runs/<name>/
 *   cold-start/                             the SFT run, when cold_start is set; cold-start/model/ the start model
 *   prefs/prefs.jsonl, prefs/stats.json     pairs from the start model's samples, labelled by the annotator
 *   reward-model/                           the reward-model trainer's run; reward-model/model/ its folder
 *   rl/, rlhf/                              the two GRPO runs (every checkpoint kept); <arm>/heldout/step-N.json
 *   heldout-base.json, metrics.jsonl        base figures; one metrics row per measured step, both arms' keys
 *   report.json                             everything above, and the table the run prints
 *
 * Both GRPO runs also log the other reward with weight 0 (rewards/<name>/mean), so the training curves show the
 * learned reward and the true one side by side. --resume skips what is complete and resumes what is not.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { getBackend, type BackendKind } from "../engine/index.js";
import { loadForGeneration } from "../model/io/pretrained.js";
import { loadTokenizer } from "../tokenizer/load.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { promptFormat } from "../sample/prompt-format.js";
import { registerTrainer, requireTrainer, type Trainer, type TrainerContext } from "../recipes/registry.js";
import type { Run } from "../runs/run.js";
import { cachedJson, writeFileAtomic, writeJsonAtomic } from "../runs/atomic.js";
import { formatTable } from "../runs/table.js";
import { KL_PENALTY_REWARD, REWARD_MODEL_REWARD, generatedText, scoreTexts } from "../rewards/reward-model.js";
import { GRPORecipeSchema, requireModelFolder } from "./grpo-trainer.js";
import { checkpointDirs } from "./checkpoint.js";
import { childCompleted, childRun, nestedIssues, runInChild } from "./distill.js";
import { evaluate, HeldOutSchema, mean, type HeldOut } from "../eval/heldout.js";
import { loadPolicy, heldOutSize, problemSplit, problemSource, sourceOf } from "../eval/problems.js";
import { LabellerSchema } from "./prefs.js";
import { samplePreferencePairs } from "./prefs-sample.js";
import { loadRewardModel, type RewardModel } from "./reward-model-net.js";
import { RewardModelConfigSchema } from "./reward-model.js";
import { SFTConfigSchema } from "./sft.js";
import { BackendChoiceSchema } from "./trainer-config.js";

const PrefsSchema = z.object({
  num_prompts: z.number().int().positive().default(256),
  num_generations: z.number().int().min(2).default(4),
  temperature: z.number().min(0).default(1),
  labeller: LabellerSchema.default(LabellerSchema.parse({ type: "annotator", length_weight: 1, error_rate: 0.2 })),
  label_seed: z.number().int().default(0),
  max_pairs_per_prompt: z.number().int().nonnegative().default(0),
  seed: z.number().int().default(0),
}).strict();

export const ExperimentConfigSchema = z.object({
  /** The base both arms start from (and the reward model's trunk), after the cold start when there is one. */
  model: z.string().min(1),
  heldout: HeldOutSchema,
  /** SFT trainer keys for a cold start on worked traces (the held-out task, seeds and prompt unless set); model and output_dir are set here. */
  cold_start: z.record(z.string(), z.unknown()).optional(),
  prefs: PrefsSchema.default(PrefsSchema.parse({})),
  /** reward-model trainer keys; model, train_file and output_dir are set here. */
  reward_model: z.record(z.string(), z.unknown()).default({}),
  /** GRPO keys shared by both arms (grpo.reward_funcs and reward_weights are set per arm). */
  grpo: z.record(z.string(), z.unknown()),
  /** β of InstructGPT's KL-in-reward for the rlhf arm (the kl_penalty reward at this weight; 0 = pure reward model). */
  kl_coef: z.number().nonnegative().default(0),
  /** Wall-minute cap of each GRPO run (0 = none): the same budget for both. */
  max_minutes: z.number().nonnegative().default(0),
  /** Measure the held-out set every N GRPO steps (each arm keeps a checkpoint there). */
  eval_every: z.number().int().positive().default(25),
  backend: BackendChoiceSchema,
}).strict().superRefine((c, ctx) => {
  if (c.cold_start) nestedIssues(SFTConfigSchema, coldStartConfig(c, "model"), ["cold_start"], ctx, ["model", "output_dir"]);
  nestedIssues(RewardModelConfigSchema, rewardModelConfig(c, c.model, "pairs.jsonl", "model"), ["reward_model"], ctx, ["model", "train_file", "output_dir"]);
  nestedIssues(GRPORecipeSchema, armConfig(c, "rl", c.model, "rm"), [], ctx, ["reward_funcs", "reward_weights", "reward_model"]);
});
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;

const ARMS = ["rl", "rlhf"] as const;
type Arm = (typeof ARMS)[number];

/** The cold start's SFT recipe: worked traces of the held-out task (never a held-out problem) unless it names a train_file. */
function coldStartConfig(c: ExperimentConfig, outputDir: string): Record<string, unknown> {
  const own = c.cold_start ?? {}, h = c.heldout;
  const traces = own.train_file === undefined
    ? { traces: { ...(h.task ? { task: h.task } : {}), train_seed: h.train_seed, eval_seed: h.eval_seed, eval_size: h.eval_size, instruct: h.prompt.instruct, ...(own.traces ?? {}) } } : {};
  return { backend: c.backend, ...own, ...traces, model: c.model, output_dir: outputDir };
}

function rewardModelConfig(c: ExperimentConfig, start: string, trainFile: string, outputDir: string): Record<string, unknown> {
  return { backend: c.backend, ...c.reward_model, model: start, train_file: trainFile, output_dir: outputDir };
}

/** One arm's GRPO recipe: the shared keys, the held-out set, every checkpoint kept, and its own trained reward. */
function armConfig(c: ExperimentConfig, arm: Arm, start: string, rmDir: string): Record<string, unknown> {
  const h = c.heldout, rule = h.accuracy_reward;
  const kl = arm === "rlhf" && c.kl_coef > 0 ? { funcs: [KL_PENALTY_REWARD], weights: [c.kl_coef] } : { funcs: [], weights: [] };
  const rewards = arm === "rl" ? { reward_funcs: [rule, REWARD_MODEL_REWARD], reward_weights: [1, 0] }
    : { reward_funcs: [REWARD_MODEL_REWARD, ...kl.funcs, rule], reward_weights: [1, ...kl.weights, 0] };
  return {
    model: start, ...sourceOf(h), train_seed: h.train_seed, eval_seed: h.eval_seed, eval_size: h.eval_size, prompt: h.prompt,
    accuracy_reward: rule, format_reward: h.format_reward, eval_sampled: false, reward_model: rmDir,
    save_steps: c.eval_every, save_total_limit: 0, max_minutes: c.max_minutes, backend: c.backend,
    grpo: { max_completion_length: h.max_new_tokens, ...c.grpo, ...rewards },
  };
}

/** The held-out figures of one model. */
export interface Figures {
  step: number;
  /** Shares of greedy completions the verifier accepts / that are well formed. */
  accuracy: number;
  format: number;
  mean_length: number;
  /** Mean reward-model score of the same completions. */
  rm_score: number;
  /** P(rm(correct) > rm(incorrect)) over those completions (ties half); null when all or none are correct. */
  rm_auc: number | null;
  traces: string[];
}

/** AUC of `scores` for separating `right` from wrong: the share of (right, wrong) pairs ranked right first. */
export function rankingAuc(scores: ArrayLike<number>, right: readonly boolean[]): number | null {
  let pairs = 0, won = 0;
  for (let i = 0; i < right.length; i++) if (right[i]) for (let j = 0; j < right.length; j++) if (!right[j]) {
    pairs++;
    won += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
  }
  return pairs ? won / pairs : null;
}

/** Greedy completions of the held-out set by the model in `dir`, judged by the verifier and scored by the reward model. */
export async function measure(dir: string, step: number, h: HeldOut, scorer: { rm: RewardModel; tok: Tokenizer }, backend: BackendKind): Promise<Figures> {
  const { model, tokenizer: tok } = loadForGeneration(dir, backend);
  const fmt = promptFormat(h.prompt, tok);
  const examples = problemSplit(h).eval;
  // The held-out evaluator's greedy decoding, judged by the verifier there and scored by the reward model here.
  const { figures, gens, scored } = await evaluate(model, tok, fmt, examples, {
    accuracy: h.accuracy_reward, format: h.format_reward, maxNewTokens: h.max_new_tokens, sampled: false, seed: h.eval_seed,
  });
  const rms = scoreTexts(scorer.rm, scorer.tok, gens.map(g => ({ prompt: fmt.text(examples[g.prompt]), continuation: generatedText(g, tok) })));
  const right = scored.table.map(r => r[0] === 1);
  return {
    step, accuracy: figures.accuracy, format: figures.format, mean_length: figures.meanLength,
    rm_score: mean(rms), rm_auc: rankingAuc(rms, right),
    traces: gens.slice(0, 2).map(g => `${fmt.text(examples[g.prompt])}${generatedText(g, tok)}   [gold ${examples[g.prompt].answer}, rm ${rms[gens.indexOf(g)].toFixed(2)}]`),
  };
}

/** Runs a trainer in a child run directory unless it already completed; false when interrupted. */
async function runChild(ctx: TrainerContext, dir: string, trainer: Trainer, raw: Record<string, unknown>, label: string): Promise<boolean> {
  if (ctx.resume && childCompleted(dir)) { ctx.log(`${label}: already completed, skipped`); return true; }
  const config = trainer.schema.parse(raw) as Record<string, unknown>;
  return runInChild(ctx, childRun(ctx, dir, trainer.name, { trainer: trainer.name, ...config }), trainer, config, label);
}

export const rlhfVsRl = registerTrainer({
  name: "rlhf-vs-rl",
  description: "experiment: GRPO on the rule reward against GRPO on a reward model fitted to a biased annotator, same base and budget, held-out accuracy / RM score / length over training",
  schema: ExperimentConfigSchema,
  async run(c, run, ctx) {
    requireModelFolder(c.model);
    const h = c.heldout;
    // 0. the cold start, when asked for
    let start = c.model;
    if (c.cold_start) {
      const dir = join(run.dir, "cold-start");
      if (!(await runChild(ctx, dir, requireTrainer("sft"), coldStartConfig(c, join(dir, "model")), "cold-start"))) return;
      start = join(dir, "model");
    }
    // 1. preference pairs from the start model's own samples
    const prefsDir = join(run.dir, "prefs"), pairsFile = join(prefsDir, "prefs.jsonl"), statsFile = join(prefsDir, "stats.json");
    if (!existsSync(statsFile)) {
      mkdirSync(prefsDir, { recursive: true });
      const p = c.prefs;
      ctx.log(`preferences: ${p.num_generations} samples for each of ${p.num_prompts} training problems, labelled by ${JSON.stringify(p.labeller)}`);
      const { rows, stats } = await samplePreferencePairs(loadPolicy(start, { backend: c.backend }), {
        problems: h, split: "train", n: p.num_prompts, k: p.num_generations, temperature: p.temperature, maxNewTokens: h.max_new_tokens,
        seed: p.seed, rewards: [h.accuracy_reward],
      }, p.labeller, { labelSeed: p.label_seed, maxPerProblem: p.max_pairs_per_prompt }, ctx.log);
      writeFileAtomic(pairsFile, rows.map(r => JSON.stringify(r) + "\n").join(""));
      writeJsonAtomic(statsFile, stats);
    }
    const prefs = JSON.parse(readFileSync(statsFile, "utf8")) as Record<string, number | null>;
    ctx.log(`preferences: ${prefs.pairs} pairs; ${prefs.verifiable} the verifier separates, ${pct(prefs.agreement)} of those agree with it; chosen is the longer in ${pct(prefs.chosen_longer)}`);
    if (!prefs.pairs) throw new Error(`the labeller made no pair from ${prefs.candidates} samples: raise prefs.num_generations or temperature, or use a labeller that separates more samples`);

    // 2. the reward model
    const rmRunDir = join(run.dir, "reward-model"), rmDir = join(rmRunDir, "model");
    if (!(await runChild(ctx, rmRunDir, requireTrainer("reward-model"), rewardModelConfig(c, start, pairsFile, rmDir), "reward-model"))) return;
    const rmReport = JSON.parse(readFileSync(join(rmRunDir, "report.json"), "utf8")) as { after: { accuracy: number } | null };
    const scorer = { rm: loadRewardModel(rmDir, getBackend(c.backend)).rm, tok: loadTokenizer(rmDir) };

    // 3. both arms, then every checkpoint measured on the held-out set (one metrics row per arm and step)
    if (ctx.resume) run.rewind(-1);
    const logFigures = (arm: Arm, f: Figures) => run.logMetrics(f.step, {
      [`${arm}/accuracy`]: f.accuracy, [`${arm}/rm_score`]: f.rm_score, [`${arm}/mean_length`]: f.mean_length, [`${arm}/rm_auc`]: f.rm_auc, [`${arm}/format`]: f.format,
    });
    const base = await cachedJson(join(run.dir, "heldout-base.json"), () => measure(start, 0, h, scorer, c.backend));
    ctx.log(`base: ${summary(base)}`);
    const series: Record<Arm, Figures[]> = { rl: [base], rlhf: [base] };
    for (const arm of ARMS) {
      logFigures(arm, base);
      const dir = join(run.dir, arm);
      if (!(await runChild(ctx, dir, requireTrainer("grpo"), armConfig(c, arm, start, rmDir), arm))) return;
      mkdirSync(join(dir, "heldout"), { recursive: true });
      for (const ck of checkpointDirs(join(dir, "checkpoints")).reverse()) {
        const f = await cachedJson(join(dir, "heldout", `${ck}.json`), () => measure(join(dir, "checkpoints", ck, "model"), Number(ck.slice("step-".length)), h, scorer, c.backend));
        series[arm].push(f);
        logFigures(arm, f);
        ctx.log(`${arm} step ${f.step}: ${summary(f)}`);
      }
    }
    const steps = [...new Set([...series.rl, ...series.rlhf].map(f => f.step))].sort((a, b) => a - b);
    writeReport(run, c, { start, prefs, rm_eval_accuracy: rmReport.after?.accuracy ?? null, series }, steps, ctx.log);
  },
});

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`);
const summary = (f: Figures) => `accuracy ${pct(f.accuracy)}, RM score ${f.rm_score.toFixed(2)}, length ${f.mean_length.toFixed(1)}, RM AUC ${f.rm_auc === null ? "-" : f.rm_auc.toFixed(2)}`;

function writeReport(run: Run, c: ExperimentConfig, r: { start: string; prefs: Record<string, number | null>; rm_eval_accuracy: number | null; series: Record<Arm, Figures[]> },
  steps: number[], log: (m: string) => void): void {
  const h = c.heldout;
  run.writeJson("report.json", { start_model: r.start, ...sourceOf(h), eval_seed: h.eval_seed, eval_size: heldOutSize(h), labeller: c.prefs.labeller, prefs: r.prefs, reward_model_pair_accuracy: r.rm_eval_accuracy, ...r.series });
  const cell = (arm: Arm, step: number, f: (x: Figures) => string) => { const x = r.series[arm].find(y => y.step === step); return x ? f(x) : "-"; };
  const rows = steps.map(s => [String(s), ...ARMS.flatMap(a => [cell(a, s, x => pct(x.accuracy)), cell(a, s, x => x.rm_score.toFixed(2)), cell(a, s, x => x.mean_length.toFixed(1)), cell(a, s, x => (x.rm_auc === null ? "-" : x.rm_auc.toFixed(2)))])]);
  const last = (a: Arm) => r.series[a].at(-1)!;
  log(["", `held-out set: ${heldOutSize(h)} ${problemSource(h)} problems (seed ${h.eval_seed}), greedy; reward model: ${pct(r.rm_eval_accuracy)} held-out pair accuracy on ${r.prefs.pairs} annotator pairs (${pct(r.prefs.agreement)} agree with the verifier)`,
    formatTable(["step", "rl acc", "rl RM", "rl len", "rl AUC", "rlhf acc", "rlhf RM", "rlhf len", "rlhf AUC"], rows),
    `acc: verifier accuracy; RM: mean reward-model score; len: mean tokens; AUC: how often the RM ranks a correct completion above a wrong one`,
    `final: rl ${summary(last("rl"))}`, `       rlhf ${summary(last("rlhf"))}`,
    "rlhf traces:", ...last("rlhf").traces.map(t => `  ${t}`), `report: ${join(run.dir, "report.json")}`].join("\n"));
}
