import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startRewardServer, type RewardServer } from "../../src/reward-server/server.js";
import { scoreBatch } from "../../src/rewards/registry.js";
import { openRlhfBatch } from "./cases.js";

let server: RewardServer;
before(async () => { server = await startRewardServer({ rewards: [{ name: "r1_math", weight: 1 }, { name: "format", weight: 0.5 }], port: 0, maxBodyBytes: 1 << 20 }); });
after(() => server.close());

const post = (path: string, body: unknown) =>
  fetch(server.url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

/** Runs a Python script without blocking this event loop (the server under test shares it). */
function python(script: string, args: string[], input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    const child = spawn("/usr/bin/python3", ["-c", script, ...args]);
    let stdout = "", stderr = "";
    child.stdout.on("data", d => (stdout += d));
    child.stderr.on("data", d => (stderr += d));
    child.on("close", status => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** What the server must answer, from direct scoreBatch calls on the plain responses (null → 0). */
async function expected(responses: string[], examples: Array<Record<string, unknown>>) {
  const math = await scoreBatch("r1_math", responses, examples);
  const format = await scoreBatch("format", responses, examples);
  const total = math.map((m, i) => (m === null && format[i] === null ? null : (m ?? 0) + 0.5 * (format[i] ?? 0)));
  return {
    rewards: total.map(v => v ?? 0), scores: math.map(v => v ?? 0),
    extra_logs: { r1_math: math.map(v => v ?? 0), format: format.map(v => v ?? 0), unjudged: total.map(v => (v === null ? 1 : 0)) },
  };
}

test("an OpenRLHF request sent the way its client sends it (Python requests.post(json=...)) gets the verifiers' values", async () => {
  const b = openRlhfBatch(12);
  // OpenRLHF's request_api_wrapper: requests.post(url, json={"query", "prompts", "labels"}, headers=JSON, timeout=180)
  const py = `import json, sys, requests
data = json.load(sys.stdin)
r = requests.post(url=sys.argv[1], json=data, headers={"Content-Type": "application/json"}, timeout=180)
r.raise_for_status()
print(json.dumps(r.json()))`;
  const r = await python(py, [server.url + "/get_reward"], JSON.stringify({ query: b.query, prompts: b.prompts, labels: b.labels }));
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const want = await expected(b.responses, b.examples);
  assert.deepEqual(got, want);
  // the batch is not trivial: right, wrong, unformatted and unjudgeable samples are all in it
  assert.ok(want.scores.includes(1) && want.scores.includes(0) && want.extra_logs.format.includes(0));
  assert.ok((await scoreBatch("r1_math", b.responses, b.examples)).includes(null));
});

test("POST / answers like /get_reward; a query without prompts is judged whole", async () => {
  const b = openRlhfBatch(6, 3);
  const res = await post("/", { query: b.query, prompts: b.prompts, labels: b.labels });
  assert.deepEqual(await res.json(), await expected(b.responses, b.examples));
  const bare = await (await post("/get_reward", { query: ["<think>t</think><answer>4</answer>"], labels: ["4"] })).json();
  assert.deepEqual(bare.rewards, [1.5]);
});

test("JSON object labels carry whole examples: a code label runs the program in the sandbox", async () => {
  const prompt = "<|im_start|>user\nWrite add.<|im_end|>\n<|im_start|>assistant\n";
  const responses = ["<think>easy</think><answer>```python\ndef add(a, b):\n    return a + b\n```</answer>", "<think>oops</think><answer>```python\ndef add(a, b):\n    return a - b\n```</answer>"];
  const label = JSON.stringify({ tests: ["assert add(1, 2) == 3", "assert add(2, 2) == 4"] });
  const code = await startRewardServer({ rewards: [{ name: "code", weight: 1 }], port: 0 });
  try {
    const res = await fetch(code.url + "/get_reward", { method: "POST", body: JSON.stringify({ query: responses.map(r => prompt + r + "<|im_end|>"), prompts: [prompt, prompt], labels: [label, label] }) });
    const got = await res.json();
    const direct = await scoreBatch("code", responses, [JSON.parse(label), JSON.parse(label)]);
    assert.deepEqual(got.rewards, direct);
    assert.deepEqual(direct, [1, 0]);
  } finally { await code.close(); }
});

test("POST /score: named and weighted rewards per request, nulls kept, values equal to scoreBatch", async () => {
  const b = openRlhfBatch(6);
  const items = b.responses.map((completion, i) => ({ completion, ...b.examples[i] }));
  const got = await (await post("/score", { rewards: ["math", { name: "format", weight: 2 }], items })).json();
  const math = await scoreBatch("math", b.responses, b.examples), format = await scoreBatch("format", b.responses, b.examples);
  assert.deepEqual(got.columns, { math, format });
  assert.deepEqual(got.rewards, math.map((m, i) => (m === null && format[i] === null ? null : (m ?? 0) + 2 * (format[i] ?? 0))));
  assert.ok(math.includes(null));
  // without `rewards` the server's own list applies
  const dflt = await (await post("/score", { items })).json();
  assert.deepEqual(Object.keys(dflt.columns), ["r1_math", "format"]);
});

test("malformed input gets a clean 400 that says what is wrong, and the server keeps serving", async () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ["/get_reward", "{not json", /not JSON/],
    ["/get_reward", { prompts: ["p"] }, /query/],
    ["/get_reward", { query: [1, 2] }, /query\.0/],
    ["/get_reward", { query: [] }, /query/],
    ["/get_reward", { query: ["a", "b"], labels: ["1"] }, /labels: has 1 entries but query has 2/],
    ["/get_reward", [1, 2], /body/],
    ["/score", { items: [{ answer: "1" }] }, /items\.0\.completion/],
    ["/score", { items: [{ completion: "x" }], extra: 1 }, /extra|Unrecognized/i],
    ["/score", { rewards: ["nope"], items: [{ completion: "x" }] }, /unknown reward "nope"/],
    ["/score", { rewards: [{ name: "math", weight: "heavy" }], items: [{ completion: "x" }] }, /rewards/],
  ];
  for (const [path, body, message] of cases) {
    const res = await post(path, body);
    assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
    const err = (await res.json()).error;
    assert.match(err.message, message, `${path} ${JSON.stringify(body)}: ${err.message}`);
  }
  // sent with Python requests: fetch (undici) reports the early 413 as a failed upload instead
  const big = await python(`import sys, requests
r = requests.post(sys.argv[1], json={"query": ["x" * (2 << 20)]})
print(r.status_code, r.json()["error"]["message"])`, [server.url + "/get_reward"], "");
  assert.match(big.stdout, /^413 .*--max-body-mb/);
  assert.equal((await post("/nowhere", {})).status, 404);
  const ok = await post("/get_reward", { query: ["<answer>1</answer>"], labels: ["1"] });
  assert.equal(ok.status, 200);
});

test("a full queue answers 429 with Retry-After instead of growing without bound", async () => {
  const slow = await startRewardServer({ rewards: [{ name: "code", weight: 1 }], port: 0, concurrency: 1, queue: 0 });
  try {
    const sleeper = { query: ["```python\nimport time\ntime.sleep(1.5)\n```"], labels: [JSON.stringify({ tests: ["assert True"] })] };
    const first = fetch(slow.url + "/get_reward", { method: "POST", body: JSON.stringify(sleeper) });
    while (slow.stats().running === 0) await new Promise(r => setTimeout(r, 10));
    const second = await fetch(slow.url + "/get_reward", { method: "POST", body: JSON.stringify({ query: ["x"] }) });
    assert.equal(second.status, 429);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.match((await second.json()).error.message, /--queue/);
    assert.deepEqual((await (await first).json()).rewards, [1]);
    assert.equal(slow.stats().refused, 1);
  } finally { await slow.close(); }
});
