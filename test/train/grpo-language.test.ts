// GRPO logs the language mix of each step's chains of thought against the rows' language, and report.json has it
// before and after, when the rows name a language (worded arithmetic) — and not when they do not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTrainer, metricsOf, readJson, tempRoot } from "./trainer-harness.js";
import { byteModelFolder, microRecipe as recipe } from "./grpo-micro.js";

// A random byte model writes mostly ASCII letters (few of the bytes ≥ 128 it writes pair up into a valid non-Latin
// letter), so the words of its completions are mostly Latin: a share near 0 against Russian rows, near 1 against English.
for (const [language, want] of [["ru", 0], ["en", 1]] as const)
  test(`GRPO on ${language} rows logs language/share ${want} per step and the held-out language in report.json`, async () => {
    const root = tempRoot(`grpo-lang-${language}`);
    const r = recipe(byteModelFolder(root), { task: { type: "arithmetic", min_terms: 2, max_terms: 3, language }, grpo: { ...recipe("").grpo, max_completion_length: 24, max_steps: 3 } });
    const run = await runTrainer("grpo", r, { root });
    const rows = metricsOf(run).filter(x => x.reward !== undefined);
    assert.equal(rows.length, 3);
    for (const x of rows) {
      assert.ok("language/share" in x && "language/switched" in x, "language metrics logged each step");
      assert.ok(Math.abs((x["language/share"] as number) - want) < 0.2, `language/share ${x["language/share"]}`);
      assert.ok((x["language/switched"] as number) >= 0 && (x["language/switched"] as number) <= 1);
    }
    const report = readJson(join(run.dir, "report.json"));
    for (const side of [report.before, report.after]) {
      assert.ok("language" in side && "language_switched" in side);
      if (side.language !== null) assert.ok(Math.abs(side.language - want) < 0.2, `held-out language ${side.language}`);
    }
  });

test("GRPO on symbolic rows (no language) logs no language metrics", async () => {
  const root = tempRoot("grpo-lang-none");
  const run = await runTrainer("grpo", recipe(byteModelFolder(root), { grpo: { ...recipe("").grpo, max_steps: 2 } }), { root });
  for (const x of metricsOf(run)) assert.ok(!("language/share" in x), "no language column, no language reward: nothing to log");
});
