// Hub ids and the offline half of resolution: a cache written as huggingface_hub writes it is found by id, by
// branch, by tag and by commit sha, with no network (the endpoint is a closed port); HF_HUB_OFFLINE=1 names the id
// and the cache searched when absent; a local path that exists wins over an id.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { datasetFilesFor, parseHubId, formatHubId, HubIdError, HubOfflineError, resolveModelPath, resolveDatasetPath, hubCacheDir, hubEnv, findCached, cachedSnapshot } from "../../src/hub/index.js";
import { sha, tempDir, testEnv, writeCachedRepo } from "./helpers.js";

test("hub ids: owner/name, @revision, :config and :config:split; paths and malformed names refused", () => {
  assert.deepEqual(parseHubId("Qwen/Qwen3-0.6B", "model"), { kind: "model", repo: "Qwen/Qwen3-0.6B", revision: "main", explicitRevision: false, config: undefined, split: undefined });
  const d = parseHubId("openai/gsm8k@refs/convert/parquet:main:test", "dataset");
  assert.equal(d.repo, "openai/gsm8k");
  assert.equal(d.revision, "refs/convert/parquet");
  assert.equal(d.config, "main");
  assert.equal(d.split, "test");
  assert.equal(formatHubId(d), "openai/gsm8k@refs/convert/parquet:main:test");
  assert.equal(parseHubId(`a/b@${sha("x")}`, "model").revision, sha("x"));
  for (const bad of ["gpt2", "./a/b", "/abs/x", "a/b/c", "a/b.jsonl", "a--x/b", "a/b@", "a/b:main"]) {
    assert.throws(() => parseHubId(bad, "model"), HubIdError, bad);
  }
  assert.throws(() => parseHubId("a/b:c:d:e", "dataset"), /config or :config:split/);
});

test("the cache folder follows huggingface_hub: HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: "/x/hub", HF_HOME: "/y" }), "/x/hub");
  assert.equal(hubCacheDir({ HF_HOME: "/y" }), "/y/hub");
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: "/z" }), "/z/huggingface/hub");
  assert.match(hubCacheDir({}), /\.cache\/huggingface\/hub$/);
  const e = hubEnv({ HF_HUB_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:1/", HF_TOKEN: "hf_abc", HF_HOME: "/y" });
  assert.deepEqual(e, { cacheDir: "/y/hub", endpoint: "http://127.0.0.1:1", offline: true, token: "hf_abc" });
  const home = tempDir();
  writeFileSync(join(home, "token"), "hf_fromfile\n");
  assert.equal(hubEnv({ HF_HOME: home }).token, "hf_fromfile", "the token `hf auth login` saved");
});

const MAIN = sha("main-commit"), OLD = sha("old-commit");
const model = (tag: string) => ({ "config.json": JSON.stringify({ architectures: ["LlamaForCausalLM"], tag }), "model.safetensors": Buffer.from(`weights ${tag}`), "tokenizer.json": "{}" });

function cacheWithModel(): string {
  const cache = tempDir();
  writeCachedRepo(cache, { kind: "model", repo: "acme/tiny", refs: { main: MAIN, "v1.0": OLD }, commits: { [MAIN]: model("main"), [OLD]: model("old") } });
  return cache;
}

test("a model id resolves offline to its snapshot: refs/main, a branch or tag through refs/, a commit sha directly", () => {
  const cache = cacheWithModel();
  const env = testEnv(cache, { offline: true });
  const folder = join(cache, "models--acme--tiny");
  const main = resolveModelPath("acme/tiny", { env });
  assert.equal(main, join(folder, "snapshots", MAIN));
  assert.match(readlinkSync(join(main, "config.json")), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/, "snapshot files are relative symlinks into blobs/");
  assert.match(realpathSync(join(main, "model.safetensors")), /blobs\/[0-9a-f]{64}$/);
  assert.equal(resolveModelPath("acme/tiny@v1.0", { env }), join(folder, "snapshots", OLD));
  assert.equal(resolveModelPath(`acme/tiny@${OLD}`, { env }), join(folder, "snapshots", OLD));
  assert.equal(resolveModelPath("acme/tiny@main", { env: testEnv(cache) }), join(folder, "snapshots", MAIN), "online too, the cache answers first (the endpoint is a closed port)");
});

