// `dataset:` beside `task:` wherever problems are read: every schema takes exactly one; a dataset's held-out part is
// carved (eval_size, eval_seed) or its own eval rows, never trained on; GRPO, SFT, distillation and the eval/sample
// verbs run on a GSM8K-format Parquet file or TRL-format JSONL as on a task.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PromptConfigSchema } from "../../src/sample/prompt-format.js";
import { loadProblems, problemSplit, type ProblemSet } from "../../src/eval/problems.js";
import { GRPORecipeSchema } from "../../src/train/grpo-trainer.js";
import { DistillConfigSchema } from "../../src/train/distill.js";
import { SFTConfigSchema } from "../../src/train/sft.js";
import { PipelineConfigSchema } from "../../src/train/pipeline.js";
import { ExperimentConfigSchema } from "../../src/train/reward-model-experiment.js";
import { readJsonl } from "../../src/runs/read.js";
import "../../src/recipes/trainers.js";
import { writeJsonl, writeParquet } from "../data/write.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";
import { metricsOf, readJson, runTrainer, tempRoot } from "../train/trainer-harness.js";
import { runCli } from "../cli/run-cli.js";
import { distillRecipe } from "../../src/cli/distill.js";
import { byteModelFolder as stoppingModelFolder, DIGIT_REWARD } from "../pipeline/micro.js";

/** GSM8K's layout: a question, and a worked solution ending in "#### n". */
function gsm8kParquet(file: string, n: number): string {
  const q: string[] = [], a: string[] = [];
  for (let i = 0; i < n; i++) {
    q.push(`Tom has ${i + 2} apples and buys ${i + 3} more. How many apples does he have?`);
    a.push(`He has ${i + 2} + ${i + 3} = ${2 * i + 5} apples.\n#### ${2 * i + 5}`);
  }
  return writeParquet(file, { question: q, answer: a });
}

const prompt = PromptConfigSchema.parse({});
const dataSet = (dataset: unknown, over: Partial<ProblemSet> = {}): ProblemSet => ({ dataset: dataset as string, train_seed: 1, eval_seed: 2, eval_size: 6, prompt, ...over });

test("every recipe that reads problems takes task or dataset, exactly one, and says so by name", () => {
  const task = { type: "arithmetic" };
  const grpo = { model: "m", accuracy_reward: "math", format_reward: "format", grpo: { reward_funcs: ["math"] } };
  assert.ok(GRPORecipeSchema.safeParse({ ...grpo, dataset: "data/gsm8k.parquet" }).success);
  assert.ok(GRPORecipeSchema.safeParse({ ...grpo, dataset: { path: "data/gsm8k", config: "main", eval_split: "test", eval_size: 64 } }).success);
  const both = GRPORecipeSchema.safeParse({ ...grpo, task, dataset: "x.jsonl" });
  assert.match(both.error!.issues[0].message, /give exactly one of task, dataset \(this recipe gives task and dataset\)/);
  assert.deepEqual(both.error!.issues[0].path, ["dataset"]);
  assert.match(GRPORecipeSchema.safeParse(grpo).error!.issues[0].message, /give exactly one of task, dataset: a procedural task, or a dataset file/);
  assert.match(GRPORecipeSchema.safeParse({ ...grpo, dataset: { path: "x", colums: {} } }).error!.issues[0].message, /colums|Unrecognized/);

  const distill = { teacher: "t", student: "s" };
  assert.ok(DistillConfigSchema.safeParse({ ...distill, dataset: "x.parquet" }).success);
  assert.ok(DistillConfigSchema.safeParse({ ...distill, prompts_file: "x.jsonl" }).success);
  assert.match(DistillConfigSchema.safeParse({ ...distill, dataset: "x", prompts_file: "y" }).error!.issues[0].message, /exactly one of task, dataset, prompts_file/);

  assert.ok(SFTConfigSchema.safeParse({ model: "m", dataset: "chats.jsonl" }).success);
  assert.match(SFTConfigSchema.safeParse({ model: "m", dataset: "c.jsonl", train_file: "t.jsonl" }).error!.issues[0].message, /exactly one of train_file, traces and dataset/);

  const heldout = { dataset: { path: "g.parquet", eval_size: 32 } };
  assert.ok(PipelineConfigSchema.safeParse({ model: "m", heldout, stages: [{ name: "rl", trainer: "grpo", config: { grpo: { reward_funcs: ["math"] } } }] }).success,
    "a pipeline's grpo stage inherits the held-out dataset");
  assert.match(JSON.stringify(PipelineConfigSchema.safeParse({ model: "m", heldout: { ...heldout, task }, stages: [{ name: "rl", trainer: "grpo", config: {} }] }).error!.issues),
    /exactly one of task, dataset/);
  assert.ok(ExperimentConfigSchema.safeParse({ model: "m", heldout, cold_start: { train_file: "c.jsonl" }, grpo: { max_steps: 2 } }).success);
});

