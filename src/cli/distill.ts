// `move37 distill`: a teacher writes reasoning traces, the verifier keeps the correct ones, a student is
// SFT-trained on them (src/train/distill.ts). Flags become recipe keys, so it runs as `move37 train` runs a recipe.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { locateRecipe, readRecipe } from "../recipes/load.js";
import { train } from "./train.js";
import { addRunOptions, recipeAndOverrides, type RunFlags } from "./train.js";
import { withExamples } from "./help.js";

export class DistillArgumentsError extends Error {
  constructor(message: string) { super(message); this.name = "DistillArgumentsError"; }
}

interface DistillFlags extends RunFlags {
  teacher?: string; student?: string; task?: string; dataset?: string; taskOptions?: string; reward?: string; instruct?: boolean; n?: number; k?: number; temperature?: number; maxNewTokens?: number; out?: string;
}

/** The recipe the flags describe, over the given recipe file's keys (flags win). */
export function distillRecipe(base: Record<string, unknown>, f: DistillFlags): Record<string, unknown> {
  const r: Record<string, unknown> = { ...base, trainer: "distill" };
  if (f.teacher) r.teacher = f.teacher;
  if (f.student) r.student = f.student;
  const source = (key: "task" | "dataset" | "prompts_file", value: unknown) => {
    for (const k of ["task", "dataset", "prompts_file"]) delete r[k];
    r[key] = value;
  };
  if (f.dataset) source("dataset", f.dataset);
  else if (f.task?.endsWith(".jsonl")) source("prompts_file", f.task);
  else if (f.task) source("task", { type: f.task, ...(f.taskOptions ? JSON.parse(f.taskOptions) as object : {}) });
  if (f.reward) r.reward = f.reward;
  if (f.instruct) r.prompt = { template: "tiny_r1", instruct: true };
  if (f.n !== undefined) r.num_prompts = f.n;
  if (f.k !== undefined) r.num_generations = f.k;
  if (f.temperature !== undefined) r.temperature = f.temperature;
  if (f.maxNewTokens !== undefined) r.max_new_tokens = f.maxNewTokens;
  if (f.out) r.output_dir = f.out;
  return r;
}

export function register(program: Command): void {
  const cmd = program
    .command("distill")
    .description("distillation (R1's small models): a teacher model writes reasoning traces for a task or JSONL prompt set, those the verifier accepts (reward = 1) are kept, and a student (any size or tokenizer: traces are re-tokenized) is SFT-trained on them; data, SFT run and student in runs/<name>/")
    .argument("[recipe]", "a distill recipe (trainer: distill); flags override its keys")
    .option("--teacher <dir>", "teacher model folder, checkpoint, run directory or hub id (owner/name)")
    .option("--student <dir>", "student model folder or hub id (owner/name)")
    .option("--task <name>", "arithmetic, countdown, or a JSONL file of {prompt|messages, answer} rows")
    .option("--dataset <path>", "a dataset file or folder of problems (JSONL, JSON, Parquet, Hugging Face layout; docs/datasets.md): its training rows, never its held-out ones")
    .option("--task-options <json>", "task generator options as JSON, e.g. '{\"min_terms\":4,\"max_terms\":7}'")
    .option("--reward <name>", "verifier: keep a trace only when this reward gives 1 (e.g. r1_math); without it every finished trace is kept")
    .option("--instruct", "name the <think>/<answer> tags in the prompt (the tiny_r1 template of recipes/r1-zero-tiny.yaml)")
    .option("--n <problems>", "problems to prompt the teacher with", Number)
    .option("--k <samples>", "traces per problem", Number)
    .option("--temperature <t>", "teacher sampling temperature", Number)
    .option("--max-new-tokens <n>", "tokens per trace at most", Number)
    .option("--out <dir>", "where the student is written (default: runs/<name>/model)");
  addRunOptions(cmd, "continue a distillation: the traces are reused, SFT resumes from its checkpoint", "--sft.num_train_epochs=3")
    .action(async (_recipe: string | undefined, f: DistillFlags, command: Command) => {
      const { recipe, overrides } = recipeAndOverrides(command);
      if (f.resume !== undefined && recipe === undefined) return train(undefined, f, overrides);
      const base = recipe === undefined ? {} : readRecipe(locateRecipe(recipe));
      if (recipe === undefined && !(f.teacher && f.student && (f.task || f.dataset)))
        throw new DistillArgumentsError("give a distill recipe, or --teacher, --student and --task or --dataset (see `move37 distill --help`)");
      const flagged = Object.keys(distillRecipe({}, f)).length > 1;
      if (recipe !== undefined && !flagged) {
        if (base.trainer !== "distill") throw new DistillArgumentsError(`${recipe} is a recipe for trainer "${String(base.trainer)}": give a distill recipe (trainer: distill)`);
        return train(recipe, f, overrides);
      }
      // train() reads recipes from files: the flags' recipe goes to a temporary distill.yaml (the run keeps config.json).
      const tmp = mkdtempSync(join(tmpdir(), "move37-distill-"));
      const file = join(tmp, "distill.yaml");
      writeFileSync(file, toYaml(distillRecipe(base, f)));
      try { await train(file, f, overrides); } finally { rmSync(tmp, { recursive: true, force: true }); }
    });
  withExamples(cmd, [
    "move37 distill --teacher models/r1-tiny --student models/base-tiny --task arithmetic --reward r1_math --n 512 --k 4 --out models/distilled-tiny",
    "move37 distill recipes/experiments/distill-tiny.yaml --sft.num_train_epochs=3",
    "move37 distill --teacher models/teacher --student models/student --task prompts.jsonl --reward math --dry-run",
  ]);
}
