/**
 * Distillation (DeepSeek-R1's small models): a teacher model writes reasoning traces for a prompt set, a verifier
 * keeps the correct ones (reward = 1, when a reward is named), and a student is fine-tuned on them with the SFT
 * trainer. Traces travel as TEXT, so teacher and student may differ in size and tokenizer: the student
 * re-tokenizes every row. With teacher = student = an RL policy and non-reasoning rows mixed in, this is also R1's
 * rejection-sampling SFT stage (the pipeline's stage 3).
 *
 * The teacher samples in process, or (`teacher_rollout: {backend: openai, base_url}`, GRPO's `rollout:` keys) on
 * any OpenAI-compatible server serving it; the teacher folder then only lends its tokenizer and config.
 *
 * runs/<name>/
 *   data/traces.jsonl    kept traces as SFT rows with provenance (teacher, rewards); written once, reused on --resume
 *   data/train.jsonl     traces + non-reasoning rows: what the student trains on
 *   data/stats.json      samples drawn, dropped by reason, kept
 *   sft/                 the SFT trainer's own run directory (metrics, checkpoints, exact resume)
 *   model/               the student (unless output_dir says elsewhere)
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { registerTrainer, type Trainer, type TrainerContext } from "../recipes/registry.js";
import { createRun, type Run } from "../runs/run.js";
import { readJsonl, readRunInfo } from "../runs/read.js";
import { writeFileAtomic, writeJsonAtomic } from "../runs/atomic.js";
import { takeDocuments, CorpusConfigSchema } from "../corpus/corpus.js";
import { loadPolicy, sampleProblems } from "../eval/problems.js";
import { continuation } from "../sample/prompt-format.js";
import { RolloutConfigSchema } from "./rollout/index.js";
import { rejectionFilter, sftRow, type Candidate, type DropReason } from "./rejection.js";
import { sft, SFTConfigSchema } from "./sft.js";
import { BackendChoiceSchema, oneProblemSource, problemSetFields } from "./trainer-config.js";

export const DistillConfigSchema = z.object({
  /** Model folder (or checkpoint / run directory) that writes the traces. */
  teacher: z.string().min(1),
  /**
   * Where the teacher's traces are sampled: GRPO's `rollout:` keys. `openai` asks a server serving the teacher
   * (vLLM, SGLang, move37 serve); reload and importance-sampling keys do not apply (the teacher never changes).
   */
  teacher_rollout: RolloutConfigSchema.default(RolloutConfigSchema.parse({})),
  /** Model folder fine-tuned on them; any size or tokenizer. */
  student: z.string().min(1),
  /**
   * The problems: a generated task or a dataset, training problems only: the held-out set (the RL recipe's: eval_seed
   * and eval_size, or the dataset's own eval rows) is never used as prompts.
   */
  ...problemSetFields(256),
  /** Or a file of problems whose rows are all prompts (its first num_prompts), with no held-out part. */
  prompts_file: z.string().min(1).optional(),
  /** Problems drawn, and traces sampled per problem. */
  num_prompts: z.number().int().positive().default(256),
  num_generations: z.number().int().positive().default(4),
  temperature: z.number().min(0).default(1),
  max_new_tokens: z.number().int().positive().default(128),
  /** The verifier: a trace is kept only when this reward gives 1. Without it every finished trace is kept. */
  reward: z.string().min(1).optional(),
  /** Rejection filters (see rejection.ts); they apply when `reward` is given. */
  min_language: z.number().default(0.95),
  min_repetition: z.number().default(-0.2),
  max_per_prompt: z.number().int().nonnegative().default(0),
  /** Non-reasoning rows mixed into the student's data: documents of the pretraining corpus (R1 mixes in writing, QA…). */
  non_reasoning: z.object({ documents: z.number().int().positive(), corpus: CorpusConfigSchema.default(CorpusConfigSchema.parse({ seed: 7 })) }).strict().optional(),
  /** SFT trainer keys for the student (learning rate, epochs, batch size, max_length…); model and data are set here. */
  sft: z.record(z.string(), z.unknown()).default({}),
  /** Where the student is written (default: <run>/model). */
  output_dir: z.string().min(1).optional(),
  seed: z.number().int().default(0),
  backend: BackendChoiceSchema,
}).strict().superRefine((c, ctx) => {
  oneProblemSource(["task", "dataset", "prompts_file"])(c, ctx);
  nestedIssues(SFTConfigSchema, sftConfigOf(c, "data.jsonl", "model"), ["sft"], ctx, ["model", "train_file", "output_dir", "traces"]);
});
export type DistillConfig = z.output<typeof DistillConfigSchema>;