test("HF_HUB_OFFLINE=1: an id not in the cache (or incomplete there) fails naming the id and the cache searched", () => {
  const cache = cacheWithModel();
  const env = testEnv(cache, { offline: true });
  assert.throws(() => resolveModelPath("acme/other", { env }), (e: Error) => e instanceof HubOfflineError && e.message.includes("model acme/other") && e.message.includes(cache) && /HF_HUB_OFFLINE=1/.test(e.message) && /move37 download acme\/other/.test(e.message));
  assert.throws(() => resolveModelPath("acme/tiny@nope", { env }), /revision nope/);
  // a snapshot without weights (only config.json was fetched once) is not taken for a model
  rmSync(join(cache, "models--acme--tiny", "snapshots", MAIN, "model.safetensors"));
  assert.throws(() => resolveModelPath("acme/tiny", { env }), /no \*\.safetensors weights/);
  assert.equal(findCached(parseHubId("acme/tiny", "model"), env), null);
  assert.equal(cachedSnapshot(cache, parseHubId("acme/tiny", "model")), join(cache, "models--acme--tiny", "snapshots", MAIN));
});

test("a local folder that exists wins over the id it resembles; a missing one that is not an id stays a path", () => {
  const cache = cacheWithModel();
  const base = tempDir();
  mkdirSync(join(base, "acme", "tiny"), { recursive: true });
  const env = testEnv(cache, { offline: true });
  assert.equal(resolveModelPath("acme/tiny", { env, baseDir: base }), join(base, "acme", "tiny"));
  assert.equal(resolveModelPath("runs/x/checkpoints/final", { env, baseDir: base }), join(base, "runs/x/checkpoints/final"));
  // a missing folder under a local folder (a recipe's output not written yet) is a path, never an id to fetch
  mkdirSync(join(base, "models"));
  assert.equal(resolveModelPath("models/grpo-gsm8k", { env: testEnv(cache), baseDir: base }), join(base, "models/grpo-gsm8k"));
});

test("a dataset id with :config and :split resolves offline to the snapshot holding that config's files", () => {
  const cache = tempDir();
  const c = sha("ds");
  writeCachedRepo(cache, { kind: "dataset", repo: "openai/gsm8k", refs: { main: c }, commits: { [c]: {
    "README.md": "---\nconfigs: []\n---\n", "main/train-00000-of-00001.parquet": "PAR1 train", "main/test-00000-of-00001.parquet": "PAR1 test",
  } } });
  const env = testEnv(cache, { offline: true });
  const r = resolveDatasetPath("openai/gsm8k:main", { env, split: "train" });
  assert.equal(r.path, join(cache, "datasets--openai--gsm8k", "snapshots", c));
  assert.equal(r.config, "main");
  assert.equal(r.split, "train");
  assert.equal(resolveDatasetPath("openai/gsm8k:main:test", { env, split: "train" }).split, "test", "the id's split wins");
  assert.throws(() => resolveDatasetPath("openai/gsm8k:socratic", { env }), /no data files for config "socratic"/);
  assert.throws(() => resolveDatasetPath("openai/gsm8k:main:validation", { env }), HubOfflineError);
});

test("a single-config dataset (data/train-*.parquet) answers to config \"default\", as `datasets` names it", () => {
  const cache = tempDir();
  const c = sha("single");
  writeCachedRepo(cache, { kind: "dataset", repo: "acme/single", refs: { main: c }, commits: { [c]: { "data/train-00000-of-00001.parquet": "PAR1 a", "data/test-00000-of-00001.parquet": "PAR1 b" } } });
  const env = testEnv(cache, { offline: true });
  const r = resolveDatasetPath("acme/single:default", { env, split: "test" });
  assert.equal(r.path, join(cache, "datasets--acme--single", "snapshots", c));
  assert.equal(r.config, undefined, "no folder named default: the loader reads the repo's only config");
  assert.deepEqual(datasetFilesFor(["main/train.parquet", "socratic/train.parquet"], "default", undefined), [], "with config folders, default is just a name");
  assert.deepEqual(datasetFilesFor(["data/train-0.parquet", "data/test-0.parquet", "README.md"], "default", "test"), ["data/test-0.parquet"]);
});
