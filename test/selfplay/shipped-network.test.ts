// The Connect Four networks in src/selfplay/weights/ still load and play identically: the same outputs to the bit on 48
// positions, the same moves by their raw policy and by MCTS, as recorded by write-shipped-network.ts (the MLP before
// the network's move onto the shared AdamW, the CNN when it was shipped).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fixtureUrl, record, type RecordedName } from "./shipped-network.js";

for (const [name, what] of [["cnn", "the shipped CNN"], ["mlp", "the residual MLP shipped before it"]] as Array<[RecordedName, string]>) {
  test(`${what} computes and plays as recorded`, () => {
    const recorded = JSON.parse(readFileSync(fixtureUrl(name), "utf8"));
    const now = record(name);
    assert.deepEqual(now.logits, recorded.logits);
    assert.deepEqual(now.value, recorded.value);
    assert.deepEqual(now.policyMoves, recorded.policyMoves);
    assert.deepEqual(now.mctsMoves, recorded.mctsMoves);
  });
}
