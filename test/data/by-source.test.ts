// A mixed file — math rows, countdown rows, code rows with tests — scored row by row with the verifier its
// data_source maps to (the by_source reward).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../../src/data/dataset.js";
import { getReward, scoreBatch } from "../../src/rewards/registry.js";
import { tempDir, writeJsonl } from "./write.js";

const ROWS = [
  { data_source: "openai/gsm8k", prompt: [{ role: "user", content: "Natalia sold 48 clips in April and half as many in May. How many in all?" }], ability: "math", reward_model: { style: "rule", ground_truth: "72" } },
  { data_source: "countdown", prompt: "Using the numbers [3, 5, 2], create an equation that equals 16.", reward_model: { style: "rule", ground_truth: { target: 16, numbers: [3, 5, 2] } } },
  { data_source: "tinyzero", prompt: "Using the numbers [4, 6], create an equation that equals 24.", nums: [4, 6], target: 24 },
  { data_source: "mine/js", question: "Write sq(x) returning x squared.", tests: ["if (sq(3) !== 9) throw new Error('sq(3)')", "if (sq(-2) !== 4) throw new Error('sq(-2)')"], language: "javascript" },
  { data_source: "mine/py", question: "Write add(a, b).", reward_model: { ground_truth: JSON.stringify({ inputs: ["1 2\n", "5 5\n"], outputs: ["3\n", "10\n"] }) } },
];

test("a mixed file: math, countdown (verl's struct and TinyZero's columns) and code rows, each scored by its own verifier", async () => {
  const f = writeJsonl(join(tempDir(), "mixed.jsonl"), ROWS);
  const { train } = loadDataset({ path: f, reward_by_source: { tinyzero: "countdown", "mine/js": "code", "mine/py": "code" } });
  assert.deepEqual(train.map(e => e.verifier), ["math", "countdown", "countdown", "code", "code"]);
  assert.deepEqual([train[1].numbers, train[1].target], [[3, 5, 2], 16]);
  assert.deepEqual([train[2].numbers, train[2].target], [[4, 6], 24]);
  assert.deepEqual(train[4].tests, [{ input: "1 2\n", output: "3\n" }, { input: "5 5\n", output: "10\n" }]);

  const right = [
    "<think>48 + 24</think><answer>72</answer>",
    "<think>…</think><answer>(3 + 5) * 2</answer>",
    "<think>…</think><answer>4 * 6</answer>",
    "```js\nfunction sq(x) { return x * x }\n```",
    "```python\na, b = map(int, input().split())\nprint(a + b)\n```",
  ];
  const wrong = [
    "<think>…</think><answer>71</answer>",
    "<think>…</think><answer>3 + 5 + 2</answer>",
    "<think>…</think><answer>72</answer>", // the math row's answer, on a countdown row
    "```js\nfunction sq(x) { return Math.abs(x) * 2 }\n```",
    "```python\nprint(3)\n```",
  ];
  const good = await scoreBatch("by_source", right, train);
  assert.deepEqual(good, [1, 1, 1, 1, 1]);
  const bad = await scoreBatch("by_source", wrong, train);
  assert.equal(bad[0], 0);
  assert.equal(bad[1], 0.1); // TinyZero: a wrong equation in <answer> earns the format score
  assert.equal(bad[2], 0.1); // "72" is no countdown solution: the format score only
  assert.equal(bad[3], 0.5); // |x|·2: sq(3) = 6 fails, sq(-2) = 4 passes
  assert.equal(bad[4], 0.5); // prints 3: right for "1 2", wrong for "5 5"
});

test("by_source without reward_by_source: verl's data_source names; a row with no known source is null (cannot judge)", async () => {
  const by = getReward("by_source");
  assert.equal(await by.call("<answer>72</answer>", { data_source: "openai/gsm8k", answer: "72" }), 1);
  assert.equal(await by.call("<answer>(3+5)*2</answer>", { data_source: "countdown", numbers: [3, 5, 2], target: 16 }), 1);
  assert.equal(await by.call("<answer>72</answer>", { data_source: "numina_olympiads", answer: "72" }), 1);
  assert.equal(await by.call("<answer>72</answer>", { data_source: "aime_2024", answer: "72" }), 1);
  assert.equal(await by.call("<answer>72</answer>", { data_source: "somewhere/else", answer: "72" }), null);
  assert.equal(await by.call("<answer>72</answer>", { data_source: "toString", answer: "72" }), null); // not an inherited key
  assert.equal(await by.call("<answer>72</answer>", { answer: "72" }), null);
  assert.equal(await by.call("<answer>72</answer>", { verifier: "no_such_reward", answer: "72" }), null); // never throws
  assert.equal(await by.call("<answer>72</answer>", { verifier: "by_source", answer: "72" }), null); // no recursion
});
