import { test } from "node:test";
import assert from "node:assert/strict";
import {
  makeTask, trainEvalSplit, distinctExamples, solveCountdown, chainDerivation, sampleChain, makeRng,
  parseJsonl, splitDataset, tinyR1Prompt, TaskError,
} from "../../src/tasks/index.js";
import { equationSteps } from "../../src/tasks/countdown.js";
import { ArithmeticConfigSchema, parseChain } from "../../src/tasks/arithmetic.js";

// Independent evaluation of generated expressions: JavaScript's own parser (inputs are digits and + - * / ( ) only).
const evalExpr = (e: string): number => {
  assert.match(e, /^[0-9+\-*/() ]+$/);
  return Function(`"use strict"; return (${e});`)() as number;
};

test("arithmetic: answers equal the expression's value, running totals stay ≥ 0, derivation steps keep the value", () => {
  const task = makeTask({ type: "arithmetic", min_terms: 4, max_terms: 7 });
  for (const ex of distinctExamples(task, 5, 300)) {
    const expr = ex.question.replace(/=\?$/, "");
    assert.equal(String(evalExpr(expr)), ex.answer, ex.question);
    const terms = expr.split(/(?=[+-])/);
    assert.ok(terms.length >= 4 && terms.length <= 7);
    let total = 0;
    for (const t of terms) { total += Number(t); assert.ok(total >= 0, `${expr} goes negative`); }
  }
  const cfg = ArithmeticConfigSchema.parse({ type: "arithmetic", digits: 2 });
  for (let s = 0; s < 50; s++) {
    const steps = chainDerivation(sampleChain(makeRng(s), cfg)).split(" = ");
    const v = evalExpr(steps[0]);
    steps.forEach(st => assert.equal(evalExpr(st), v));
    assert.match(steps.at(-1)!, /^\d+$/);
  }
  assert.equal(chainDerivation({ terms: [3, 7, 2, 9], ops: ["+", "-", "+"] }), "3+7-2+9 = 10-2+9 = 8+9 = 17");
});

test("countdown: every instance is solvable, its answer uses each number once and reaches the target", () => {
  const task = makeTask({ type: "countdown", min_numbers: 3, max_numbers: 4, max_number: 10 });
  for (const ex of distinctExamples(task, 9, 300)) {
    assert.ok(ex.numbers && ex.target !== undefined);
    assert.equal(evalExpr(ex.answer), ex.target, ex.answer);
    const used = (ex.answer.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b);
    assert.deepEqual(used, [...ex.numbers!].sort((a, b) => a - b));
    const sol = solveCountdown(ex.numbers!, ex.target!);
    assert.ok(sol !== null);
    assert.equal(evalExpr(sol!), ex.target);
    assert.ok(ex.target! >= 1 && ex.target! <= 100);
  }
});

test("equationSteps replays an equation in evaluation order", () => {
  assert.deepEqual(equationSteps("(3+5)*2"), ["3+5 = 8", "8*2 = 16"]);
  assert.deepEqual(equationSteps("10-2*3"), ["2*3 = 6", "10-6 = 4"]);
  assert.deepEqual(equationSteps("((9+7)/4)/4"), ["9+7 = 16", "16/4 = 4", "4/4 = 1"]);
  assert.equal(equationSteps("(3+5"), null);
  assert.equal(equationSteps("3+x"), null);
});

test("countdown solver finds solutions and reports unsolvable instances", () => {
  assert.equal(evalExpr(solveCountdown([2, 3, 4], 20)!), 20);
  assert.equal(evalExpr(solveCountdown([1, 2, 3, 4], 24)!), 24);
  assert.equal(evalExpr(solveCountdown([10, 10, 4, 4], 24)!), 24); // (10*10-4)/4
  assert.equal(solveCountdown([1, 1, 1], 100), null);
  assert.equal(solveCountdown([2, 2], 5), null);
  assert.equal(solveCountdown([7, 3], 4, ["+"]), null); // only + allowed
});

