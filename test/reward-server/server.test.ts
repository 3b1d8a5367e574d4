import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { startRewardServer, type RewardServer } from "../../src/reward-server/server.js";
import { scoreBatch } from "../../src/rewards/registry.js";
import { openRlhfBatch } from "./cases.js";
import { REQUESTS_VERSION, requestsPost, requestsPostBytes } from "./requests-wire.js";

let server: RewardServer;
before(async () => { server = await startRewardServer({ rewards: [{ name: "r1_math", weight: 1 }, { name: "format", weight: 0.5 }], port: 0, maxBodyBytes: 1 << 20 }); });
after(() => server.close());

const post = (path: string, body: unknown) =>
  fetch(server.url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

/** The batch of the OpenRLHF tests, plus a sample outside ASCII (json.dumps escapes it, surrogate pairs and all). */
function openRlhfRequest() {
  const b = openRlhfBatch(12);
  const prompt = b.prompts[0].replace(/What is [^?]*\?/, "What is 2 × 2? 🙂"), text = "<think>2 × 2 = 4 ✓ — done</think><answer>4</answer>";
  b.query.push(prompt + text + "<|im_end|>"); b.prompts.push(prompt); b.labels.push("4"); b.responses.push(text); b.examples.push({ answer: "4" });
  return b;
}

const REQUESTS_SKIP = spawnSync("/usr/bin/python3", ["-c", "import requests"]).status === 0 ? false
  : "/usr/bin/python3 cannot import requests (apt-get install python3-requests; .ci/run installs it), so the emulated bytes are not compared with the real client here";

/** Runs a Python script without blocking this event loop (a server under test may share it). */
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

test("an OpenRLHF request sent the way its client sends it (Python requests.post(json=...)'s bytes) gets the verifiers' values", async () => {
  const b = openRlhfRequest();
  // OpenRLHF's request_api_wrapper: requests.post(url, json={"query", "prompts", "labels"}, headers=JSON, timeout=180)
  const r = await requestsPost(server.url + "/get_reward", { query: b.query, prompts: b.prompts, labels: b.labels });
  assert.equal(r.status, 200, r.body);
  assert.match(r.headers["content-type"], /^application\/json/);
  const want = await expected(b.responses, b.examples);
  assert.deepEqual(JSON.parse(r.body), want);
  // the batch is not trivial: right, wrong, unformatted and unjudgeable samples are all in it, and text outside ASCII
  assert.ok(want.scores.includes(1) && want.scores.includes(0) && want.extra_logs.format.includes(0));
  assert.ok((await scoreBatch("r1_math", b.responses, b.examples)).includes(null));
  assert.equal(want.scores.at(-1), 1);
  assert.match(requestsPostBytes(server.url, { query: b.query }).toString("latin1"), /\\u00d7.*\\ud83d\\ude42/);
});

test("the emulated bytes are the bytes Python requests.post(json=...) sends", { skip: REQUESTS_SKIP }, async () => {
  const b = openRlhfRequest();
  const data = { query: b.query, prompts: b.prompts, labels: b.labels, n: 1.5, tiny: 1e-7, none: null, flag: true, nested: { "ключ": [] } };
  // a bare TCP listener records what the real client writes, up to the end of its body
  let received = Buffer.alloc(0);
  let gotAll!: () => void;
  const complete = new Promise<void>(resolve => (gotAll = resolve));
  const sink = createServer(socket => socket.on("data", d => {
    received = Buffer.concat([received, d]);
    const head = received.indexOf("\r\n\r\n");
    const length = Number(/content-length: (\d+)/i.exec(received.subarray(0, Math.max(head, 0)).toString("latin1"))?.[1] ?? -1);
    if (head >= 0 && received.length >= head + 4 + length) {
      socket.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
      gotAll();
    }
  }));
  await new Promise<void>(resolve => sink.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/get_reward`;
    const r = await python(`import json, sys, requests
data = json.load(sys.stdin)
r = requests.post(url=sys.argv[1], json=data, headers={"Content-Type": "application/json"}, timeout=180)
r.raise_for_status()
print(requests.__version__)`, [url], JSON.stringify(data));
    assert.equal(r.status, 0, r.stderr);
    await complete;
    const mine = requestsPostBytes(url, data).toString("latin1").replace(`python-requests/${REQUESTS_VERSION}`, `python-requests/${r.stdout.trim()}`);
    // urllib3 adds ", br" to Accept-Encoding when brotli is importable; the server ignores the header
    assert.equal(received.toString("latin1").replace(/^(Accept-Encoding: gzip, deflate).*$/m, "$1"), mine);
  } finally { sink.close(); }
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
  // sent as Python requests sends it: fetch (undici) reports the early 413 as a failed upload instead
  const big = await requestsPost(server.url + "/get_reward", { query: ["x".repeat(2 << 20)] });
  assert.equal(big.status, 413);
  assert.match(JSON.parse(big.body).error.message, /--max-body-mb/);
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
