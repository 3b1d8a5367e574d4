// The SFT control's data (issue 19): countdown traces in the RL format, searches that reached the target or the
// optimal path alone, every one earning the countdown reward, never a held-out target.
import { test } from "node:test";
import assert from "node:assert/strict";
import { countdownTraces, TracesConfigSchema, traceRows } from "../../src/train/sft-traces.js";
import { countdownTargets } from "../../src/tasks/index.js";
import { CountdownConfigSchema } from "../../src/tasks/countdown.js";
import { countdownStrictReward } from "../../src/rewards/countdown.js";
import { r1FormatReward } from "../../src/rewards/format.js";
import { searchBehaviour } from "../../src/eval/search-behaviour.js";
import { readRecipe } from "../../src/recipes/load.js";
import { SFTConfigSchema } from "../../src/train/sft.js";

const task = { type: "countdown", min_numbers: 4, max_numbers: 4, max_number: 99, min_target: 10, max_target: 100, generation: "target_first", held_out_targets: 0.1, eval_unseen_share: 0.5 } as const;

for (const style of ["search", "optimal"] as const)
  test(`countdown traces (${style}): RL prompt, a right equation in <answer>, no held-out target`, () => {
    const rows = traceRows(TracesConfigSchema.parse({ task, n: 150, eval_size: 64, style })) as { prompt: string; completion: string; answer: string }[];
    assert.equal(rows.length, 150);
    const held = new Set(countdownTargets(CountdownConfigSchema.parse(task)).unseen);
    let searching = 0;
    for (const r of rows) {
      const q = /^User: Use ([\d, ]+) to make (\d+)\. Reason in <think> <\/think>, then answer in <answer> <\/answer>\. Assistant: <think>$/.exec(r.prompt);
      assert.ok(q, r.prompt);
      const ex = { numbers: q[1].split(", ").map(Number), target: Number(q[2]) };
      assert.ok(!held.has(ex.target));
      assert.equal(countdownStrictReward(`<think>${r.completion}`, ex), 1, r.completion);
      assert.equal(r1FormatReward(`<think>${r.completion}`, ex), 1, r.completion);
      const c = searchBehaviour(r.completion, ex.numbers, ex.target);
      if (c.attempts > 1) searching++;
      if (style === "optimal") assert.equal(c.attempts, 1, r.completion);
    }
    if (style === "search") assert.ok(searching > 60, `traces with more than one line of search: ${searching}`);
  });

test("countdown traces are deterministic; the shipped SFT control recipe validates", () => {
  const cfg = TracesConfigSchema.parse({ task, n: 20, eval_size: 64 });
  assert.deepEqual(countdownTraces(cfg), countdownTraces(cfg));
  assert.notDeepEqual(countdownTraces({ ...cfg, seed: 1 }).map(r => r.completion), countdownTraces(cfg).map(r => r.completion));
  const rec = readRecipe("recipes/sft-countdown.yaml") as Record<string, any>;
  const rl = readRecipe("recipes/r1-zero-countdown.yaml") as Record<string, any>;
  assert.deepEqual(rec.traces.task, rl.task);
  assert.equal(rec.traces.eval_seed, rl.eval_seed);
  const { trainer, ...keys } = rec;
  assert.equal(trainer, "sft");
  assert.doesNotThrow(() => SFTConfigSchema.parse(keys));
});