/** The SFT trainer's config for the student: the recipe's `sft` keys, with model, data and output set by distill. */
function sftConfigOf(c: Pick<DistillConfig, "student" | "sft" | "seed" | "backend">, trainFile: string, outputDir: string): Record<string, unknown> {
  return { seed: c.seed, backend: c.backend, ...c.sft, model: c.student, train_file: trainFile, output_dir: outputDir };
}

/**
 * Validates `value` with another trainer's schema and reports its problems under `path` of the outer recipe, so a
 * nested config fails at --dry-run with the path the user wrote. `owned` keys are set by the caller, not the user.
 */
export function nestedIssues(schema: z.ZodType, value: unknown, path: (string | number)[], ctx: z.RefinementCtx, owned: string[] = []): void {
  const r = schema.safeParse(value);
  if (r.success) return;
  for (const issue of r.error.issues) {
    const at = [...path, ...issue.path.map(p => (typeof p === "symbol" ? String(p) : p))];
    if (issue.code !== "unrecognized_keys") { ctx.addIssue({ code: "custom", path: at, input: (issue as { input?: unknown }).input, message: issue.message }); continue; }
    for (const key of issue.keys)
      ctx.addIssue({ code: "custom", path: [...at, key], input: undefined, message: owned.includes(key) ? "set by the enclosing trainer: remove it here" : "unknown key" });
  }
}

export class DistillDataError extends Error {
  constructor(message: string) { super(message); this.name = "DistillDataError"; }
}

export interface DistillStats { drawn: number; kept: number; problems: number; covered: number; dropped: Partial<Record<DropReason, number>>; non_reasoning: number }

/** A context for a trainer run inside another: the same signal and display, its own resume flag. */
function childContext(ctx: TrainerContext, resume: boolean, label: string): TrainerContext {
  return { ...ctx, resume, log: m => ctx.log(`[${label}] ${m}`) };
}

/** The run directory of a nested trainer run: continued when it exists (and the parent resumes), else created. */
export function childRun(parent: TrainerContext, dir: string, trainer: string, config: Record<string, unknown>): { run: Run; resume: boolean } {
  const resume = parent.resume && existsSync(join(dir, "run.json"));
  const run = resume
    ? createRun({ trainer, config, resumeDir: dir })
    : createRun({ trainer, config, root: resolve(dir, ".."), name: dir.replace(/^.*[\\/]/, "") });
  return { run, resume };
}

/** A nested run that completed (its run.json says so): --resume skips it. */
export function childCompleted(dir: string): boolean {
  return readRunInfo(dir)?.status === "completed";
}

/**
 * Runs `trainer` on its parsed `config` in `child` (see childRun), logging under `label`, and records how it ended
 * in the child's run.json: completed, interrupted (the parent was asked to stop), or failed with the error, which is
 * rethrown. False when interrupted: the parent stops too.
 */
export async function runInChild(ctx: TrainerContext, child: { run: Run; resume: boolean }, trainer: Trainer, config: Record<string, unknown>, label: string): Promise<boolean> {
  try {
    await trainer.run(config, child.run, childContext(ctx, child.resume, label));
  } catch (err) {
    child.run.setStatus(ctx.signal.aborted ? "interrupted" : "failed", err instanceof Error ? err.message : String(err));
    throw err;
  }
  child.run.setStatus(ctx.signal.aborted ? "interrupted" : "completed");
  return !ctx.signal.aborted;
}