for (const cfg of [{ type: "arithmetic" }, { type: "countdown" }] as const)
  test(`${cfg.type}: deterministic from the seed; train and held-out sets are disjoint`, () => {
    const task = makeTask(cfg);
    const a = trainEvalSplit(task, { train_seed: 1, eval_seed: 2, eval_size: 256 });
    const b = trainEvalSplit(task, { train_seed: 1, eval_seed: 2, eval_size: 256 });
    assert.deepEqual(a.eval, b.eval);
    assert.deepEqual(a.train(123), b.train(123));
    assert.equal(new Set(a.eval.map(e => e.id)).size, 256);
    const c = trainEvalSplit(task, { train_seed: 3, eval_seed: 4, eval_size: 256 });
    assert.notDeepEqual(a.eval.map(e => e.id), c.eval.map(e => e.id));
    const held = new Set(a.eval.map(e => e.id));
    for (let i = 0; i < 2000; i++) {
      const ex = a.train(i);
      assert.ok(!held.has(ex.id), `train(${i}) = ${ex.id} is held out`);
    }
    assert.throws(() => trainEvalSplit(task, { train_seed: 7, eval_seed: 7, eval_size: 4 }), TaskError);
  });

test("countdown's small problem space really collides across seeds, so the exclusion is doing work", () => {
  const task = makeTask({ type: "countdown", min_numbers: 3, max_numbers: 3, max_number: 5 });
  const evalIds = new Set(distinctExamples(task, 2, 100).map(e => e.id));
  const raw = distinctExamples(task, 1, 100);
  assert.ok(raw.some(e => evalIds.has(e.id)), "without exclusion the two seeds share problems");
  const split = trainEvalSplit(task, { train_seed: 1, eval_seed: 2, eval_size: 100 });
  for (let i = 0; i < 500; i++) assert.ok(!evalIds.has(split.train(i).id));
});

test("arithmetic training problems never walk through a held-out problem in their derivation", () => {
  // 2–3 terms: "3+4+5" derives through "7+5", which may be held out
  const task = makeTask({ type: "arithmetic", min_terms: 2, max_terms: 3, ops: ["+"] });
  const split = trainEvalSplit(task, { train_seed: 1, eval_seed: 2, eval_size: 100 });
  const held = new Set(split.eval.map(e => e.id));
  let through = 0;
  for (let i = 0; i < 500; i++) {
    const ex = split.train(i);
    const steps = chainDerivation(parseChain(ex.question.replace("=?", ""))).split(" = ");
    assert.ok(steps.every(s => !held.has(`arithmetic:${s}`)), `${ex.question} passes through a held-out problem`);
  }
  // without the check, seed 1 would draw such problems
  for (const ex of distinctExamples(task, 1, 300))
    through += +chainDerivation(parseChain(ex.question.replace("=?", ""))).split(" = ").slice(1).some(s => held.has(`arithmetic:${s}`));
  assert.ok(through > 0);
});

test("JSONL: {prompt, answer}, {question, answer}, {messages, answer}; errors name the line", () => {
  const rows = parseJsonl([
    '{"prompt": "What is 2+2?", "answer": 4}',
    '',
    '{"question": "Use 1, 2 to make 3.", "answer": "1+2", "numbers": [1, 2], "target": 3}',
    '{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "5*5?"}], "answer": "25"}',
  ].join("\n"));
  assert.deepEqual(rows[0], { id: "jsonl:What is 2+2?", question: "What is 2+2?", answer: "4" });
  assert.deepEqual(rows[1].numbers, [1, 2]);
  assert.equal(rows[1].target, 3);
  assert.equal(rows[2].question, "5*5?");
  assert.equal(rows[2].messages!.length, 2);
  assert.throws(() => parseJsonl('{"prompt": "x", "answer": 1}\n{"prompt": "y"}', "d.jsonl"), /d\.jsonl: line 2: no answer column/);
  assert.throws(() => parseJsonl("{oops", "d.jsonl"), /d\.jsonl: line 1: not valid JSON/);
  assert.throws(() => parseJsonl('{"answer": 1}'), /no prompt column \(looked for "prompt", "messages", "question", "problem"/);
});

test("splitDataset: deterministic, eval distinct, no train row shares an eval id", () => {
  const xs = Array.from({ length: 50 }, (_, i) => ({ id: `q${i % 40}`, question: `q${i % 40}`, answer: "1" }));
  const a = splitDataset(xs, 10, 3);
  assert.deepEqual(a, splitDataset(xs, 10, 3));
  const ids = new Set(a.eval.map(e => e.id));
  assert.equal(ids.size, 10);
  assert.ok(a.train.every(e => !ids.has(e.id)));
  assert.equal(a.train.length, xs.filter(e => !ids.has(e.id)).length);
});

test("tiny R1 prompt string", () => {
  assert.equal(tinyR1Prompt("3+7-2+9=?"), "User: 3+7-2+9=? Assistant: <think>");
  assert.equal(tinyR1Prompt("3+7-2+9=?", { instruct: true }),
    "User: 3+7-2+9=? Reason in <think> </think>, then answer in <answer> </answer>. Assistant: <think>");
});
