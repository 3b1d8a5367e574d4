// The tool-use demonstration's tasks (docs/tools.md "Demonstration"): multi-digit products and the output of small
// Python programs, problems a tiny model cannot work out in its head.
import { test } from "node:test";
import assert from "node:assert/strict";
import { distinctExamples, makeTask, trainEvalSplit, TaskConfigSchema } from "../../src/tasks/index.js";
import { runPythonProgram } from "../../src/rewards/code/python.js";
import { PROGRAM_QUESTION } from "../../src/tasks/program-output.js";

test("multiplication: the answer is the exact product, factors have the configured digits and count", () => {
  const task = makeTask({ type: "multiplication", min_factors: 2, max_factors: 3, min_digits: 2, max_digits: 4 });
  const counts = new Set<number>(), digits = new Set<number>();
  for (const ex of distinctExamples(task, 3, 400)) {
    const m = /^([\d*]+)=\?$/.exec(ex.question);
    assert.ok(m, ex.question);
    const f = m[1].split("*");
    counts.add(f.length);
    for (const x of f) { assert.match(x, /^[1-9]\d*$/, `no leading zero: ${ex.question}`); digits.add(x.length); }
    assert.equal(ex.answer, String(f.reduce((p, x) => p * BigInt(x), 1n)), ex.question); // BigInt: 3 factors of 4 digits pass 2^32
    assert.equal(ex.id, `multiplication:${m[1]}`);
  }
  assert.deepEqual([...counts].sort(), [2, 3]);
  assert.deepEqual([...digits].sort(), [2, 3, 4]);
  // the defaults: two factors of 2–3 digits
  const d = TaskConfigSchema.parse({ type: "multiplication" });
  assert.deepEqual(d, { type: "multiplication", min_factors: 2, max_factors: 2, min_digits: 2, max_digits: 3 });
  assert.throws(() => TaskConfigSchema.parse({ type: "multiplication", min_digits: 4, max_digits: 2 }), /min_digits/);
  assert.throws(() => TaskConfigSchema.parse({ type: "multiplication", digits: 2 }), /digits/);
  // train and held-out problems stay disjoint as for every task
  const split = trainEvalSplit(makeTask({ type: "multiplication" }), { train_seed: 1, eval_seed: 2, eval_size: 64 });
  const held = new Set(split.eval.map(e => e.id));
  for (let i = 0; i < 500; i++) assert.ok(!held.has(split.train(i).id));
});

test("program_output: the answer is what Python prints", async () => {
  const task = makeTask({ type: "program_output", digits: 2 });
  const examples = distinctExamples(task, 5, 25);
  const shapes = new Set(examples.map(e => e.question.split("\n").length));
  assert.ok(shapes.size >= 3, "one-line and multi-line programs");
  for (const ex of examples) {
    assert.ok(ex.question.startsWith(`${PROGRAM_QUESTION}\n`));
    const code = ex.question.slice(PROGRAM_QUESTION.length + 1);
    assert.equal(ex.id, `program_output:${code}`);
    const run = await runPythonProgram(code);
    assert.equal(run.code, 0, code);
    assert.equal(run.output.trim(), ex.answer, code);
    assert.match(ex.answer, /^\d+$/);
  }
  // digits: 3 makes 3-digit operands (a subtracted amount may be as large as the product, a loop count stays one digit)
  for (const ex of distinctExamples(makeTask({ type: "program_output", digits: 3 }), 1, 50)) {
    const multi = ex.question.match(/\d+/g)!.filter(x => x.length > 1);
    assert.ok(multi.every(n => n.length >= 3) && multi.some(n => n.length === 3), ex.question);
  }
});

test("mixture: each problem comes from one part by weight, keeps its part's id and names the part as its subset", () => {
  const cfg = { type: "mixture", parts: [
    { name: "product", weight: 3, task: { type: "multiplication" } },
    { name: "chain", weight: 1, task: { type: "arithmetic", min_terms: 5, max_terms: 8, digits: 3 } }] };
  const task = makeTask(cfg);
  const exs = distinctExamples(task, 7, 400);
  const products = exs.filter(e => e.subset === "product"), chains = exs.filter(e => e.subset === "chain");
  assert.equal(products.length + chains.length, 400);
  assert.ok(Math.abs(products.length / 400 - 0.75) < 0.07, `share of products ${products.length / 400}`);
  assert.ok(products.every(e => e.id.startsWith("multiplication:")) && chains.every(e => e.id.startsWith("arithmetic:")));
  // a problem is its part's problem: the same id, question and answer as the part's task gives
  for (const e of chains) assert.equal(String(e.question.replace("=?", "").split(/(?=[+-])/).reduce((a, t) => a + Number(t), 0)), e.answer);
  // exposes is the part's own (an arithmetic chain shows its derivation steps; a product shows nothing else)
  assert.ok(task.exposes!(chains[0]).length >= 4);
  assert.deepEqual(task.exposes!(products[0]), []);
  // held-out sets stay disjoint from training across parts, through each part's exposes
  const split = trainEvalSplit(task, { train_seed: 1, eval_seed: 2, eval_size: 64 });
  const held = new Set(split.eval.map(e => e.id));
  for (let i = 0; i < 300; i++) assert.ok(!held.has(split.train(i).id));
  assert.throws(() => TaskConfigSchema.parse({ type: "mixture", parts: [{ name: "a", weight: 1, task: { type: "multiplication" } }, { name: "a", weight: 1, task: { type: "multiplication" } }] }), /names must differ/);
  assert.throws(() => TaskConfigSchema.parse({ type: "mixture", parts: [{ name: "a", weight: 1, task: { type: "mixture", parts: [] } }, { name: "b", weight: 1, task: { type: "multiplication" } }] }));
});