test("a dataset's held-out problems: eval_size carved with eval_seed, or its own eval rows; training never sees them", () => {
  const root = tempRoot("ds-split");
  const file = gsm8kParquet(join(root, "train.parquet"), 30);
  const split = problemSplit(dataSet(file));
  assert.equal(split.eval.length, 6);
  const held = new Set(split.eval.map(e => e.question));
  const epoch = Array.from({ length: 24 }, (_, i) => split.train(i));
  assert.equal(new Set(epoch.map(e => e.question)).size, 24, "one epoch visits every training row once");
  assert.ok(epoch.every(e => !held.has(e.question)), "no held-out problem is trained on");
  assert.equal(epoch[0].answer, String(Number(epoch[0].question.match(/has (\d+)/)![1]) * 2 + 1), "the GSM8K gold answer is the number after ####");
  assert.notDeepEqual(Array.from({ length: 24 }, (_, i) => split.train(24 + i).id), epoch.map(e => e.id), "each epoch has its own order");
  assert.deepEqual(problemSplit(dataSet(file)).train(31), split.train(31), "position i is a function of (train_seed, i): exact resume");
  assert.notDeepEqual(problemSplit(dataSet(file, { eval_seed: 3 })).eval.map(e => e.id), split.eval.map(e => e.id), "eval_seed picks the carve");
  assert.deepEqual(loadProblems(dataSet(file), "eval", 4), split.eval.slice(0, 4));
  assert.deepEqual(loadProblems(dataSet(file), "train", 5), epoch.slice(0, 5));

  const test_ = gsm8kParquet(join(root, "test.parquet"), 4);
  const own = problemSplit(dataSet({ path: file, eval_path: test_ }));
  assert.equal(own.eval.length, 4, "the dataset's eval file is the held-out set; eval_size does not carve");
  assert.throws(() => problemSplit(dataSet(file, { eval_size: 30 })), /30 eval problems asked of 30 distinct problems/);
});

test("GRPO trains on a GSM8K-format Parquet file: prompts from its training rows, measured on the held-out rows", async () => {
  const root = tempRoot("ds-grpo");
  const file = gsm8kParquet(join(root, "gsm8k.parquet"), 40);
  const { task: _t, ...recipe } = microRecipe(byteModelFolder(root), { eval_size: 8, save_steps: 0 });
  const run = await runTrainer("grpo", { ...recipe, dataset: file, grpo: { ...recipe.grpo, max_steps: 2 } }, { root });
  const report = readJson(join(run.dir, "report.json"));
  assert.equal(report.task, file);
  assert.equal(report.eval_size, 8);
  assert.equal(metricsOf(run).filter(m => m.loss !== undefined).length, 2);
  const held = new Set(problemSplit(dataSet(file, { eval_size: 8 })).eval.map(e => e.question));
  const samples = readJsonl<{ prompt: string }>(join(run.dir, "samples.jsonl"));
  assert.ok(samples.length > 0);
  assert.ok(samples.every(s => /Tom has \d+ apples/.test(s.prompt) && ![...held].some(q => s.prompt.includes(q))), "training prompts are training rows");
});

