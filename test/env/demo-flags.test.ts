// The demonstration's pre-RL check (docs/tools.md "Demonstration", step 2): `move37 eval --environment calculator
// --describe-tools` samples episodes whose prompt lists the tools, as the RL recipe's environment.describe_tools does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { environmentOf } from "../../src/cli/eval.js";
import type { SamplingJob } from "../../src/eval/problems.js";

test("--describe-tools sets the episode config's describe_tools (off without it)", () => {
  const job = { maxNewTokens: 96 } as SamplingJob;
  const on = environmentOf({ environment: "calculator", maxTurns: 3, toolFormat: "tags", describeTools: true }, job)!;
  assert.equal(on.describe_tools, true);
  assert.equal(on.max_tokens, 96);
  assert.equal(on.max_turns, 3);
  assert.equal(environmentOf({ environment: "calculator", maxTurns: 3, toolFormat: "tags" }, job)!.describe_tools, false);
  assert.equal(environmentOf({ maxTurns: 3, toolFormat: "tags", describeTools: true }, job), null);
});
