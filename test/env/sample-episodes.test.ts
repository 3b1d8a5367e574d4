// Rejection sampling of episodes: `move37 sample --environment` keeps the verified episodes as messages rows with their
// tool turns, and SFT trains only what the model wrote in them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { runCli } from "../cli/run-cli.js";
import { tempRoot } from "../train/trainer-harness.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { tokenizeRow, type SFTRow } from "../../src/train/sft-data.js";
import { CALL, warmModel } from "./secret-env.js";

test("move37 sample --environment writes verified episodes as messages rows; SFT trains the model's turns only", async () => {
  const root = tempRoot("sample-env");
  const model = warmModel(join(root, "warm"));
  const out = join(root, "episodes.jsonl");
  const r = await runCli(["sample", model, "--task", "arithmetic", "--n", "4", "--k", "8", "--environment", "test-secret", "--tool-format", "tags",
    "--max-turns", "2", "--max-new-tokens", "48", "--reward", "environment", "--min-language", "0", "--min-repetition", "-1", "--out", out]);
  assert.equal(r.error, undefined, r.stderr);
  const rows = readFileSync(out, "utf8").trim().split("\n").map(l => JSON.parse(l) as SFTRow & { messages: { role: string; content: string }[]; source: { rewards: Record<string, number> } });
  assert.ok(rows.length > 0, r.stdout);
  assert.match(r.stdout, /drawn\s+32/);
  for (const row of rows) {
    assert.equal(row.source.rewards.environment, 1);
    assert.deepEqual(row.messages.map(m => m.role), ["user", "assistant", "tool", "assistant"]);
    assert.equal(row.messages[0].content, "Q:");
    assert.equal(row.messages[1].content, CALL);
    assert.match(row.messages[2].content, /^\d{4}$/);
    assert.deepEqual((row.tools as { function: { name: string } }[]).map(t => t.function.name), ["secret"]);
  }
  // SFT: the call and the closing EOS are targets; the prompt and the tool's result are not
  const tok = loadTokenizer(model);
  const [ex] = tokenizeRow(tok, rows[0], 1000);
  const secret = rows[0].messages[2].content;
  assert.equal(tok.decode(ex.ids), `Q:${CALL}<result>${secret}</result>${rows[0].messages[3].content}<|endoftext|>`);
  assert.equal(tok.decode(ex.ids.filter((_, i) => ex.loss[i] === 1)), `${CALL}${rows[0].messages[3].content}<|endoftext|>`);
});

test("move37 eval --environment reports pass@1 of episodes with the tool-call and tool-error rates", async () => {
  const root = tempRoot("eval-env");
  const model = warmModel(join(root, "warm"));
  const args = ["eval", model, "--task", "arithmetic", "--n", "8", "--k", "4", "--tool-format", "tags", "--max-turns", "2", "--max-new-tokens", "48", "--reward", "environment"];
  const withTool = JSON.parse((await runCli([...args, "--environment", "test-secret", "--json"])).stdout);
  const without = JSON.parse((await runCli([...args, "--environment", "test-secret-no-tool", "--json"])).stdout);
  // the warmed model calls a quarter of the time; only the calls with the tool earn the reward
  assert.ok(withTool.tool_call_rate > 0.05 && withTool.tool_call_rate < 0.6, `tool-call rate ${withTool.tool_call_rate}`);
  assert.ok(withTool.pass1 > 0 && withTool.pass1 <= withTool.tool_call_rate * (1 - withTool.tool_error_rate) + 1e-12, `pass@1 ${withTool.pass1}: only episodes with a successful call can earn the reward`);
  assert.equal(without.pass1, 0);
  assert.equal(without.tool_error_rate, 1);
  const table = (await runCli([...args, "--environment", "test-secret"])).stdout;
  assert.match(table, /tool-call rate/);
});