/** Samples, verifies and filters the teacher's traces into SFT rows; returns them with the counts. */
async function teacherTraces(c: DistillConfig, log: (m: string) => void): Promise<{ rows: Record<string, unknown>[]; stats: Omit<DistillStats, "non_reasoning"> }> {
  // In process, or on a server serving the teacher (then the folder only lends its tokenizer and config): the same
  // problems, prompt ids, seed and sampling either way (a server that honours seeds, as move37 serve does, returns
  // the same traces).
  const teacher = loadPolicy(c.teacher, { backend: c.backend, rollout: c.teacher_rollout });
  const s = await sampleProblems(teacher, {
    problems: { ...(c.prompts_file !== undefined ? { file: c.prompts_file } : c.task !== undefined ? { task: c.task } : { dataset: c.dataset }), train_seed: c.train_seed, eval_seed: c.eval_seed, eval_size: c.eval_size, prompt: c.prompt },
    split: "train", n: c.num_prompts, k: c.num_generations, temperature: c.temperature, maxNewTokens: c.max_new_tokens, seed: c.seed,
    rewards: c.reward ? [c.reward, "language", "repetition"] : [],
  }, log);
  const candidates: Candidate[] = s.gens.map((g, i) => ({
    problem: g.prompt, prompt: s.fmt.text(s.examples[g.prompt]), completion: continuation(g, s.fmt, teacher.tokenizer),
    answer: s.examples[g.prompt].answer, tokens: g.ids.length, finishReason: g.finishReason, rewards: s.scored.byName(i),
  }));
  const { kept, dropped } = c.reward
    ? rejectionFilter(candidates, { reward: c.reward, minLanguage: c.min_language, maxTokens: Infinity, minRepetition: c.min_repetition, maxPerPrompt: c.max_per_prompt })
    : { kept: candidates.filter(x => x.finishReason !== "length"), dropped: { overlong: candidates.filter(x => x.finishReason === "length").length } };
  const provenance = { model: resolve(teacher.modelDir), step: teacher.step, reward: c.reward ?? "none", temperature: c.temperature, seed: c.seed };
  // Chat prompts are rendered by the teacher's template: the student gets the conversation and applies its own.
  const rows = kept.map(k => {
    const row = sftRow(k, provenance);
    if (c.prompt.template !== "chat") return row;
    const ex = s.examples[k.problem];
    const { prompt: _p, completion, ...rest } = row;
    return { messages: [...(ex.messages ?? [{ role: "user", content: ex.question }]), { role: "assistant", content: completion }], ...rest };
  });
  return { rows, stats: { drawn: candidates.length, kept: kept.length, problems: s.examples.length, covered: new Set(kept.map(k => k.problem)).size, dropped } };
}

const jsonl = (rows: unknown[]) => rows.map(r => JSON.stringify(r) + "\n").join("");

export const distill = registerTrainer({
  name: "distill",
  description: "distillation: a teacher writes reasoning traces, a verifier keeps the correct ones, a student (any size or tokenizer) is SFT-trained on them",
  schema: DistillConfigSchema,
  async run(c, run, ctx) {
    const dataDir = join(run.dir, "data");
    mkdirSync(dataDir, { recursive: true });
    const tracesPath = join(dataDir, "traces.jsonl"), trainPath = join(dataDir, "train.jsonl"), statsPath = join(dataDir, "stats.json");
    if (ctx.resume && existsSync(statsPath)) {
      ctx.log(`reusing the traces of ${tracesPath}`);
    } else {
      ctx.log(`teacher ${c.teacher}${c.teacher_rollout.backend === "openai" ? ` served at ${c.teacher_rollout.base_url}` : ""}: ${c.num_generations} traces for each of ${c.num_prompts} problems`);
      const { rows, stats } = await teacherTraces(c, ctx.log);
      const docs = c.non_reasoning ? takeDocuments(c.non_reasoning.corpus, c.non_reasoning.documents) : [];
      // A document is a completion with no prompt: loss on all of it, as in pretraining.
      const plain = docs.map(d => ({ prompt: "", completion: d.text, source: { corpus: d.genre } }));
      writeFileAtomic(tracesPath, jsonl(rows));
      writeFileAtomic(trainPath, jsonl([...rows, ...plain]));
      writeJsonAtomic(statsPath, { ...stats, non_reasoning: plain.length } satisfies DistillStats);
      const dropped = Object.entries(stats.dropped).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ");
      ctx.log(`kept ${stats.kept} of ${stats.drawn} traces (${stats.covered} of ${stats.problems} problems)${dropped ? `; dropped: ${dropped}` : ""}; ${plain.length} non-reasoning rows mixed in`);
    }
    if (readJsonl(trainPath).length === 0)
      throw new DistillDataError(`the teacher wrote no trace the verifier "${c.reward}" accepts and no non-reasoning rows are mixed in: use a stronger teacher, more num_generations or num_prompts, a higher temperature, or set non_reasoning`);

    const outputDir = c.output_dir ?? join(run.dir, "model");
    const sftConfig = SFTConfigSchema.parse(sftConfigOf(c, trainPath, outputDir));
    const child = childRun(ctx, join(run.dir, "sft"), "sft", { trainer: "sft", ...sftConfig });
    if (await runInChild(ctx, child, sft, sftConfig, "sft")) run.writeJson("report.json", { teacher: c.teacher, student: c.student, output_dir: outputDir, data: JSON.parse(readFileSync(statsPath, "utf8")) });
  },
});