test("SFT on a dataset: TRL's messages rows and prompt/completion rows; a row without a completion is refused by name", async () => {
  const root = tempRoot("ds-sft");
  const chats = writeJsonl(join(root, "chats.jsonl"), Array.from({ length: 12 }, (_, i) => ({
    messages: [{ role: "user", content: `${i}+1=?` }, { role: "assistant", content: `<think>${i}+1</think><answer>${i + 1}</answer>` }],
  })));
  const model = byteModelFolder(root);
  // A short template: the byte model has none, and the built-in R1 one is longer than its 128 positions.
  const chat_template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";
  const base = { model, eval_size: 2, max_steps: 2, per_device_train_batch_size: 4, max_length: 96, chat_template };
  const a = await runTrainer("sft", { ...base, dataset: chats }, { root, runName: "chats" });
  assert.ok(a.logs.some(l => /SFT: 10 training examples.*2 held out/.test(l)), a.logs.join("\n"));
  const pc = writeJsonl(join(root, "pc.jsonl"), Array.from({ length: 6 }, (_, i) => ({ prompt: `${i}*2=`, completion: String(2 * i) })));
  const b = await runTrainer("sft", { ...base, dataset: { path: pc, eval_size: 2 }, eval_size: 0 }, { root, runName: "pc" });
  assert.ok(b.logs.some(l => /SFT: 4 training examples.*2 held out/.test(l)), "the dataset's own eval rows are the held-out rows");
  assert.ok(metricsOf(b).some(m => typeof m.eval_loss === "number"));
  const bare = writeJsonl(join(root, "bare.jsonl"), [{ question: "1+1=?", answer: "2" }, { question: "2+2=?", answer: "4" }]);
  await assert.rejects(runTrainer("sft", { ...base, dataset: bare, eval_size: 0 }, { root, runName: "bare" }), /has no completion: SFT needs a "completion" column or "messages"/);
});

test("move37 eval, sample and prefs take --dataset FILE; a recipe's dataset brings its held-out split", async () => {
  const root = tempRoot("ds-cli");
  const file = gsm8kParquet(join(root, "test.parquet"), 5);
  const model = byteModelFolder(root);
  const common = ["--n", "3", "--k", "2", "--max-new-tokens", "4", "--backend", "reference"];
  const r = await runCli(["eval", model, "--dataset", file, ...common, "--json"]);
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(JSON.parse(r.stdout).problems, 3);
  assert.equal((await runCli(["eval", model, "--dataset", file, "--task", "arithmetic", ...common])).error?.message, "give --task or --dataset, not both");
  const out = join(root, "rs.jsonl");
  const s = await runCli(["sample", model, "--dataset", file, ...common, "--reward", "format", "--out", out]);
  assert.equal(s.error, undefined, s.error?.message);
  assert.match(s.stdout, /drawn\s+6/);
  const p = await runCli(["prefs", model, "--dataset", file, ...common, "--reward", "format", "--out", join(root, "prefs.jsonl")]);
  assert.equal(p.error, undefined, p.error?.message);
  assert.match(p.stdout, /samples\s+6/);
  const big = gsm8kParquet(join(root, "train.parquet"), 20);
  const yaml = join(root, "grpo.yaml");
  writeFileSync(yaml, `trainer: grpo\nmodel: ${model}\ndataset: ${big}\neval_size: 4\naccuracy_reward: math\nformat_reward: format\ngrpo: {reward_funcs: [math]}\n`);
  const viaRecipe = await runCli(["eval", model, "--recipe", yaml, "--n", "10", "--k", "1", "--max-new-tokens", "4", "--backend", "reference", "--json"]);
  assert.equal(viaRecipe.error, undefined, viaRecipe.error?.message);
  assert.equal(JSON.parse(viaRecipe.stdout).problems, 4, "the recipe's held-out set: eval_size rows carved with eval_seed");
});

test("distillation draws its prompts from a dataset's training rows, never its held-out ones", async () => {
  const root = tempRoot("ds-distill");
  const file = gsm8kParquet(join(root, "gsm8k.parquet"), 16);
  const model = stoppingModelFolder(root, "teacher", 32, 1, 5, true);
  const run = await runTrainer("distill", {
    teacher: model, student: model, dataset: file, eval_size: 6, num_prompts: 20, num_generations: 2, max_new_tokens: 6,
    backend: "reference", sft: { max_steps: 1, eval_size: 0, max_length: 128 },
  }, { root });
  const stats = readJson(join(run.dir, "data", "stats.json"));
  assert.equal(stats.problems, 10, "the 10 training rows (16 less the 6 held out), num_prompts capped at them");
  const held = problemSplit(dataSet(file)).eval.map(e => e.question);
  const traces = readFileSync(join(run.dir, "data", "traces.jsonl"), "utf8");
  assert.ok(held.every(q => !traces.includes(q)), "no held-out question is a teacher prompt");
});

