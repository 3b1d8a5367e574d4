// The base model's corpus keeps one held-out set out (recipes/base-tiny.yaml corpus.held_out); every recipe that
// evaluates models/base-tiny or its descendants must evaluate on exactly that set, or its held-out figures could
// include problems the base saw in pretraining.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readRecipe } from "../../src/recipes/load.js";

const files = ["recipes", "recipes/experiments"].flatMap(d => readdirSync(d).filter(f => f.endsWith(".yaml")).map(f => join(d, f)));

test("every recipe built on models/base-tiny evaluates on the held-out set its corpus excluded", () => {
  const base = readRecipe("recipes/base-tiny.yaml") as { corpus: { held_out: { task: unknown; eval_seed: number; eval_size: number } } };
  const h = base.corpus.held_out;
  let checked = 0;
  for (const f of files) {
    const rec = readRecipe(f) as Record<string, any>;
    const held = rec.heldout ?? rec;
    if (f.endsWith("base-tiny.yaml") || held.task?.type !== "arithmetic") continue;
    // a task posed in words (language: ru) has the same problems and ids as the symbolic one (src/tasks/arithmetic.ts)
    const { language: _language, ...task } = held.task;
    assert.deepEqual(task, h.task, `${f}: task`);
    assert.equal(held.eval_seed ?? 2, h.eval_seed, `${f}: eval_seed`);
    // Held-out sets are prefixes of one seeded stream: the first n ≤ the excluded size are all excluded.
    assert.ok((held.eval_size ?? 256) <= h.eval_size, `${f}: eval_size ${held.eval_size} > the ${h.eval_size} the corpus excluded`);
    checked++;
  }
  assert.ok(checked >= 5, `recipes checked: ${checked}`);
  // the bilingual base continues base-tiny's pretraining and keeps the same set out
  const bilingual = readRecipe("recipes/base-bilingual.yaml") as { init_from: string; corpus: { held_out: unknown } };
  assert.equal(bilingual.init_from, "models/base-tiny");
  assert.deepEqual(bilingual.corpus.held_out, h);
});
