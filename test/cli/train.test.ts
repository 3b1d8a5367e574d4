import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Trainer } from "../../src/recipes/registry.js";
import { readMetrics } from "../../src/runs/read.js";
import type { RunInfo } from "../../src/runs/run.js";
import { runCli as runWith } from "./run-cli.js";

const ToyConfig = z
  .object({
    steps: z.number().int().positive().default(3),
    lr: z.number().positive().default(0.1),
    verbose: z.boolean().default(false),
    mode: z.enum(["greedy", "sample"]).default("greedy"),
    model: z.object({ layers: z.number().int().default(2), hidden: z.number().int() }).strict(),
  })
  .strict();

const seen: { config: z.output<typeof ToyConfig>; resume: boolean }[] = [];
const toyCli: Trainer<typeof ToyConfig> = {
  name: "toy-cli",
  description: "test trainer: logs a loss that halves each step",
  schema: ToyConfig,
  async run(config, run, ctx) {
    seen.push({ config, resume: ctx.resume });
    if (config.mode === "sample") throw new Error("sampling diverged");
    for (let step = 1; step <= config.steps; step++) run.logMetrics(step, { loss: 1 / 2 ** step, lr: config.lr });
    run.logSamples([{ step: config.steps, prompt: "1+1=", completion: "<think>1+1</think><answer>2</answer>", reward: 1 }]);
  },
};
/** The CLI with toy-cli as its only trainer. */
const runCli = (args: string[]) => runWith(args, { trainers: [toyCli] });

