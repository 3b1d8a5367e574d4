// Every random stream stays bit-identical: held-out sets, initial weights, shipped models and the figures in the
// README and the recipes depend on them. The expected values were recorded before the RNG code was moved into
// src/rng.ts (see streams.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { recordStreams } from "./streams.js";

const recorded = JSON.parse(readFileSync(new URL("../fixtures/rng-streams.json", import.meta.url), "utf8")) as Record<string, unknown>;
const now = recordStreams();

test("the fixture records every stream the code produces", () => {
  assert.deepEqual(Object.keys(now).sort(), Object.keys(recorded).sort());
});

for (const key of Object.keys(recorded)) {
  test(`stream ${key} is unchanged`, () => {
    assert.deepEqual(now[key], recorded[key]);
  });
}
