// Downloads against a local stand-in for the hub (fake-hub.mjs, on 127.0.0.1, in a worker thread): the files a model
// needs land in the cache layout huggingface_hub uses and then resolve offline; LFS files come through a 302 to a
// CDN path without the token; a cut mid-file resumes with a Range request; a wrong checksum is refused; 401 on a
// gated repo says to accept the licence and set HF_TOKEN; 404s name the repo or revision. Nothing leaves the machine.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { existsSync, mkdirSync, rmSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { downloadSnapshot, parseHubId, resolveModelPath, resolveDatasetPath, HubGatedError, HubNotFoundError, HubChecksumError, HubOfflineError, fetchToCache, silentProgress, prefetchRecipeDatasets } from "../../src/hub/index.js";
import { scanCacheDir } from "@huggingface/hub";
import { sha, startFakeHub, tempDir, testEnv, type FakeHub } from "./helpers.js";

const C1 = sha("c1"), C2 = sha("c2"), D1 = sha("d1");
const weights = Buffer.from(Buffer.alloc(300_000, 0).map((_, i) => (i * 7919) % 251));
const shard2 = Buffer.alloc(50_000, 3);
const cutWeights = Buffer.from(Buffer.alloc(200_000, 0).map((_, i) => (i * 31) % 253));
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const index = JSON.stringify({ metadata: {}, weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" } });
const TOKEN = "hf_secret";
const GSM8K_CARD = `---
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train-*
  - split: test
    path: main/test-*
- config_name: socratic
  data_files:
  - split: train
    path: socratic/train-*
---
# GSM8K
`;
// a card whose paths follow no folder convention (as HuggingFaceH4/ultrachat_200k's: data/train_sft-*)
const ODD_CARD = "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train_sft\n    path: data/train_sft-*\n  - split: test_sft\n    path: data/test_sft-*\n---\n";

let hub: FakeHub;
const hubReady = startFakeHub([
  { kind: "model", repo: "acme/tiny", refs: { main: C1, "v0": C2 }, commits: {
    [C1]: { "config.json": '{"architectures":["LlamaForCausalLM"]}', "model.safetensors": weights, "tokenizer.json": "{}", "tokenizer_config.json": "{}", "README.md": "# tiny", "pytorch_model.bin": Buffer.alloc(10, 1), "onnx/model.onnx": "x" },
    [C2]: { "config.json": '{"architectures":["LlamaForCausalLM"],"v":0}', "model.safetensors": Buffer.from("old weights"), "tokenizer.json": "{}" },
  } },
  { kind: "model", repo: "acme/sharded", refs: { main: C1 }, commits: { [C1]: {
    "config.json": "{}", "model.safetensors.index.json": index, "model-00001-of-00002.safetensors": weights, "model-00002-of-00002.safetensors": shard2,
    "consolidated.safetensors": Buffer.alloc(100, 9), "tokenizer.json": "{}", "generation_config.json": "{}",
  } } },
  { kind: "model", repo: "acme/cut", refs: { main: C1 }, commits: { [C1]: { "config.json": "{}", "model.safetensors": cutWeights, "tokenizer.json": "{}" } } },
  { kind: "model", repo: "acme/bad", refs: { main: C1 }, commits: { [C1]: { "config.json": "{}", "model.safetensors": weights, "tokenizer.json": "{}" } } },
  { kind: "model", repo: "meta/gated", gated: true, refs: { main: C1 }, commits: { [C1]: { "config.json": "{}", "model.safetensors": shard2, "tokenizer.json": "{}" } } },
  { kind: "model", repo: "acme/sync", refs: { main: C2 }, commits: { [C2]: { "config.json": "{}", "model.safetensors": shard2, "tokenizer.json": "{}" } } },
  { kind: "dataset", repo: "acme/chats", refs: { main: D1 }, commits: { [D1]: { "README.md": ODD_CARD, "data/train_sft-00000-of-00001.parquet": Buffer.from("PAR1 sft"), "data/test_sft-00000-of-00001.parquet": Buffer.from("PAR1 test"), "other/ignored.parquet": Buffer.from("PAR1 no") } } },
  { kind: "dataset", repo: "evil/ds", refs: { main: D1 }, commits: { [D1]: { "main/../../escape.parquet": Buffer.from("PAR1 x") } } },
  { kind: "dataset", repo: "openai/gsm8k", refs: { main: D1 }, commits: { [D1]: {
    "README.md": GSM8K_CARD, "main/train-00000-of-00001.parquet": Buffer.from("PAR1 main train"), "main/test-00000-of-00001.parquet": Buffer.from("PAR1 main test"),
    "socratic/train-00000-of-00001.parquet": Buffer.from("PAR1 socratic train"),
  } } },
], { token: TOKEN, cutOnce: [sha256(cutWeights)], busyOnce: ["generation_config.json"], corrupt: [], renames: { "old-owner/tiny": "acme/tiny" } }).then(h => (hub = h));
// a second hub whose CDN alters bytes, for the checksum test
let badHub: FakeHub;
const badReady = startFakeHub([
  { kind: "model", repo: "acme/bad", refs: { main: C1 }, commits: { [C1]: { "config.json": "{}", "model.safetensors": weights, "tokenizer.json": "{}" } } },
  { kind: "model", repo: "acme/bad-small", refs: { main: C1 }, commits: { [C1]: { "config.json": "{}", "model.safetensors": shard2, "tokenizer.json": '{"version":"1.0"}' } } },
], { corrupt: [sha256(weights), "tokenizer.json"] }).then(h => (badHub = h));
after(async () => { await hub?.stop(); await badHub?.stop(); });


test("a model download: the files a model needs, at the revision's commit, in huggingface_hub's cache layout; then offline", async () => {
  await hubReady;
  const cache = tempDir();
  const env = testEnv(cache, { endpoint: hub.endpoint });
  await hub.requests();
  const r = await downloadSnapshot(parseHubId("acme/tiny", "model"), { env, progress: false });
  const folder = join(cache, "models--acme--tiny");
  assert.equal(r.sha, C1);
  assert.equal(r.dir, join(folder, "snapshots", C1));
  assert.deepEqual(r.files.sort(), ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"], "no README, *.bin or onnx/");
  assert.equal(readFileSync(join(folder, "refs", "main"), "utf8"), C1, "refs/main holds the commit, no newline");
  assert.equal(readlinkSync(join(r.dir, "model.safetensors")), `../../blobs/${sha256(weights)}`, "LFS blob named by its sha256, linked relatively");
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  const gitOid = createHash("sha1").update(`blob 2\0{}`).digest("hex");
  assert.equal(realpathSync(join(r.dir, "tokenizer.json")), realpathSync(join(folder, "blobs", gitOid)), "small files named by their git blob sha1 (the ETag)");
  assert.ok(existsSync(join(folder, ".no_exist", C1, "generation_config.json")), "absent optional files recorded as transformers does");
  assert.ok(!readdirSync(join(folder, "blobs")).some(f => f.endsWith(".incomplete")));

  const reqs = await hub.requests();
  assert.ok(reqs.some(q => q.path === `/api/models/acme/tiny/revision/main`), "the revision's commit from the API");
  assert.ok(reqs.filter(q => q.path.startsWith("/api/models/acme/tiny/tree/")).length >= 2, "the paged file list followed through its Link header");
  assert.ok(reqs.every(q => !q.path.startsWith("/acme/tiny/resolve/main/")), "files are fetched at the commit sha, not the moving branch");
  assert.ok(reqs.some(q => q.method === "HEAD" && q.path === `/acme/tiny/resolve/${C1}/model.safetensors`));
  assert.ok(reqs.some(q => q.method === "GET" && q.path === `/cdn/${sha256(weights)}`), "the LFS file from the 302's Location");
  assert.ok(reqs.some(q => q.method === "HEAD" && q.path === `/acme/tiny/resolve/${C1}/config.json`) && reqs.some(q => q.method === "GET" && q.path === `/api/resolve-cache/models/acme/tiny/${C1}/config.json`),
    "a small file through the hub's relative 307 to its resolve cache");

  // @huggingface/hub's own cache scanner reads what we wrote: one revision, refs main, the four files
  const scanned = (await scanCacheDir(cache)).repos.find(x => x.id.name === "acme/tiny")!;
  assert.deepEqual(scanned.revisions.map(v => [v.commitOid, v.refs, v.files.map(f => f.path.split("/").pop()).sort()]),
    [[C1, ["main"], ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]]]);

  // offline afterwards: the same id resolves with no server at all
  assert.equal(resolveModelPath("acme/tiny", { env: testEnv(cache, { offline: true }) }), r.dir);
  // a second download is a no-op: nothing fetched
  const again = await downloadSnapshot(parseHubId("acme/tiny", "model"), { env, progress: false });
  assert.deepEqual(again.downloaded, []);
  assert.ok((await hub.requests()).every(q => q.method !== "GET" || !q.path.startsWith("/cdn/")));
});

test("a tag revision gets its own snapshot and ref; the token is sent to the hub but not to the CDN", async () => {
  await hubReady;
  const cache = tempDir();
  await hub.requests();
  const r = await downloadSnapshot(parseHubId("acme/tiny@v0", "model"), { env: testEnv(cache, { endpoint: hub.endpoint, token: TOKEN }), progress: false });
  assert.equal(r.sha, C2);
  assert.equal(readFileSync(join(cache, "models--acme--tiny", "refs", "v0"), "utf8"), C2);
  assert.equal(readFileSync(join(r.dir, "model.safetensors"), "utf8"), "old weights");
  const reqs = await hub.requests();
  assert.ok(reqs.filter(q => q.path.includes("/resolve/") || q.path.startsWith("/api/")).every(q => q.auth === `Bearer ${TOKEN}`), "API and resolve route carry the token");
  assert.ok(reqs.some(q => q.path.startsWith("/api/models/acme/tiny/tree/")));
  assert.ok(reqs.filter(q => q.path.startsWith("/cdn/")).every(q => q.auth === null), "Authorization dropped on the redirect to the CDN");
});

test("a sharded model: the index first, then only the shards it names (not consolidated.safetensors)", async () => {
  await hubReady;
  const cache = tempDir();
  const r = await downloadSnapshot(parseHubId("acme/sharded", "model"), { env: testEnv(cache, { endpoint: hub.endpoint }), progress: false });
  assert.deepEqual(r.files.filter(f => f.endsWith(".safetensors")).sort(), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
  assert.ok(!existsSync(join(r.dir, "consolidated.safetensors")));
  assert.ok(existsSync(join(r.dir, "generation_config.json")), "fetched after the 503 the hub answered first");
  assert.equal(r.bytes, weights.length + shard2.length + index.length + 2 + 2 + 2);
});

test("a connection cut mid-file resumes with a Range request from the bytes already on disk", async () => {
  await hubReady;
  const cache = tempDir();
  await hub.requests();
  const r = await downloadSnapshot(parseHubId("acme/cut", "model"), { env: testEnv(cache, { endpoint: hub.endpoint }), progress: false });
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), cutWeights);
  const gets = (await hub.requests()).filter(q => q.method === "GET" && q.path === `/cdn/${sha256(cutWeights)}`);
  assert.equal(gets.length, 2, "one cut, one resume");
  assert.equal(gets[0].range, null);
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? "")?.[1]);
  assert.ok(from > 0 && from < cutWeights.length, `resumed at ${from}`);
});