const dir = mkdtempSync(join(tmpdir(), "move37-cli-"));
const runsDir = join(dir, "runs");
function recipe(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test("a bad recipe fails before any work, listing every problem by path with hints", async () => {
  const p = recipe("bad.yaml", "trainer: toy-cli\nstpes: 3\nlr: fast\nmode: sampel\nmodel:\n  layrs: 2\n");
  const before = seen.length;
  const r = await runCli(["train", p, "--runs-dir", runsDir]);
  assert.equal(r.error?.name, "RecipeError");
  assert.equal(
    r.error?.message,
    [
      `${p}: 5 problems`,
      `  lr: expected number, got "fast"`,
      `  mode: got "sampel", expected one of "greedy", "sample" (did you mean "sample"?)`,
      `  model.hidden: missing (expected number)`,
      `  model.layrs: unknown key (did you mean "layers"?)`,
      `  stpes: unknown key (did you mean "steps"?)`,
      "`move37 config schema toy-cli` prints every key this trainer accepts.",
    ].join("\n"),
  );
  assert.equal(seen.length, before, "the trainer must not run");
});

test("an unknown trainer suggests the closest registered one", async () => {
  const r = await runCli(["train", recipe("t.yaml", "trainer: toy-clj\n"), "--runs-dir", runsDir]);
  assert.match(r.error!.message, /: 1 problem\n {2}trainer: unknown trainer "toy-clj" \(did you mean "toy-cli"\?\)$/);
});

test("YAML syntax errors and non-mapping recipes are reported", async () => {
  const syntax = await runCli(["train", recipe("s.yaml", "trainer: toy-cli\nmodel: {hidden: 3\n"), "--dry-run"]);
  assert.match(syntax.error!.message, /1 problem\n {2}\(recipe\): YAML syntax error: /);
  const list = await runCli(["train", recipe("l.yaml", "- a\n- b\n"), "--dry-run"]);
  assert.match(list.error!.message, /\(recipe\): a recipe is a YAML mapping of keys to values \(start with `trainer: <name>`\)/);
});

test("--dry-run prints the resolved config with defaults and YAML-typed overrides, and creates nothing", async () => {
  const p = recipe("ok.yaml", "trainer: toy-cli\nmodel:\n  hidden: 8\n");
  const r = await runCli(["train", p, "--lr=0.04", "--model.layers=4", "--verbose=true", "--mode=sample", "--dry-run", "--runs-dir", runsDir]);
  assert.equal(r.error, undefined);
  assert.deepEqual(parseYaml(r.stdout), { trainer: "toy-cli", steps: 3, lr: 0.04, verbose: true, mode: "sample", model: { layers: 4, hidden: 8 } });
  assert.match(r.stdout, /^# resolved from .*ok\.yaml --lr=0\.04/);
  assert.equal(existsSync(runsDir), false, "a dry run creates no run directory");
  // overrides are validated like the recipe
  const bad = await runCli(["train", p, "--model.layers=many", "--dry-run"]);
  assert.equal(bad.error?.message.split("\n")[1], `  model.layers: expected number, got "many"`);
  const small = await runCli(["train", p, "--steps=0", "--dry-run"]);
  assert.equal(small.error?.message.split("\n")[1], "  steps: too small: expected number to be >0, got 0");
  const malformed = await runCli(["train", p, "--lr", "0.1", "--dry-run"]);
  assert.equal(malformed.error?.message.split("\n")[1], "  --lr: not an override (write overrides as --key.path=value, e.g. --grpo.beta=0.04)");
});

test("train writes a run directory; a failing trainer marks it failed; --resume continues it", async () => {
  const p = recipe("ok.yaml", "trainer: toy-cli\nmodel:\n  hidden: 8\n");
  const r = await runCli(["train", p, "--steps=4", "--name", "first", "--runs-dir", runsDir]);
  assert.equal(r.error, undefined, r.error?.stack);
  const runDir = join(runsDir, "first");
  const config = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8"));
  assert.deepEqual(config, { trainer: "toy-cli", steps: 4, lr: 0.1, verbose: false, mode: "greedy", model: { layers: 2, hidden: 8 } });
  const info = JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as RunInfo;
  assert.equal(info.status, "completed");
  assert.equal(info.trainer, "toy-cli");
  assert.ok(Date.parse(info.ended!) >= Date.parse(info.started));
  assert.ok(info.machine.cores > 0 && info.machine.node === process.version);
  assert.deepEqual(readMetrics(runDir).map(m => m.loss), [0.5, 0.25, 0.125, 0.0625]);

  const again = await runCli(["train", p, "--name", "first", "--runs-dir", runsDir]);
  assert.equal(again.error?.name, "RunExistsError");

  const resumed = await runCli(["train", "--resume", runDir, "--steps=5"]);
  assert.equal(resumed.error, undefined, resumed.error?.stack);
  assert.equal(seen.at(-1)!.resume, true);
  assert.equal(seen.at(-1)!.config.steps, 5, "overrides apply on top of the saved config");
  const info2 = JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as RunInfo;
  assert.equal(info2.resumed.length, 1);
  assert.equal(info2.started, info.started);

  const failed = await runCli(["train", p, "--mode=sample", "--name", "broken", "--runs-dir", runsDir]);
  assert.equal(failed.error?.message, "sampling diverged");
  const info3 = JSON.parse(readFileSync(join(runsDir, "broken", "run.json"), "utf8")) as RunInfo;
  assert.equal(info3.status, "failed");
  assert.equal(info3.error, "sampling diverged");
});

test("config schema prints a JSON Schema that describes the trainer's keys", async () => {
  const r = await runCli(["config", "schema", "toy-cli"]);
  const schema = JSON.parse(r.stdout);
  assert.deepEqual(schema.properties.trainer, { const: "toy-cli" });
  assert.deepEqual(schema.properties.mode.enum, ["greedy", "sample"]);
  assert.equal(schema.properties.model.additionalProperties, false);
  assert.deepEqual(schema.required, ["trainer", "model"]);
  const all = JSON.parse((await runCli(["config", "schema"])).stdout);
  assert.ok(all.oneOf.some((s: { title: string }) => s.title === "move37 toy-cli recipe"));
  const unknown = await runCli(["config", "schema", "toy-clu"]);
  assert.equal(unknown.error?.message, 'unknown trainer "toy-clu" (did you mean "toy-cli"?)');
});

test("a recipe whose model folder is missing fails before a run directory is made, naming the folder", async () => {
  let ran = false;
  const folderTrainer: Trainer<z.ZodObject<{ model: z.ZodString }>> = {
    name: "toy-folder", description: "test trainer that starts from a model folder",
    schema: z.object({ model: z.string() }).strict(),
    async run() { ran = true; },
  };
  const missing = join(dir, "no-such-model");
  const p = recipe("folder.yaml", `trainer: toy-folder\nmodel: ${missing}\n`);
  const root = join(dir, "runs-missing-model");
  const r = await runWith(["train", p, "--name", "m", "--runs-dir", root], { trainers: [folderTrainer] });
  assert.equal(r.error?.name, "MissingModelError");
  assert.ok(r.error!.message.startsWith(`${missing} holds no model (no config.json)`), r.error!.message);
  assert.equal(ran, false);
  assert.equal(existsSync(root), false, "no run directory for a run that cannot start");
});
