/** Learning-rate schedules against values worked out by hand from transformers' get_*_schedule_with_warmup formulas. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ScheduleConfigSchema, lrMultiplier } from "../../src/train/schedule.js";

const at = (type: string, step: number, total: number, extra: Record<string, number> = {}) =>
  lrMultiplier(ScheduleConfigSchema.parse({ lr_scheduler_type: type, ...extra }), step, total);

test("linear with 4 warmup steps over 10: 0, .25, .5, .75, then 1 → 0 in 6 steps", () => {
  const got = Array.from({ length: 11 }, (_, s) => at("linear", s, 10, { warmup_steps: 4 }));
  const want = [0, 0.25, 0.5, 0.75, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0];
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-12, `step ${i}: ${g} vs ${want[i]}`));
});

test("cosine with warmup_ratio 0.2 over 10: warmup 2 steps, half-way point 0.5, end 0", () => {
  assert.equal(at("cosine", 1, 10, { warmup_ratio: 0.2 }), 0.5);
  assert.equal(at("cosine", 2, 10, { warmup_ratio: 0.2 }), 1);
  assert.ok(Math.abs(at("cosine", 6, 10, { warmup_ratio: 0.2 }) - 0.5) < 1e-12);
  assert.ok(Math.abs(at("cosine", 4, 10, { warmup_ratio: 0.2 }) - 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-12);
  assert.ok(Math.abs(at("cosine", 10, 10, { warmup_ratio: 0.2 })) < 1e-12);
});

test("constant and constant_with_warmup; unknown keys are rejected", () => {
  assert.equal(at("constant", 0, 10, { warmup_steps: 3 }), 1);
  assert.equal(at("constant_with_warmup", 1, 10, { warmup_steps: 4 }), 0.25);
  assert.equal(at("constant_with_warmup", 9, 10, { warmup_steps: 4 }), 1);
  assert.throws(() => ScheduleConfigSchema.parse({ lr_scheduler_type: "linear", warmup: 3 }));
});
