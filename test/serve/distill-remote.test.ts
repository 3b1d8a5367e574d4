import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runTrainer, readJson, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, DIGIT_REWARD } from "../pipeline/micro.js";
import { spawnServe } from "./spawn-serve.js";

test("distill with a teacher served by `move37 serve` writes the traces the in-process teacher writes with the same seed", async () => {
  const root = tempRoot("distill-remote");
  const teacher = byteModelFolder(root, "teacher", 32, 1, 5, true);
  const student = byteModelFolder(root, "student", 16, 2, 9);
  const recipe = (over: Record<string, unknown> = {}) => ({
    teacher, student, task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, eval_size: 8, num_prompts: 6, num_generations: 4,
    max_new_tokens: 8, reward: DIGIT_REWARD, min_language: 0, seed: 3, sft: { max_steps: 1, eval_size: 0, max_length: 96 }, ...over,
  });
  const local = await runTrainer("distill", recipe(), { root, runName: "local" });
  const server = await spawnServe(teacher);
  let remote;
  try {
    remote = await runTrainer("distill", recipe({ teacher_rollout: { backend: "openai", base_url: server.url } }), { root, runName: "remote" });
  } finally {
    await server.stop();
  }
  const traces = (dir: string) => readFileSync(join(dir, "data", "traces.jsonl"), "utf8");
  const stats = readJson(join(local.dir, "data", "stats.json"));
  assert.equal(stats.drawn, 24);
  assert.ok(stats.kept > 0 && stats.dropped.unverified > 0, `the verifier must keep some traces and drop others: ${JSON.stringify(stats)}`);
  assert.deepEqual(readJson(join(remote.dir, "data", "stats.json")), stats);
  assert.equal(traces(remote.dir), traces(local.dir));
});
