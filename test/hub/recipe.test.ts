// A recipe naming its model and dataset by hub id (`model: acme/byte-model`, `dataset: openai/gsm8k:main`) runs from
// the HF cache with HF_HUB_OFFLINE=1: the model key resolves once before the trainer (the run's config.json keeps the
// id), the dataset where every dataset is read; the verbs take ids too (eval, generate).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeParquet } from "../data/write.js";
import { byteModelFolder } from "../pipeline/micro.js";
import { runCli } from "../cli/run-cli.js";
import { resolveRecipeModels } from "../../src/hub/recipe.js";
import { loadDataset } from "../../src/data/dataset.js";
import { HubOfflineError } from "../../src/hub/errors.js";
import { sha, tempDir, testEnv, withEnv, writeCachedRepo } from "./helpers.js";

const SHORT_TEMPLATE = "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}{% if add_generation_prompt %} A:{% endif %}";
const M = sha("byte-model"), G = sha("gsm8k");

/** A cache holding a byte-level model as acme/byte-model and a GSM8K-shaped dataset as openai/gsm8k (main, socratic). */
function cache(): string {
  const root = tempDir();
  const model = byteModelFolder(root, "model", 32, 1, 5, true);
  const cfg = join(model, "tokenizer_config.json");
  writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, "utf8")), chat_template: SHORT_TEMPLATE }));
  const rows = (n: number, from: number) => ({
    question: Array.from({ length: n }, (_, i) => `Ann has ${from + i} pens and gets 2 more. How many pens?`),
    answer: Array.from({ length: n }, (_, i) => `${from + i} + 2 = ${from + i + 2}\n#### ${from + i + 2}`),
  });
  const data = join(root, "data");
  writeParquet(join(data, "main", "train-00000-of-00001.parquet"), rows(12, 1));
  writeParquet(join(data, "main", "test-00000-of-00001.parquet"), rows(5, 100));
  writeParquet(join(data, "socratic", "train-00000-of-00001.parquet"), rows(4, 500));
  const files = (dir: string, names: string[]) => Object.fromEntries(names.map(n => [n, readFileSync(join(dir, n))]));
  const c = join(root, "hub");
  writeCachedRepo(c, { kind: "model", repo: "acme/byte-model", refs: { main: M }, commits: { [M]: files(model, readdirSync(model)) } });
  writeCachedRepo(c, { kind: "dataset", repo: "openai/gsm8k", refs: { main: G }, commits: { [G]: files(data, ["main/train-00000-of-00001.parquet", "main/test-00000-of-00001.parquet", "socratic/train-00000-of-00001.parquet"]) } });
  return c;
}

test("resolveRecipeModels: ids among model/teacher/student/reward_model and pipeline stages; paths, @refs and rollout.model untouched", () => {
  const c = cache();
  const env = testEnv(c, { offline: true });
  const snap = join(c, "models--acme--byte-model", "snapshots", M);
  const r = resolveRecipeModels({ model: "acme/byte-model", teacher: "models/none-here/x/y", rollout: { model: "acme/byte-model" }, stages: [{ name: "a", trainer: "sft", config: { model: "@base", student: "acme/byte-model" } }] }, { env });
  assert.equal(r.config.model, snap);
  assert.equal(r.config.teacher, "models/none-here/x/y");
  assert.deepEqual(r.config.rollout, { model: "acme/byte-model" }, "a server's model name is not a folder");
  assert.deepEqual((r.config.stages as { config: unknown }[])[0].config, { model: "@base", student: snap });
  assert.deepEqual(r.resolved, [["acme/byte-model", snap]]);
  assert.throws(() => resolveRecipeModels({ model: "acme/absent" }, { env }), HubOfflineError);
});

