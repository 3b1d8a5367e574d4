// The shipped Connect Four network still loads and plays identically: the same outputs to the bit on 48 positions,
// the same moves by its raw policy and by MCTS (recorded by write-shipped-network.ts before the network's move onto
// the shared AdamW).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { recordShipped } from "./shipped-network.js";

test("the shipped Connect Four network computes and plays as it did", () => {
  const recorded = JSON.parse(readFileSync(new URL("../fixtures/shipped-connect4.json", import.meta.url), "utf8"));
  const now = recordShipped();
  assert.deepEqual(now.logits, recorded.logits);
  assert.deepEqual(now.value, recorded.value);
  assert.deepEqual(now.policyMoves, recorded.policyMoves);
  assert.deepEqual(now.mctsMoves, recorded.mctsMoves);
});
