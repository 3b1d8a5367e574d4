// Every recipe in recipes/ is headed by the command that runs it and validates against its trainer's schema.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readRecipe, resolveRecipe } from "../../src/recipes/load.js";
import { listRecipes } from "../../src/recipes/shipped.js";
import "../../src/recipes/trainers.js";

test("shipped recipes name their command and resolve without problems", () => {
  const recipes = listRecipes();
  for (const r of recipes) {
    assert.match(r.command, new RegExp(`^move37 \\w+ recipes/${r.name}\\.yaml\\b`), `${r.name}.yaml must open with the command that runs it`);
    assert.ok(r.description.length > 0, `${r.name}.yaml must say what it does on its second comment line`);
    assert.doesNotThrow(() => resolveRecipe(readRecipe(r.path), [], r.path), `${r.name}.yaml`);
  }
});