test("loadDataset reads `openai/gsm8k:main` from the cache: the id's config, the split key, eval_split from the same snapshot", () => {
  const c = cache();
  const d = withEnvSync({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => loadDataset({ path: "openai/gsm8k:main", eval_split: "test" }));
  assert.equal(d.train.length, 12);
  assert.equal(d.eval.length, 5);
  assert.match(d.info.train_files[0], new RegExp(`datasets--openai--gsm8k/snapshots/${G}/main/train-00000-of-00001\\.parquet$`));
  const s = withEnvSync({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => loadDataset("openai/gsm8k:socratic"));
  assert.equal(s.train.length, 4);
  assert.throws(() => withEnvSync({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => loadDataset("openai/gsm8k:nope")), /dataset openai\/gsm8k:nope:train is not in the Hugging Face cache .*no data files for config "nope"/);
});

function withEnvSync<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

test("recipes/grpo-gsm8k.yaml with `model: acme/byte-model` and `dataset: openai/gsm8k:main` trains offline from the cache; eval takes the ids", async () => {
  const c = cache();
  const root = tempDir();
  const text = readFileSync("recipes/grpo-gsm8k.yaml", "utf8")
    .replace(/^model: .*$/m, "model: acme/byte-model")
    .replace(/^ {2}path: .*$/m, "  path: openai/gsm8k:main")
    .replace(/^ {2}config: main\n/m, "");
  assert.match(text, /^model: acme\/byte-model$/m);
  assert.match(text, /^ {2}path: openai\/gsm8k:main$/m);
  const recipe = join(root, "grpo-hub.yaml");
  writeFileSync(recipe, text);
  const r = await withEnv({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => runCli(["train", recipe, "--dataset.eval_size=3",
    "--grpo.max_steps=1", "--grpo.num_generations=2", "--grpo.max_completion_length=6", `--output_dir=${join(root, "out")}`, "--backend=reference",
    "--runs-dir", root, "--name", "r"]));
  assert.equal(r.error, undefined, r.error?.stack);
  assert.match(r.stderr, new RegExp(`model acme/byte-model: .*models--acme--byte-model/snapshots/${M}`));
  const saved = JSON.parse(readFileSync(join(root, "r", "config.json"), "utf8"));
  assert.equal(saved.model, "acme/byte-model", "the run's config keeps the id");
  assert.equal(saved.dataset.path, "openai/gsm8k:main");
  assert.equal(JSON.parse(readFileSync(join(root, "r", "report.json"), "utf8")).eval_size, 3);
  const samples = readFileSync(join(root, "r", "samples.jsonl"), "utf8");
  assert.match(samples, /Ann has \d+ pens/);
  assert.doesNotMatch(samples, /Ann has 1\d\d pens/, "never a test-split question");

  const e = await withEnv({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => runCli(["eval", "acme/byte-model", "--recipe", recipe, "--dataset", "openai/gsm8k:main:test", "--n", "2", "--k", "1", "--max-new-tokens", "4", "--backend", "reference", "--json"]));
  assert.equal(e.error, undefined, e.error?.stack);
  assert.equal(JSON.parse(e.stdout).problems, 2);
  const g = await withEnv({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => runCli(["generate", "acme/byte-model", "--prompt", "hi", "--max-new-tokens", "2", "--backend", "reference"]));
  assert.equal(g.error, undefined, g.error?.stack);
  const missing = await withEnv({ HF_HUB_CACHE: c, HF_HUB_OFFLINE: "1" }, () => runCli(["generate", "acme/other-model", "--prompt", "hi"]));
  assert.ok(missing.error instanceof HubOfflineError, missing.error?.message);
});

test("the README's \"Your own model and data\" and the GSM8K recipes show the hub-id form first", () => {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.split("## Your own model and data")[1]?.split("\n## ")[0] ?? "";
  const firstModel = /`model: ([^`]+)`/.exec(section)?.[1];
  assert.equal(firstModel, "Qwen/Qwen3-0.6B", "the first model: is a hub id");
  assert.ok(section.indexOf("openai/gsm8k") < section.indexOf("data/"), "the dataset id comes before any local path");
  assert.match(section, /move37 download /);
  assert.match(section, /move37 models ls/);
  for (const r of ["recipes/grpo-gsm8k.yaml", "recipes/grpo-qwen3.yaml"]) {
    const text = readFileSync(r, "utf8");
    assert.match(text, /^model: Qwen\/Qwen[\w.-]+$/m, r);
    assert.match(text, /^ {2}path: openai\/gsm8k\b/m, r);
  }
});
