// "Your model, your data", end to end as a user does it (issue 17 §3), for each architecture Move37 loads:
// Llama 3 (rope_type llama3), Qwen2, Qwen3, Gemma 3 (prompts longer than its sliding window) and SmolLM3 (a NoPE
// layer). The user's model folder (the family's config.json keys, a byte-level BPE trained here, the family's chat
// template) and a GSM8K-format Parquet file are made by the test; then, through the CLI:
//   move37 train <copy of recipes/grpo-gsm8k.yaml | grpo-qwen3.yaml>   3 GRPO steps on the Parquet file
//   move37 eval <run>                                                   its held-out problems scored
//   move37 export <run> --format hf  /  --format gguf                   a folder that reloads, a GGUF llama.cpp runs
//   move37 train <copy of recipes/sft-tiny.yaml>                        SFT on a `messages` JSONL file, then eval
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { getBackend, referenceBackend } from "../../src/engine/index.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { fromHfConfig } from "../../src/model/io/hf-config.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { readJsonl } from "../../src/runs/read.js";
import { runCli } from "../cli/run-cli.js";
import { tempRoot } from "../train/trainer-harness.js";
import { DIGIT_REWARD } from "../pipeline/micro.js";
import { compareWithLlamaCpp, decodeLogits, llama, maxLogitDiff, skipReason } from "../io/llama-cpp-compare.js";
import { writeGsm8kParquet, writeMessagesJsonl, writeUserModel, type E2eFamily } from "./user-folder.js";

const root = tempRoot("e2e");
test.after(() => rmSync(root, { recursive: true, force: true }));
test.after(() => llama?.dispose());

const FAMILIES: E2eFamily[] = ["llama3", "qwen2", "qwen3", "gemma3", "smollm3"];
/** llama.cpp against Move37 on F32 weights (test/io/llama-cpp-families.test.ts): Gemma's F16-table GELU costs 1e-3. */
const REL_TOL: Record<E2eFamily, number> = { llama3: 1e-4, qwen2: 1e-4, qwen3: 1e-4, gemma3: 1e-3, smollm3: 1e-4 };
/** The training forward's log-probs against llama.cpp's (nats), as there. */
const LOGP_TOL: Record<E2eFamily, number> = { llama3: 1e-4, qwen2: 1e-4, qwen3: 1e-4, gemma3: 5e-3, smollm3: 1e-4 };
/** Text llama.cpp and Move37 both read: longer than three Gemma sliding windows (6) once tokenized. */
const PROMPT = "Quirky zebras jumped over 17 lazy foxes, then Cleo counted 42 shells; how many were left?";

/** The recipe as a user edits it: a copy with `model:` and `dataset:` pointed at their files, every other key as shipped. */
function userRecipe(shipped: string, out: string, model: string, data: string): string {
  const doc = parseDocument(readFileSync(shipped, "utf8"));
  doc.set("model", model);
  doc.setIn(["dataset", "path"], data);
  doc.deleteIn(["dataset", "config"]);
  doc.deleteIn(["dataset", "eval_split"]);
  doc.setIn(["dataset", "eval_size"], 4); // held out of the file's rows (the hub's GSM8K has its test split instead)
  writeFileSync(out, doc.toString());
  return out;
}

const finite = (x: unknown) => typeof x === "number" && Number.isFinite(x);

