// `move37 models ls` on a cache written as huggingface_hub writes it, and `move37 download` against the local fake hub.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scanCacheDir } from "@huggingface/hub";
import { runCli } from "../cli/run-cli.js";
import { sha, startFakeHub, tempDir, withEnv, writeCachedRepo, type FakeHub } from "./helpers.js";

const TINY = join(import.meta.dirname, "../../models/base-tiny");
const tinyFiles = () => Object.fromEntries(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].map(f => [f, readFileSync(join(TINY, f))]));


test("models ls: each cached model with refs, commit, size, architecture, and whether Move37 loads it (and why not)", async () => {
  const cache = tempDir();
  const A = sha("a"), B = sha("b"), C = sha("c"), D = sha("d");
  writeCachedRepo(cache, { kind: "model", repo: "acme/base-tiny", refs: { main: A }, commits: { [A]: tinyFiles() } });
  writeCachedRepo(cache, { kind: "model", repo: "openai-community/gpt2", refs: { main: B }, commits: { [B]: { "config.json": JSON.stringify({ architectures: ["GPT2LMHeadModel"], model_type: "gpt2" }), "model.safetensors": "w", "tokenizer.json": "{}" } } });
  writeCachedRepo(cache, { kind: "model", repo: "acme/half", refs: { main: C }, commits: { [C]: { "config.json": readFileSync(join(TINY, "config.json")) } } });
  writeCachedRepo(cache, { kind: "dataset", repo: "openai/gsm8k", refs: { main: D }, commits: { [D]: { "main/train-00000-of-00001.parquet": "PAR1", "socratic/train-00000-of-00001.parquet": "PAR1" } } });
  const r = await withEnv({ HF_HUB_CACHE: cache }, () => runCli(["models", "ls"]));
  assert.equal(r.error, undefined, r.error?.message);
  const line = (id: string) => r.stdout.split("\n").find(l => l.startsWith(id + " ")) ?? "";
  const size = (readFileSync(join(TINY, "model.safetensors")).length + ["config.json", "tokenizer.json", "tokenizer_config.json"].reduce((s, f) => s + readFileSync(join(TINY, f)).length, 0)) / 1e6;
  assert.match(line("acme/base-tiny"), new RegExp(`main\\s+${A.slice(0, 12)}\\s+${size.toFixed(1)} MB\\s+LlamaForCausalLM\\s+yes$`));
  assert.match(line("openai-community/gpt2"), /GPT2LMHeadModel\s+no$/);
  assert.match(r.stdout, /openai-community\/gpt2@[0-9a-f]{12}: .*GPT2LMHeadModel/, "the refusal of fromHfConfig says why");
  assert.match(line("acme/half"), /LlamaForCausalLM\s+no$/);
  assert.match(r.stdout, /acme\/half@[0-9a-f]{12}: incomplete: no \*\.safetensors weights/);
  assert.match(line("openai/gsm8k"), /main,socratic$/);

  const json = await withEnv({ HF_HUB_CACHE: cache }, () => runCli(["models", "ls", "--json"]));
  const rows = json.stdout.trim().split("\n").map(l => JSON.parse(l) as { id: string; refs: string[]; commit: string; path: string; loads: boolean; why_not: string | null });
  assert.deepEqual(rows.map(r => [r.id, r.loads]).sort(), [["acme/base-tiny", true], ["acme/half", false], ["openai-community/gpt2", false]]);
  const tinyRow = rows.find(r => r.id === "acme/base-tiny")!;
  assert.deepEqual([tinyRow.refs, tinyRow.commit, tinyRow.path, tinyRow.why_not], [["main"], A, join(cache, "models--acme--base-tiny", "snapshots", A), null]);
  assert.match(rows.find(r => r.id === "openai-community/gpt2")!.why_not!, /GPT2LMHeadModel/);

  // the layout the test wrote is the one @huggingface/hub's own cache scanner reads
  const scanned = await scanCacheDir(cache);
  const tiny = scanned.repos.find(x => x.id.name === "acme/base-tiny")!;
  assert.deepEqual(tiny.revisions.map(v => [v.commitOid, v.refs]), [[A, ["main"]]]);
  assert.equal(tiny.revisions[0].files.length, 4);

  const empty = await withEnv({ HF_HUB_CACHE: tempDir() }, () => runCli(["models", "ls"]));
  assert.match(empty.stdout, /^no models in .* \(move37 download owner\/name fetches one\)/);
});

let hub: FakeHub | undefined;
after(async () => hub?.stop());

test("download: fetches into the cache, prints the folder; a second run says it is cached; offline it answers from the cache", async () => {
  const M = sha("m"), G = sha("g");
  hub = await startFakeHub([
    { kind: "model", repo: "acme/base-tiny", refs: { main: M }, commits: { [M]: tinyFiles() } },
    { kind: "dataset", repo: "openai/gsm8k", refs: { main: G }, commits: { [G]: { "main/train-00000-of-00001.parquet": "PAR1 a", "main/test-00000-of-00001.parquet": "PAR1 b", "socratic/train-00000-of-00001.parquet": "PAR1 c" } } },
  ]);
  const cache = tempDir();
  const vars = { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: undefined, HF_TOKEN: undefined };
  const r = await withEnv(vars, () => runCli(["download", "acme/base-tiny", "-q"]));
  assert.equal(r.error, undefined, r.error?.message);
  const dir = join(cache, "models--acme--base-tiny", "snapshots", M);
  assert.equal(r.stdout, `${dir}\n`);
  const mbs = (Object.values(tinyFiles()).reduce((n, b) => n + b.length, 0) / 1e6).toFixed(1).replace(".", "\\.");
  assert.match(r.stderr, new RegExp(`model acme/base-tiny at [0-9a-f]{12}: 4 of 4 files downloaded, ${mbs} MB in all`));
  const again = await withEnv(vars, () => runCli(["download", "acme/base-tiny", "--revision", "main", "-q"]));
  assert.match(again.stderr, /already in the cache/);
  const offline = await withEnv({ ...vars, HF_HUB_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:9" }, () => runCli(["download", "acme/base-tiny"]));
  assert.equal(offline.stdout, `${dir}\n`);
  const ls = await withEnv(vars, () => runCli(["models", "ls"]));
  assert.match(ls.stdout, new RegExp(`acme/base-tiny\\s+main\\s+[0-9a-f]{12}\\s+${mbs} MB\\s+LlamaForCausalLM\\s+yes`));

  const d = await withEnv(vars, () => runCli(["download", "openai/gsm8k", "--dataset", "--config", "main", "--split", "test", "-q"]));
  assert.equal(d.error, undefined, d.error?.message);
  assert.equal(readFileSync(join(d.stdout.trim(), "main/test-00000-of-00001.parquet"), "utf8"), "PAR1 b");
  assert.match(d.stderr, /dataset openai\/gsm8k:main:test at [0-9a-f]{12}: 1 of 1 files downloaded/);
  const bad = await withEnv(vars, () => runCli(["download", "acme/base-tiny@main", "--revision", "v2"]));
  assert.match(bad.error?.message ?? "", /names revision main and --revision says v2/);
});
