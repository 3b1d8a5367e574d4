// Every recipe in recipes/ is headed by the command that runs it and validates against its trainer's schema.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readRecipe, resolveRecipe } from "../../src/recipes/load.js";
import { TRAINERS } from "../../src/cli/trainers.js";
import { listRecipes } from "../../src/recipes/shipped.js";
import { runCli } from "./run-cli.js";

test("shipped recipes name their command and resolve without problems", () => {
  const recipes = listRecipes();
  for (const r of recipes) {
    assert.match(r.command, new RegExp(`^move37 \\w+ recipes/${r.name}\\.yaml\\b`), `${r.name}.yaml must open with the command that runs it`);
    assert.ok(r.description.length > 0, `${r.name}.yaml must say what it does on its second comment line`);
    assert.doesNotThrow(() => resolveRecipe(readRecipe(r.path), [], r.path, TRAINERS), `${r.name}.yaml`);
  }
});

test("the trainer list names each trainer once, and config schema covers every one of them", async () => {
  const names = TRAINERS.map(t => t.name);
  assert.equal(new Set(names).size, names.length, `duplicate trainer names in src/cli/trainers.ts: ${names.join(", ")}`);
  const all = JSON.parse((await runCli(["config", "schema"])).stdout) as { oneOf: { title: string }[] };
  assert.deepEqual(all.oneOf.map(s => s.title), [...names].sort().map(n => `move37 ${n} recipe`));
});