test("an .incomplete file left by an earlier run is resumed, not restarted", async () => {
  await hubReady;
  const cache = tempDir();
  const blobs = join(cache, "models--acme--cut", "blobs");
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(cutWeights)}.incomplete`), cutWeights.subarray(0, 123_456));
  await hub.requests();
  const r = await downloadSnapshot(parseHubId("acme/cut", "model"), { env: testEnv(cache, { endpoint: hub.endpoint }), progress: false });
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), cutWeights);
  const gets = (await hub.requests()).filter(q => q.method === "GET" && q.path.startsWith("/cdn/"));
  assert.equal(gets[0].range, "bytes=123456-");
});

test("one process at a time per blob: a live holder's lock is waited for, a dead one's taken over", async () => {
  await hubReady;
  const cache = tempDir();
  const locks = join(cache, ".locks", "models--acme--sync");
  mkdirSync(locks, { recursive: true });
  const lock = join(locks, `${sha256(shard2)}.lock`);
  writeFileSync(lock, `${process.pid}@${hostname()}`); // held by a live process (this one)
  const notes: string[] = [];
  const progress = { ...silentProgress, note: (m: string) => void notes.push(m) };
  setTimeout(() => rmSync(lock, { force: true }), 300); // the other download ends
  const r = await downloadSnapshot(parseHubId("acme/sync", "model"), { env: testEnv(cache, { endpoint: hub.endpoint }), progress });
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), shard2);
  assert.ok(notes.some(n => n.includes("another download holds") && n.includes(`${process.pid}@`)), notes.join("\n"));
  assert.ok(!existsSync(lock), "released");

  const dead = spawnSync(process.execPath, ["-e", ""]).pid!; // a process that has exited
  const cache2 = tempDir();
  const lock2 = join(cache2, ".locks", "models--acme--sync", `${sha256(shard2)}.lock`);
  mkdirSync(dirname(lock2), { recursive: true });
  writeFileSync(lock2, `${dead}@${hostname()}`);
  notes.length = 0;
  const r2 = await downloadSnapshot(parseHubId("acme/sync", "model"), { env: testEnv(cache2, { endpoint: hub.endpoint }), progress });
  assert.deepEqual(readFileSync(join(r2.dir, "model.safetensors")), shard2);
  assert.deepEqual(notes, [], "a stale lock is not waited for");
});

test("bytes that do not hash to the hub's ETag are refused and discarded", async () => {
  await badReady;
  const cache = tempDir();
  await assert.rejects(downloadSnapshot(parseHubId("acme/bad", "model"), { env: testEnv(cache, { endpoint: badHub.endpoint }), progress: false }),
    (e: Error) => e instanceof HubChecksumError && e.message.includes("sha256") && e.message.includes(sha256(weights)));
  const blobs = readdirSync(join(cache, "models--acme--bad", "blobs"));
  assert.ok(!blobs.includes(sha256(weights)) && !blobs.some(b => b.endsWith(".incomplete")), blobs.join(","));
  assert.ok(!existsSync(join(cache, "models--acme--bad", "refs", "main")), "no ref to a snapshot that is not whole");
  // a small file is checked against its git blob sha1
  await assert.rejects(downloadSnapshot(parseHubId("acme/bad-small", "model"), { env: testEnv(cache, { endpoint: badHub.endpoint }), progress: false }),
    (e: Error) => e instanceof HubChecksumError && /tokenizer\.json/.test(e.message) && /git sha1/.test(e.message));
});

test("gated: 401 without a token, 403 with one lacking access, each saying to accept the licence; the right token downloads", async () => {
  await hubReady;
  const id = parseHubId("meta/gated", "model");
  await assert.rejects(downloadSnapshot(id, { env: testEnv(tempDir(), { endpoint: hub.endpoint }), progress: false }),
    (e: Error) => e instanceof HubGatedError && /HTTP 401/.test(e.message) && /accept the licence/.test(e.message) && /HF_TOKEN/.test(e.message));
  await assert.rejects(downloadSnapshot(id, { env: testEnv(tempDir(), { endpoint: hub.endpoint, token: "hf_other" }), progress: false }),
    (e: Error) => e instanceof HubGatedError && /HTTP 403/.test(e.message) && /no access yet/.test(e.message));
  const r = await downloadSnapshot(id, { env: testEnv(tempDir(), { endpoint: hub.endpoint, token: TOKEN }), progress: false });
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), shard2);
});

test("404s: a missing repo and a missing revision are named; a model id that is a dataset says --dataset", async () => {
  await hubReady;
  const env = testEnv(tempDir(), { endpoint: hub.endpoint, token: TOKEN });
  await assert.rejects(downloadSnapshot(parseHubId("acme/nope", "model"), { env, progress: false }), (e: Error) => e instanceof HubNotFoundError && /no such model repo/.test(e.message) && /HTTP 404/.test(e.message));
  await assert.rejects(downloadSnapshot(parseHubId("acme/nope", "model"), { env: { ...env, token: undefined }, progress: false }), (e: Error) => e instanceof HubNotFoundError && /HTTP 401/.test(e.message) && /private set HF_TOKEN/.test(e.message));
  await assert.rejects(downloadSnapshot(parseHubId("acme/tiny@v9", "model"), { env, progress: false }), (e: Error) => e instanceof HubNotFoundError && /no revision "v9"/.test(e.message));
  await assert.rejects(downloadSnapshot(parseHubId("openai/gsm8k", "model"), { env, progress: false }), /no such model repo/);
  await assert.rejects(downloadSnapshot(parseHubId("acme/tiny", "model"), { env: { ...env, offline: true }, progress: false }), HubOfflineError);
  await assert.rejects(downloadSnapshot(parseHubId("acme/tiny", "model"), { env: { ...env, endpoint: "http://127.0.0.1:9" }, progress: false }), /cannot reach http:\/\/127\.0\.0\.1:9/);
});

test("a renamed repo: the hub's relative redirects are followed (API and resolve route), the cache keeps the asked name", async () => {
  await hubReady;
  const cache = tempDir();
  await hub.requests();
  const r = await downloadSnapshot(parseHubId("old-owner/tiny", "model"), { env: testEnv(cache, { endpoint: hub.endpoint }), progress: false });
  assert.equal(r.dir, join(cache, "models--old-owner--tiny", "snapshots", C1));
  assert.deepEqual(readFileSync(join(r.dir, "model.safetensors")), weights);
  const reqs = await hub.requests();
  assert.ok(reqs.some(q => q.method === "HEAD" && q.path === `/old-owner/tiny/resolve/${C1}/config.json`));
  assert.ok(reqs.some(q => q.method === "HEAD" && q.path === `/acme/tiny/resolve/${C1}/config.json`), "307 → same host, followed");
});

test("a dataset: the Parquet files of one config (and split), plus README.md; resolved offline afterwards", async () => {
  await hubReady;
  const cache = tempDir();
  const env = testEnv(cache, { endpoint: hub.endpoint });
  const r = await fetchToCache("openai/gsm8k:main", "dataset", { env, progress: false });
  assert.deepEqual(r.files.sort(), ["README.md", "main/test-00000-of-00001.parquet", "main/train-00000-of-00001.parquet"]);
  assert.equal(r.dir, join(cache, "datasets--openai--gsm8k", "snapshots", D1));
  assert.equal(readFileSync(join(r.dir, "main/train-00000-of-00001.parquet"), "utf8"), "PAR1 main train");
  const off = resolveDatasetPath("openai/gsm8k:main", { env: { ...env, offline: true }, split: "test" });
  assert.equal(off.path, r.dir);
  const s = await fetchToCache("openai/gsm8k", "dataset", { env, progress: false, config: "socratic", split: "train" });
  assert.deepEqual(s.files, ["README.md", "socratic/train-00000-of-00001.parquet"]);
  await assert.rejects(fetchToCache("openai/gsm8k:nope", "dataset", { env, progress: false }), /no data files for config "nope".*configs: main, socratic/);
});

test("a dataset card's configs: (README.md) decide the files of a config and split, as load_dataset reads them", async () => {
  await hubReady;
  const env = testEnv(tempDir(), { endpoint: hub.endpoint });
  const r = await fetchToCache("acme/chats", "dataset", { env, progress: false, split: "train_sft" });
  assert.deepEqual(r.files, ["README.md", "data/train_sft-00000-of-00001.parquet"]);
  const all = await fetchToCache("acme/chats:default", "dataset", { env, progress: false });
  assert.deepEqual(all.files.sort(), ["README.md", "data/test_sft-00000-of-00001.parquet", "data/train_sft-00000-of-00001.parquet"], "no split: every split of the config, not other/");
  await assert.rejects(fetchToCache("acme/chats:other", "dataset", { env, progress: false }), /the dataset card \(README\.md\) names no data files for config "other"; its configs: default/);
});

test("prefetchRecipeDatasets: a recipe's hub datasets (split and eval_split) are fetched before the run; paths untouched", async () => {
  await hubReady;
  const cache = tempDir();
  const env = testEnv(cache, { endpoint: hub.endpoint });
  prefetchRecipeDatasets({ dataset: { path: "openai/gsm8k", config: "main", eval_split: "test" }, stages: [{ config: { dataset: "openai/gsm8k:socratic" } }] }, { env });
  const snap = join(cache, "datasets--openai--gsm8k", "snapshots", D1);
  for (const f of ["main/train-00000-of-00001.parquet", "main/test-00000-of-00001.parquet", "socratic/train-00000-of-00001.parquet"]) assert.ok(existsSync(join(snap, f)), f);
  assert.throws(() => prefetchRecipeDatasets({ dataset: "acme/no-such-data" }, { env }), HubNotFoundError, "fails before a run directory exists");
  prefetchRecipeDatasets({ dataset: { path: "data/local.jsonl" }, model: "x" }, { env: testEnv(tempDir()) }); // no id: nothing asked of the (closed) endpoint
});

test("a file list naming a path outside the snapshot is refused before anything is written", async () => {
  await hubReady;
  const cache = tempDir();
  await assert.rejects(downloadSnapshot(parseHubId("evil/ds", "dataset"), { env: testEnv(cache, { endpoint: hub.endpoint }), progress: false }), /"main\/\.\.\/\.\.\/escape\.parquet" that is not a plain relative path/);
  assert.ok(!existsSync(join(cache, "escape.parquet")) && !existsSync(join(cache, "datasets--evil--ds", "escape.parquet")));
});

test("synchronous resolution downloads on first use (in a worker thread) and is offline afterwards", async () => {
  await hubReady;
  const cache = tempDir();
  const env = testEnv(cache, { endpoint: hub.endpoint });
  const dir = resolveModelPath("acme/sync", { env, baseDir: tempDir() });
  assert.equal(dir, join(cache, "models--acme--sync", "snapshots", C2));
  assert.deepEqual(readFileSync(join(dir, "model.safetensors")), shard2);
  assert.ok(statSync(join(cache, "models--acme--sync", "refs", "main")).isFile());
  assert.throws(() => resolveModelPath("meta/gated", { env }), (e: Error) => e instanceof HubGatedError && /accept the licence/.test(e.message), "named errors cross the thread");
  const ds = resolveDatasetPath("openai/gsm8k:socratic", { env, split: "train" });
  assert.equal(readFileSync(join(ds.path, "socratic/train-00000-of-00001.parquet"), "utf8"), "PAR1 socratic train");
});
