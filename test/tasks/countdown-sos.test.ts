// Countdown as Stream of Search sets it (generation: target_first, held_out_targets): every problem solvable, held-out
// targets never in the training stream, the evaluation set marked seen/unseen, deterministic by seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeTask, trainEvalSplit, distinctExamples, solveCountdown, countdownTargets, makeRng } from "../../src/tasks/index.js";
import { CountdownConfigSchema } from "../../src/tasks/countdown.js";

const evalExpr = (e: string): number => {
  assert.match(e, /^[0-9+\-*/() ]+$/);
  return Function(`"use strict"; return (${e});`)() as number;
};
const SOS = { type: "countdown", min_numbers: 4, max_numbers: 4, max_number: 99, min_target: 10, max_target: 100, generation: "target_first", held_out_targets: 0.1, eval_unseen_share: 0.5 } as const;

test("target_first: every problem has 4 numbers in 1..99, a target in 10..100, and the solver confirms its answer", () => {
  const task = makeTask(SOS);
  const targets = new Set<number>();
  for (const ex of distinctExamples(task, 7, 400, undefined, "eval")) {
    assert.equal(ex.numbers!.length, 4);
    assert.ok(ex.numbers!.every(n => n >= 1 && n <= 99), ex.question);
    assert.ok(ex.target! >= 10 && ex.target! <= 100);
    assert.equal(evalExpr(ex.answer), ex.target, ex.answer);
    assert.deepEqual((ex.answer.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b), [...ex.numbers!].sort((a, b) => a - b));
    assert.notEqual(solveCountdown(ex.numbers!, ex.target!), null);
    assert.equal(ex.question, `Use ${ex.numbers!.join(", ")} to make ${ex.target}.`);
    targets.add(ex.target!);
  }
  // targets are drawn uniformly, not from what numbers happen to make: nearly every one of the 91 appears in 400 draws
  assert.ok(targets.size > 80, `distinct targets: ${targets.size}`);
});

test("held-out targets: 9 of the 91 (as Stream of Search), never in the training stream; the eval set holds both, marked", () => {
  const { seen, unseen } = countdownTargets(CountdownConfigSchema.parse(SOS));
  assert.equal(unseen.length, 9);
  assert.equal(seen.length + unseen.length, 91);
  assert.deepEqual([...seen, ...unseen].sort((a, b) => a - b), Array.from({ length: 91 }, (_, i) => 10 + i));
  const held = new Set(unseen);
  for (const generation of ["target_first", "attempt"] as const) {
    const task = makeTask({ ...SOS, generation, max_number: generation === "attempt" ? 25 : 99 });
    const split = trainEvalSplit(task, { train_seed: 1, eval_seed: 2, eval_size: 256 });
    for (let i = 0; i < 1500; i++) {
      const ex = split.train(i);
      assert.ok(!held.has(ex.target!), `${generation}: training problem ${i} has the held-out target ${ex.target}`);
      assert.equal(ex.subset, "seen_target");
    }
    const unseenEval = split.eval.filter(e => e.subset === "unseen_target");
    for (const ex of split.eval) assert.equal(ex.subset, held.has(ex.target!) ? "unseen_target" : "seen_target", ex.id);
    // eval_unseen_share 0.5 of 256: a binomial far from the natural 10%
    assert.ok(unseenEval.length > 95 && unseenEval.length < 161, `${generation}: unseen-target eval problems ${unseenEval.length}`);
    // the default "train" stream of sample() never draws one either (the corpus draws that way)
    const rng = makeRng(3);
    for (let i = 0; i < 500; i++) assert.ok(!held.has(task.sample(rng).target!));
  }
  // without eval_unseen_share the eval stream takes targets as they come: about a tenth unseen
  const natural = distinctExamples(makeTask({ ...SOS, eval_unseen_share: undefined }), 2, 600, undefined, "eval").filter(e => e.subset === "unseen_target").length;
  assert.ok(natural > 30 && natural < 90, `unseen-target share without eval_unseen_share: ${natural}/600`);
});

test("the held-out targets follow target_seed, and the streams are deterministic by seed", () => {
  const a = countdownTargets(CountdownConfigSchema.parse(SOS)).unseen;
  assert.deepEqual(countdownTargets(CountdownConfigSchema.parse(SOS)).unseen, a);
  assert.notDeepEqual(countdownTargets(CountdownConfigSchema.parse({ ...SOS, target_seed: 1 })).unseen, a);
  const ids = (seed: number) => distinctExamples(makeTask(SOS), seed, 50, undefined, "eval").map(e => e.id);
  assert.deepEqual(ids(4), ids(4));
  assert.notDeepEqual(ids(4), ids(5));
});

test("the 3-number variant: 3 numbers, solvable, held-out targets kept out of training", () => {
  const cfg = { ...SOS, min_numbers: 3, max_numbers: 3 };
  const held = new Set(countdownTargets(CountdownConfigSchema.parse(cfg)).unseen);
  const split = trainEvalSplit(makeTask(cfg), { train_seed: 1, eval_seed: 2, eval_size: 128 });
  for (const ex of split.eval) {
    assert.equal(ex.numbers!.length, 3);
    assert.equal(evalExpr(ex.answer), ex.target);
  }
  for (let i = 0; i < 500; i++) assert.ok(!held.has(split.train(i).target!));
});

test("a curriculum (eval_numbers): training draws 3 and 4 numbers, the held-out set is the 4-number set, held-out targets still out", () => {
  const cfg = { ...SOS, min_numbers: 3, eval_numbers: 4 };
  const split = trainEvalSplit(makeTask(cfg), { train_seed: 1, eval_seed: 2, eval_size: 128 });
  // the same held-out problems as the plain 4-number config (the count is drawn, then replaced)
  assert.deepEqual(split.eval.map(e => e.id), trainEvalSplit(makeTask(SOS), { train_seed: 1, eval_seed: 2, eval_size: 128 }).eval.map(e => e.id));
  const held = new Set(countdownTargets(CountdownConfigSchema.parse(cfg)).unseen);
  const counts = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const ex = split.train(i);
    counts.set(ex.numbers!.length, (counts.get(ex.numbers!.length) ?? 0) + 1);
    assert.ok(!held.has(ex.target!));
    assert.equal(evalExpr(ex.answer), ex.target);
  }
  assert.deepEqual([...counts.keys()].sort(), [3, 4]);
  assert.ok(counts.get(3)! > 150 && counts.get(4)! > 150, `3 and 4 numbers drawn: ${[...counts]}`);
});

test("configs without held-out targets keep their examples unmarked; a share that holds out nothing is refused", () => {
  const ex = makeTask({ type: "countdown" }).sample(makeRng(1));
  assert.equal(ex.subset, undefined);
  assert.throws(() => makeTask({ ...SOS, min_target: 10, max_target: 14 }), /held_out_targets holds out no target/);
  assert.throws(() => makeTask({ ...SOS, held_out: 0.1 }), /held_out/);
});