test("a pipeline's held-out dataset is inherited by its grpo and distill stages and measures every stage", async () => {
  const root = tempRoot("ds-pipeline");
  const file = gsm8kParquet(join(root, "gsm8k.parquet"), 20);
  const base = stoppingModelFolder(root, "base", 32, 1, 5, true);
  const run = await runTrainer("pipeline", {
    model: base, backend: "reference",
    heldout: { dataset: file, eval_size: 4, max_new_tokens: 6, accuracy_reward: "math" },
    stages: [
      { name: "rl", trainer: "grpo", config: { save_steps: 0, grpo: { num_generations: 2, prompts_per_step: 2, max_completion_length: 6, reward_funcs: ["math"], max_steps: 1 } } },
      { name: "distill", trainer: "distill", config: { num_prompts: 4, num_generations: 2, max_new_tokens: 6, sft: { max_steps: 1, eval_size: 0, max_length: 128 } } },
    ],
  }, { root });
  for (const s of ["1-rl", "2-distill"]) assert.equal(readJson(join(run.dir, "stages", s, "config.json")).dataset.path, file, `${s} inherits the dataset`);
  const report = readJson(join(run.dir, "report.json"));
  assert.equal(report.dataset.path, file);
  assert.equal(report.stages.length, 3);
  assert.equal(report.eval_size, 4);
  const held = problemSplit(dataSet(file, { eval_size: 4 })).eval.map(e => e.question);
  const traces = readFileSync(join(run.dir, "stages", "2-distill", "data", "traces.jsonl"), "utf8");
  assert.ok(held.every(q => !traces.includes(q)), "the distill stage never prompts with a held-out question");
});

test("move37 distill --dataset replaces a recipe's task (and --task a recipe's dataset)", async () => {
  assert.deepEqual(distillRecipe({ task: { type: "arithmetic" }, num_prompts: 8 }, { dataset: "gsm8k.parquet", port: "0", runsDir: "runs" }), { trainer: "distill", num_prompts: 8, dataset: "gsm8k.parquet" });
  assert.deepEqual(distillRecipe({ dataset: "gsm8k.parquet" }, { task: "countdown", port: "0", runsDir: "runs" }), { trainer: "distill", task: { type: "countdown" } });
  const r = await runCli(["distill", "--teacher", "t", "--student", "s", "--dataset", "data/gsm8k", "--dry-run"]);
  assert.equal(r.error, undefined, r.error?.message);
  assert.match(r.stdout, /dataset:\s*\n?\s*path: data\/gsm8k|dataset: data\/gsm8k/);
});

test("rlhf-vs-rl on a held-out dataset: preference prompts from its training rows, both arms on it, measured on its held-out rows", async () => {
  const root = tempRoot("ds-rlhf");
  const file = gsm8kParquet(join(root, "gsm8k.parquet"), 30);
  const model = stoppingModelFolder(root, "micro", 32, 1, 5, true);
  const run = await runTrainer("rlhf-vs-rl", {
    model, backend: "reference",
    heldout: { dataset: file, eval_size: 6, accuracy_reward: DIGIT_REWARD, max_new_tokens: 8 },
    prefs: { num_prompts: 12, num_generations: 4, labeller: { type: "annotator", length_weight: 10 } },
    reward_model: { eval_size: 4, max_length: 128, per_device_train_batch_size: 8, num_train_epochs: 1, eval_every: 0, save_steps: 0 },
    grpo: { num_generations: 4, prompts_per_step: 2, max_steps: 2, seed: 7 },
    eval_every: 2,
  }, { root });
  const report = readJson(join(run.dir, "report.json"));
  assert.equal(report.dataset.path, file);
  for (const arm of ["rl", "rlhf"]) {
    assert.equal(readJson(join(run.dir, arm, "config.json")).dataset.path, file, `${arm} trains on the dataset`);
    assert.deepEqual(report[arm].map((f: { step: number }) => f.step), [0, 2]);
  }
  const held = problemSplit(dataSet(file)).eval.map(e => e.question);
  const pairs = readFileSync(join(run.dir, "prefs", "prefs.jsonl"), "utf8");
  assert.ok(pairs.length > 0 && held.every(q => !pairs.includes(q)), "no preference pair is about a held-out question");
});
