// The recipes a user copies (recipes/grpo-gsm8k.yaml, recipes/grpo-qwen3.yaml) run as shipped once `model:` and
// `dataset:` point at folders: here a small random byte-level model and a GSM8K folder in the hub layout
// (main/train-*.parquet, main/test-*.parquet), with the step counts overridden on the command line as a user would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeParquet } from "../data/write.js";
import { byteModelFolder } from "../pipeline/micro.js";
import { tempRoot } from "../train/trainer-harness.js";
import { runCli } from "../cli/run-cli.js";

const SHORT_TEMPLATE = "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}{% if add_generation_prompt %} A:{% endif %}";

function gsm8kFolder(root: string): string {
  const dir = join(root, "gsm8k");
  const rows = (n: number, from: number) => ({
    question: Array.from({ length: n }, (_, i) => `Ann has ${from + i} pens and gets 2 more. How many pens?`),
    answer: Array.from({ length: n }, (_, i) => `${from + i} + 2 = ${from + i + 2}\n#### ${from + i + 2}`),
  });
  writeParquet(join(dir, "main", "train-00000-of-00001.parquet"), rows(12, 1));
  writeParquet(join(dir, "main", "test-00000-of-00001.parquet"), rows(5, 100));
  return dir;
}

for (const recipe of ["grpo-gsm8k", "grpo-qwen3"]) {
  test(`recipes/${recipe}.yaml runs on a model folder and a hub-layout GSM8K folder`, async () => {
    const root = tempRoot(recipe);
    const model = byteModelFolder(root, "model", 32, 1, 5, true);
    // A chat template that keeps the user turn only: the recipes' system prompt is longer than this model's 192 positions.
    const config = join(model, "tokenizer_config.json");
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, "utf8")), chat_template: SHORT_TEMPLATE }));
    const r = await runCli(["train", `recipes/${recipe}.yaml`, `--model=${model}`, `--dataset.path=${gsm8kFolder(root)}`, "--dataset.eval_size=3",
      "--grpo.max_steps=1", "--grpo.num_generations=2", "--grpo.max_completion_length=6", `--output_dir=${join(root, "out")}`, "--backend=reference",
      "--runs-dir", root, "--name", "r"]);
    assert.equal(r.error, undefined, r.error?.stack);
    const report = JSON.parse(readFileSync(join(root, "r", "report.json"), "utf8"));
    assert.equal(report.eval_size, 3, "three of the test split's problems are the held-out set");
    const samples = readFileSync(join(root, "r", "samples.jsonl"), "utf8");
    assert.match(samples, /Ann has \d+ pens/, "prompts are the dataset's training questions");
    assert.doesNotMatch(samples, /Ann has 1\d\d pens/, "never a test-split question");
    assert.ok(existsSync(join(root, "out", "config.json")), "the trained model is written where output_dir says");
    // The second command: the trained model measured with the recipe's prompt on a file of problems.
    const test_ = join(root, "gsm8k", "main", "test-00000-of-00001.parquet");
    const e = await runCli(["eval", join(root, "out"), "--recipe", `recipes/${recipe}.yaml`, "--dataset", test_, "--n", "2", "--k", "1", "--max-new-tokens", "4", "--backend", "reference", "--json"]);
    assert.equal(e.error, undefined, e.error?.stack);
    assert.equal(JSON.parse(e.stdout).problems, 2);
    const split = JSON.stringify({ path: join(root, "gsm8k"), config: "main", split: "test" });
    const whole = await runCli(["eval", join(root, "out"), "--dataset", split, "--n", "10", "--k", "1", "--max-new-tokens", "4", "--backend", "reference", "--json"]);
    assert.equal(whole.error, undefined, whole.error?.stack);
    assert.equal(JSON.parse(whole.stdout).problems, 5, "--dataset as a config: every row of the folder's test split");
  });
}
