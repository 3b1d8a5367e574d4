// GRPO on countdown with held-out targets (issue 19): search counts per step in metrics.jsonl, and report.json's
// seen/unseen subsets, search counts and pass@k before and after, on the micro byte model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTrainer, metricsOf, readJson, tempRoot } from "./trainer-harness.js";
import { byteModelFolder, microRecipe } from "./grpo-micro.js";
import { readJsonl } from "../../src/runs/read.js";
import { searchMetrics } from "../../src/eval/search-behaviour.js";

const task = { type: "countdown", min_numbers: 3, max_numbers: 3, max_number: 20, min_target: 10, max_target: 40, generation: "target_first", held_out_targets: 0.1, eval_unseen_share: 0.5 };

test("GRPO on countdown logs search counts per step and reports subsets, search counts and pass@k before and after", async () => {
  const root = tempRoot("grpo-countdown");
  const recipe = microRecipe(byteModelFolder(root), {
    task, eval_size: 8, eval_sampled: true, accuracy_reward: "countdown_strict", log_completions: 16,
    eval_pass_at_k: { k: [1, 2, 4], problems: 4 },
    grpo: { num_generations: 4, prompts_per_step: 4, max_completion_length: 8, reward_funcs: ["countdown", "lowercase"], learning_rate: 0.02, max_steps: 2, seed: 7, loss_type: "dapo" },
  });
  const run = await runTrainer("grpo", recipe, { root });
  const steps = metricsOf(run).filter(r => r.reward !== undefined);
  assert.equal(steps.length, 2);
  // every completion of a step is logged (log_completions = 16 = the batch), so the step's counts can be recomputed
  const samples = readJsonl<{ step: number; prompt: string; completion: string }>(join(run.dir, "samples.jsonl"));
  for (const m of steps) {
    const rows = samples.filter(s => s.step === m.step).map(s => {
      const q = /Use ([\d, ]+) to make (\d+)\./.exec(s.prompt)!;
      return { completion: s.completion, numbers: q[1].split(", ").map(Number), target: Number(q[2]) };
    });
    assert.equal(rows.length, 16);
    const expected = searchMetrics(rows);
    for (const k of ["search/attempts", "search/backtracks", "search/checks", "search/abandoned", "search/dead_ends", "search/false_steps"]) assert.equal(m[k], expected[k], k);
  }
  const evalRows = metricsOf(run).filter(r => r["accuracy/seen_target"] !== undefined);
  assert.equal(evalRows.length, 2, "before and after");
  assert.ok(metricsOf(run).some(r => r["pass@k/4"] !== undefined && r["pass@k/unseen_target/4"] !== undefined));

  const report = readJson(join(run.dir, "report.json"));
  for (const side of [report.before, report.after]) {
    assert.deepEqual(Object.keys(side.subsets).sort(), ["seen_target", "unseen_target"]);
    assert.equal(side.subsets.seen_target.problems + side.subsets.unseen_target.problems, 8);
    for (const s of Object.values(side.subsets) as { accuracy: number; accuracy_sampled: number }[]) {
      assert.ok(s.accuracy >= 0 && s.accuracy <= 1 && s.accuracy_sampled >= 0 && s.accuracy_sampled <= 1);
    }
    assert.deepEqual(Object.keys(side.search.greedy).sort(), ["search/abandoned", "search/attempts", "search/backtracks", "search/checks", "search/dead_ends", "search/false_steps"]);
    assert.ok(side.search.sampled);
    const p = side.pass_at_k;
    assert.equal(p.problems, 4);
    assert.equal(p.samples, 4);
    assert.deepEqual(Object.keys(p.pass_at_k), ["1", "2", "4"]);
    assert.ok(p.pass_at_k["1"] <= p.pass_at_k["2"] && p.pass_at_k["2"] <= p.pass_at_k["4"] && p.pass_at_k["4"] <= 1);
    assert.deepEqual(Object.keys(p.subsets).sort(), ["seen_target", "unseen_target"]);
  }
  assert.match(run.logs.at(-1)!, /\n {4}unseen \(greedy\) /);
  // a random model writes no search: the backtracking trace is looked for and not found
  assert.deepEqual(report.traces.backtrack, { before: null, after: null });
  assert.match(run.logs.at(-1)!, /pass@4/);
});

test("an arithmetic run's report keeps its shape: no subsets, search counts or pass@k unless asked", async () => {
  const root = tempRoot("grpo-arith-shape");
  const run = await runTrainer("grpo", microRecipe(byteModelFolder(root), { grpo: { ...microRecipe("").grpo, max_steps: 1 } }), { root });
  const report = readJson(join(run.dir, "report.json"));
  assert.deepEqual(Object.keys(report.after).sort(), ["accuracy", "accuracy_sampled", "format", "mean_length", "mean_length_wrong"]);
  assert.ok(!Object.keys(metricsOf(run).find(r => r.reward !== undefined)!).some(k => k.startsWith("search/")));
});
