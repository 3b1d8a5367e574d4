// A micro multi-turn GRPO run: the reward is a random number only the `secret` tool returns, so it rises only if the
// model learns to call the tool. The byte model first sees a few seconds of "pretraining" in which 15% of the
// answers call the tool (the tiny analogue of a base with tool-call markup in its corpus), then GRPO on the reward
// alone; the control is the same run with the tool taken away.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../../src/train/pretrain.js";
import { AdamW } from "../../src/train/optimizer.js";
import { defineTool } from "../../src/env/tools.js";
import { registerEnvironment, type Environment, type EpisodeContext } from "../../src/env/environment.js";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { mulberry32 } from "./rng.js";

const PROMPT = "Q:";
const CALL = "<call>secret</call>";

/** Each instance draws its own 4-digit secret; the episode earns 1 when the last number in it is the secret. */
function secretEnvironment(withTool: boolean): (cfg: unknown, episode: EpisodeContext) => Environment {
  return (_, { seed }) => {
    const rng = mulberry32(seed);
    const secret = String(1000 + Math.floor(rng() * 9000));
    const seen: string[] = [];
    return {
      tools: withTool ? [defineTool({ name: "secret", description: "Returns the secret number.", parameters: z.object({}), run: () => secret })] : [],
      reset: () => ({ prompt: PROMPT }),
      step: turn => { seen.push(turn.text, ...turn.results.map(r => r.content)); return turn.calls.length ? null : { done: true }; },
      reward: () => (seen.join(" ").match(/\d+/g)?.at(-1) === secret ? 1 : 0),
    };
  };
}
registerEnvironment({ name: "test-secret", description: "test: a number only the tool knows", create: secretEnvironment(true) });
registerEnvironment({ name: "test-secret-no-tool", description: "test: the same without the tool", create: secretEnvironment(false) });

/** A byte model that answers PROMPT with 4 digits (85%) or with a call, then EOS after the result (15%). */
function warmModel(dir: string): string {
  const tok = new ByteTokenizer(), backend = getBackend("auto");
  const model = createModel({ architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
    intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 64,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId }, backend, 11);
  const opt = new AdamW(model, backend, { learning_rate: 0.01, max_grad_norm: 1 });
  const rng = mulberry32(2);
  const digits = () => String(1000 + Math.floor(rng() * 9000));
  const B = 16;
  for (let step = 0; step < 150; step++) {
    const seqs = Array.from({ length: B }, () => [...tok.encode(PROMPT + (rng() < 0.25 ? `${CALL}<result>${digits()}</result>` : digits())), tok.eosId!]);
    const T = Math.max(...seqs.map(s => s.length)) - 1;
    const tokens = new Int32Array(B * T), attention = new Uint8Array(B * T), targets = new Int32Array(B * T).fill(-1);
    let n = 0;
    seqs.forEach((s, b) => { for (let t = 0; t < s.length - 1; t++) { tokens[b * T + t] = s[t]; attention[b * T + t] = 1; if (t >= PROMPT.length - 1) { targets[b * T + t] = s[t + 1]; n++; } } });
    model.flatGrads.fill(0);
    model.forward(tokens, attention, targets, B, T, 1);
    model.backward(Float32Array.from(targets, x => (x >= 0 ? -1 / n : 0)));
    opt.step();
  }
  savePretrained(model, dir, { files: byteTokenizerFiles(tok) });
  return dir;
}

const recipe = (model: string, env: string) => ({
  model, task: { type: "arithmetic", min_terms: 2, max_terms: 2 }, eval_size: 16, eval_sampled: false,
  accuracy_reward: "environment", format_reward: "environment", save_steps: 0, log_completions: 4,
  environment: { type: env, format: "tags", max_turns: 2, max_tokens: 48 },
  grpo: { num_generations: 8, prompts_per_step: 4, max_completion_length: 48, reward_funcs: ["environment"], learning_rate: 0.003, max_steps: 15, seed: 3, loss_type: "dapo" },
});

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
