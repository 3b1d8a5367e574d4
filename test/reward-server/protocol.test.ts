import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_STRIP_TOKENS, labelExample, parseRewardList, responseOf, RewardListError } from "../../src/reward-server/protocol.js";
import { Admission, QueueFullError } from "../../src/reward-server/admission.js";

test("responseOf cuts the prompt (after any left padding) and trailing end/padding tokens", () => {
  const prompt = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n";
  assert.deepEqual(responseOf(`<|endoftext|><|endoftext|>${prompt}<answer>5</answer><|im_end|><|endoftext|>`, prompt, DEFAULT_STRIP_TOKENS),
    { response: "<answer>5</answer>", promptFound: true });
  // the prompt text may recur in the response: only its first occurrence is the prompt
  assert.equal(responseOf(`${prompt}say ${prompt}`, prompt, []).response, `say ${prompt}`);
  assert.deepEqual(responseOf("no prompt here</s>", "other", DEFAULT_STRIP_TOKENS), { response: "no prompt here", promptFound: false });
  // an over-long prompt OpenRLHF cut from the left: found by its end
  const long = "context ".repeat(100) + prompt;
  assert.deepEqual(responseOf(long.slice(300) + "<answer>7</answer>", long, DEFAULT_STRIP_TOKENS), { response: "<answer>7</answer>", promptFound: true });
  assert.deepEqual(responseOf("whole query", undefined, []), { response: "whole query", promptFound: false });
});

test("labelExample: a JSON object label is the example, anything else the answer", () => {
  assert.deepEqual(labelExample('{"tests": ["assert f() == 1"], "language": "python"}'), { tests: ["assert f() == 1"], language: "python" });
  assert.deepEqual(labelExample("5"), { answer: "5" });
  assert.deepEqual(labelExample("{not json"), { answer: "{not json" });
  assert.deepEqual(labelExample(7), { answer: "7" });
  assert.deepEqual(labelExample({ nums: [1, 2], target: 3 }), { nums: [1, 2], target: 3 });
  assert.deepEqual(labelExample(null), {});
});

test("parseRewardList reads NAME and NAME:WEIGHT and refuses a bad weight", () => {
  assert.deepEqual(parseRewardList("r1_math, format:0.5"), [{ name: "r1_math", weight: 1 }, { name: "format", weight: 0.5 }]);
  assert.throws(() => parseRewardList("math:x"), RewardListError);
  assert.throws(() => parseRewardList(" , "), RewardListError);
});

test("Admission runs at most `concurrency` jobs, queues `queue` more and refuses the rest", async () => {
  const adm = new Admission(2, 1);
  let live = 0, peak = 0;
  const gates: Array<() => void> = [];
  const job = () => adm.run(async () => {
    live++; peak = Math.max(peak, live);
    await new Promise<void>(r => gates.push(r));
    live--;
    return "done";
  });
  const running = [job(), job(), job()];
  await new Promise(r => setImmediate(r));
  assert.deepEqual({ ...adm.stats(), served: 0 }, { running: 2, waiting: 1, served: 0, refused: 0 });
  await assert.rejects(job(), QueueFullError);
  while (gates.length) { gates.shift()!(); await new Promise(r => setImmediate(r)); }
  assert.deepEqual(await Promise.all(running), ["done", "done", "done"]);
  assert.equal(peak, 2);
  assert.deepEqual(adm.stats(), { running: 0, waiting: 0, served: 3, refused: 1 });
});