for (const family of FAMILIES) {
  test(`your ${family} model and your GSM8K Parquet: train (GRPO), eval, export to HF and GGUF, llama.cpp runs it; SFT on messages, eval`, async t => {
    const dir = join(root, family);
    const shipped = family === "qwen3" ? "recipes/grpo-qwen3.yaml" : "recipes/grpo-gsm8k.yaml";
    const system = parseDocument(readFileSync(shipped, "utf8")).getIn(["prompt", "system_prompt"]) as string | undefined;
    const model = join(dir, "model");
    const { json } = writeUserModel(model, family, 7, system ?? "");
    const data = writeGsm8kParquet(join(dir, "gsm8k.parquet"), 16);
    const recipe = userRecipe(shipped, join(dir, "recipe.yaml"), model, data);
    const out = join(dir, "trained");
    const runs = join(dir, "runs");

    // 1. move37 train: 3 GRPO steps, as the recipe says but small. A random model never earns the recipe's math and
    // format rewards, so one reward a random model does earn (a digit in its completion) joins them: the steps then
    // have groups of unequal rewards, and the trained model differs from the one the user brought.
    const grpo = parseDocument(readFileSync(shipped, "utf8")).get("grpo") as { toJSON(): { reward_funcs: string[]; reward_weights: number[] } };
    const { reward_funcs, reward_weights } = grpo.toJSON();
    const rewards = [`--grpo.reward_funcs=${JSON.stringify([...reward_funcs, DIGIT_REWARD])}`, `--grpo.reward_weights=${JSON.stringify([...reward_weights, 1])}`];
    const train = await runCli(["train", recipe, ...rewards, "--grpo.max_steps=3", "--grpo.num_generations=4", "--grpo.max_completion_length=8",
      "--grpo.learning_rate=0.001", `--output_dir=${out}`,
      "--runs-dir", runs, "--name", "grpo"]);
    assert.equal(train.error, undefined, train.error?.stack);
    const run = join(runs, "grpo");
    const metrics = readJsonl<Record<string, unknown>>(join(run, "metrics.jsonl")).filter(m => m.step !== undefined && "loss" in m);
    assert.equal(metrics.length, 3, "one metrics row per GRPO step");
    for (const m of metrics) for (const key of ["loss", "reward", "reward_std", "grad_norm"]) assert.ok(finite(m[key]), `step ${m.step}: ${key} = ${m[key]}`);
    const samples = readFileSync(join(run, "samples.jsonl"), "utf8");
    assert.match(samples, /has \d+ \w+ and buys \d+ more/, "the prompts are the Parquet file's questions");
    assert.equal(JSON.parse(readFileSync(join(run, "report.json"), "utf8")).eval_size, 4, "held out of the Parquet file as the recipe's dataset says");
    assert.ok(existsSync(join(out, "config.json")), "the trained model is in output_dir");
    const trained = loadPretrained(out, referenceBackend).model;
    assert.equal(trained.config.architecture, family === "llama3" ? "llama" : family);
    // every architecture feature of the user's config.json survives training and saving (rope scaling, windows, NoPE layers)
    assert.deepEqual(trained.config, fromHfConfig(json));
    const ids = loadTokenizer(out).encode(PROMPT, { addSpecialTokens: false });
    if (family === "gemma3") assert.ok(ids.length > 3 * (json.sliding_window as number), "the prompt spans several sliding windows");
    const before = decodeLogits(loadPretrained(model, referenceBackend).model, ids);
    const ours = decodeLogits(trained, ids);
    assert.ok(maxLogitDiff(ours, before).diff > 1e-4, "GRPO changed the model");

    // 2. move37 eval: the trained run on the recipe's held-out problems
    const evalArgs = [run, "--recipe", recipe, "--n", "4", "--k", "2", "--max-new-tokens", "8"];
    const ev = await runCli(["eval", ...evalArgs, "--json"]);
    assert.equal(ev.error, undefined, ev.error?.stack);
    const figures = JSON.parse(ev.stdout);
    assert.equal(figures.problems, 4);
    assert.equal(figures.step, 3, "eval read the run's last checkpoint");
    assert.equal(figures.samples, 8);
    for (const key of ["pass1", "passK", "majK"]) assert.ok(finite(figures[key]) && figures[key] >= 0 && figures[key] <= 1, `${key} = ${figures[key]}`);
    const table = await runCli(["eval", ...evalArgs]);
    assert.match(table.stdout, /pass@1\s+[\d.]+/);

    // 3. move37 export: an HF folder that reloads with the same logits, and a GGUF llama.cpp runs like Move37
    const hf = join(dir, "export-hf");
    const ex = await runCli(["export", run, "--format", "hf", "--out", hf]);
    assert.equal(ex.error, undefined, ex.error?.stack);
    assert.deepEqual(maxLogitDiff(ours, decodeLogits(loadPretrained(hf, referenceBackend).model, ids)).diff, 0, "the exported folder holds the trained weights");
    assert.equal(readFileSync(join(hf, "tokenizer.json"), "utf8"), readFileSync(join(model, "tokenizer.json"), "utf8"));
    const gguf = join(dir, `${family}.gguf`);
    const eg = await runCli(["export", run, "--format", "gguf", "--out", gguf]);
    assert.equal(eg.error, undefined, eg.error?.stack);
    assert.equal(eg.stderr, "", "no export warnings");
    assert.match(eg.stdout, new RegExp(`wrote .*${family}\\.gguf: ${family === "llama3" ? "llama" : family}, \\d+ tensors, f32`));
    if (skipReason) t.diagnostic(`llama.cpp part skipped: ${skipReason}`);
    else {
      // compareWithLlamaCpp exports output_dir to <dir>/<family>-f32.gguf and runs that: the very bytes `move37 export` wrote for the run
      await compareWithLlamaCpp(t, family, trained, out, "f32", PROMPT, ids, { relTol: REL_TOL[family], logpTol: LOGP_TOL[family], newTokens: 4 }, dir);
      assert.ok(readFileSync(join(dir, `${family}-f32.gguf`)).equals(readFileSync(gguf)), "llama.cpp ran the file move37 export wrote");
    }
    // the native kernels, what training ran on, agree with the reference forward on the trained model
    const native = decodeLogits(loadPretrained(out, getBackend("auto")).model, ids);
    assert.ok(maxLogitDiff(ours, native).diff < 1e-3, "native and reference forwards agree");

    // 4. SFT on a `messages` JSONL file (a copy of recipes/sft-tiny.yaml pointed at it), then eval
    const sftRecipe = join(dir, "sft.yaml");
    copyFileSync("recipes/sft-tiny.yaml", sftRecipe);
    const sftDoc = parseDocument(readFileSync(sftRecipe, "utf8"));
    sftDoc.set("model", model);
    sftDoc.delete("traces");
    sftDoc.set("dataset", writeMessagesJsonl(join(dir, "chats.jsonl"), 12));
    // SmolLM3's template writes a 400-token system turn in thinking mode; its /no_think mode fits max_length here.
    if (family === "smollm3") sftDoc.set("chat_template_kwargs", { enable_thinking: false });
    writeFileSync(sftRecipe, sftDoc.toString());
    const sftOut = join(dir, "sft-out");
    const sft = await runCli(["train", sftRecipe, "--max_steps=3", "--per_device_train_batch_size=4", "--eval_size=2", "--max_length=256",
      "--eval_every=3", "--save_steps=0", `--output_dir=${sftOut}`, "--runs-dir", runs, "--name", "sft"]);
    assert.equal(sft.error, undefined, sft.error?.stack);
    const sftMetrics = readJsonl<Record<string, unknown>>(join(runs, "sft", "metrics.jsonl"));
    const steps = sftMetrics.filter(m => finite(m.loss) && m.step !== undefined);
    assert.ok(steps.length >= 3, `SFT logged ${steps.length} steps`);
    assert.ok(sftMetrics.some(m => finite(m.eval_loss)), "SFT measured its held-out rows");
    const sftEval = await runCli(["eval", join(runs, "sft"), "--dataset", data, "--n", "2", "--k", "1", "--max-new-tokens", "8", "--json"]);
    assert.equal(sftEval.error, undefined, sftEval.error?.stack);
    assert.equal(JSON.parse(sftEval.stdout).problems, 2);
  });
}
