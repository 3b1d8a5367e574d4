// A micro multi-turn GRPO run: the reward is a random number only the `secret` tool returns, so it rises only if the
// model learns to call the tool. The byte model first sees a few seconds of "pretraining" in which a quarter of the
// answers call the tool (the tiny analogue of a base with tool-call markup in its corpus), then GRPO on the reward
// alone; the control is the same run with the tool taken away.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { CALL, recipe, warmModel } from "./secret-env.js";

test("micro multi-turn GRPO: the reward rises only when the model learns to call the tool", async () => {
  const root = tempRoot("grpo-env");
  const model = warmModel(join(root, "warm"));
  const run = await runTrainer("grpo", recipe(model, "test-secret"), { root, runName: "tool" });
  const rows = metricsOf(run).filter(r => r.reward !== undefined);
  assert.equal(rows.length, 15);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const early = mean(rows.slice(0, 3).map(r => r.reward)), late = mean(rows.slice(-3).map(r => r.reward));
  const callsEarly = mean(rows.slice(0, 3).map(r => r["tools/calls/secret"] ?? 0)), callsLate = mean(rows.slice(-3).map(r => r["tools/calls/secret"] ?? 0));
  assert.ok(late > early + 0.3, `reward should rise: first steps ${early.toFixed(3)}, last steps ${late.toFixed(3)}`);
  assert.ok(callsLate > callsEarly + 0.3, `tool calls should rise: ${callsEarly.toFixed(3)} → ${callsLate.toFixed(3)}`);
  for (const k of ["episodes/turns", "tools/calls_per_episode", "completions/env_token_frac", "time/environment", "rewards/environment/mean"]) assert.ok(k in rows[0], `metric ${k} missing`);
  const evals = metricsOf(run).filter(r => r.accuracy !== undefined);
  assert.ok(evals.at(-1)!.accuracy > evals[0].accuracy, `held-out accuracy ${evals[0].accuracy} → ${evals.at(-1)!.accuracy}`);
  assert.ok(evals.at(-1)!["eval/tool_call_rate"] > evals[0]["eval/tool_call_rate"]);
  assert.match(run.logs.at(-1)!, /tool-call rate/, "the closing report has the tool-call rate");
  // report.json: the rates before and after, and the curves over steps (the demonstration's figures, docs/tools.md)
  const report = JSON.parse(readFileSync(join(run.dir, "report.json"), "utf8"));
  assert.equal(report.before.tool_call_rate, evals[0]["eval/tool_call_rate"]);
  assert.equal(report.after.tool_call_rate, evals.at(-1)!["eval/tool_call_rate"]);
  assert.deepEqual(report.curves.train.map((r: { step: number }) => r.step), rows.map(r => r.step));
  assert.deepEqual(report.curves.train.map((r: Record<string, number>) => r["tools/calls_per_episode"]), rows.map(r => r["tools/calls_per_episode"]));
  assert.deepEqual(report.curves.train.map((r: Record<string, number>) => r.reward), rows.map(r => r.reward));
  assert.deepEqual(report.curves.eval.map((r: Record<string, number>) => [r.step, r.accuracy, r["eval/tool_call_rate"]]), evals.map(r => [r.step, r.accuracy, r["eval/tool_call_rate"]]));
  // samples.jsonl shows episodes turn by turn
  const samples = readFileSync(join(run.dir, "samples.jsonl"), "utf8").trim().split("\n").map(l => JSON.parse(l));
  const called = samples.find(s => s.turns?.some((t: { role: string }) => t.role === "tool"));
  assert.ok(called, "some logged episode calls the tool");
  assert.deepEqual(called.turns.slice(0, 2).map((t: { role: string; text: string }) => [t.role, t.text.replace(/\d{4}/, "N")]), [["assistant", CALL], ["tool", "<result>N</result>"]]);

  // the control: the same budget without the tool never earns the reward
  const control = metricsOf(await runTrainer("grpo", recipe(model, "test-secret-no-tool"), { root, runName: "no-tool" })).filter(r => r.reward !== undefined);
  assert.ok(mean(control.map(r => r.reward)) < 0.05, `without the tool: ${mean(control.map(r => r.reward))}`);
  assert.ok(control.some(r => (r["tools/errors/unknown_tool"] ?? 0) > 0), "its calls fail as unknown tools");
});

test("multi-turn GRPO resumed from a checkpoint continues exactly as the uninterrupted run", async () => {
  const root = tempRoot("grpo-env-resume");
  const model = warmModel(join(root, "warm"));
  const r = { ...recipe(model, "test-secret"), save_steps: 2, eval_size: 4 };
  r.grpo = { ...r.grpo, max_steps: 4 };
  const straight = metricsOf(await runTrainer("grpo", r, { root, runName: "straight" })).filter(x => x.reward !== undefined);
  const cut = await runTrainer("grpo", r, { root, runName: "cut", abortAfterLog: 2 });
  const resumed = metricsOf(await runTrainer("grpo", r, { root, resumeDir: cut.dir })).filter(x => x.reward !== undefined);
  assert.equal(resumed.length, 4);
  for (let i = 0; i < 4; i++) for (const k of ["reward", "loss", "grad_norm", "tools/calls_per_episode", "completions/mean_length"]) assert.equal(resumed[i][k], straight[i][k], `step ${i + 1} ${k}`);
});
