// The problem-set seam: src/eval/problems.ts draws the same problems as the task splits GRPO trains and evaluates
// on, sampleProblems returns the per-completion table, and evaluate() hands back the greedy decoding it judged
// (so the pipeline and rlhf-vs-rl score it instead of decoding the held-out set a second time).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadForGeneration } from "../../src/model/io/pretrained.js";
import { generate } from "../../src/sample/generate.js";
import { promptFormat, PromptConfigSchema } from "../../src/sample/prompt-format.js";
import { makeTask, trainEvalSplit, TaskConfigSchema } from "../../src/tasks/index.js";
import { mixSeed } from "../../src/tasks/rng.js";
import { evaluate } from "../../src/eval/heldout.js";
import { loadPolicy, loadProblems, sampleProblems, type ProblemSet } from "../../src/eval/problems.js";
import { scoreCompletions } from "../../src/train/rewarding.js";
import { byteModelFolder, DIGIT_REWARD } from "../pipeline/micro.js";
import { tempRoot } from "../train/trainer-harness.js";

const task = TaskConfigSchema.parse({ type: "arithmetic", min_terms: 2, max_terms: 3 });
const set: ProblemSet = { task, train_seed: 1, eval_seed: 2, eval_size: 16, prompt: PromptConfigSchema.parse({}) };

test("a task problem set draws GRPO's held-out set and training problems that avoid it", () => {
  const split = trainEvalSplit(makeTask(task), set);
  assert.deepEqual(loadProblems(set, "eval", 16), split.eval);
  assert.deepEqual(loadProblems(set, "eval", 5), split.eval.slice(0, 5), "held-out sets are prefixes of one stream");
  const held = new Set(split.eval.map(e => e.id));
  const train = loadProblems(set, "train", 40);
  assert.equal(new Set(train.map(e => e.id)).size, 40);
  assert.ok(train.every(e => !held.has(e.id)), "no held-out problem is a training problem");
  assert.deepEqual(train.slice(0, 3), loadProblems({ ...set, eval_seed: 2 }, "train", 3));
});

test("sampleProblems: k completions per problem, prompt-major, one reward row each, as the sampler draws them", async () => {
  const dir = byteModelFolder(tempRoot("problems"), "m");
  const policy = loadPolicy(dir, { backend: "reference" });
  const job = { problems: set, split: "eval" as const, n: 3, k: 2, temperature: 1, maxNewTokens: 6, seed: 4, rewards: [DIGIT_REWARD, "format"] };
  const s = await sampleProblems(policy, job);
  assert.equal(s.gens.length, 6);
  assert.deepEqual(s.gens.map(g => g.prompt), [0, 0, 1, 1, 2, 2]);
  assert.equal(s.scored.table.length, 6);
  assert.ok(s.scored.table.every(r => r.length === 2));
  const { model, tokenizer } = loadForGeneration(dir, "reference");
  const fmt = promptFormat(set.prompt, tokenizer);
  const direct = generate(model, tokenizer, s.examples.map(e => fmt.encode(e)), { maxNewTokens: 6, temperature: 1, numReturnSequences: 2, seed: mixSeed(4), stop: fmt.stop });
  assert.deepEqual(s.gens.map(g => g.ids), direct.map(g => g.ids), "the same completions as the in-process sampler with the job's seed");
});

test("evaluate() returns the greedy completions it judged and scores extra rewards on them", async () => {
  const dir = byteModelFolder(tempRoot("heldout"), "m");
  const { model, tokenizer } = loadForGeneration(dir, "reference");
  const fmt = promptFormat(set.prompt, tokenizer);
  const examples = trainEvalSplit(makeTask(task), set).eval.slice(0, 6);
  const r = await evaluate(model, tokenizer, fmt, examples, { accuracy: DIGIT_REWARD, format: "format", extraRewards: ["language", "repetition"], maxNewTokens: 8, sampled: false, seed: 2 });
  const again = generate(model, tokenizer, examples.map(e => fmt.encode(e)), { maxNewTokens: 8, temperature: 0, stop: fmt.stop, seed: mixSeed(2, 0), batchSize: 64 });
  assert.deepEqual(r.gens.map(g => g.ids), again.map(g => g.ids), "the held-out greedy decoding");
  const scored = await scoreCompletions([DIGIT_REWARD, "format", "language", "repetition"], again.map(g => fmt.completion(g)), again.map(g => examples[g.prompt]));
  assert.deepEqual(r.scored.table, scored.table);
  const right = scored.table.map(row => (row[0] === 1 ? 1 : 0));
  assert.equal(r.figures.accuracy, right.reduce((a: number, b) => a + b, 0) / right.length);
  assert.equal(r.figures.meanLength, again.reduce((a, g) => a + g.ids.length, 0) / again.length);
});

test("nothing outside src/cli imports src/cli", () => {
  const files: string[] = [];
  (function walk(d: string) { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith(".ts")) files.push(p); } })("src");
  const offenders = files.filter(f => !f.startsWith(join("src", "cli")) && /from "(\.\.\/)+cli\//.test(readFileSync(f, "utf8")));
  assert.deepEqual(offenders, []);
});
