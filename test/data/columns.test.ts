import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadDataset } from "../../src/data/dataset.js";
import { boxedAnswer, extractAnswer, gsm8kAnswer } from "../../src/data/answers.js";
import { mathReward } from "../../src/rewards/math.js";
import { countdownReward } from "../../src/rewards/countdown.js";
import { GSM8K_ROWS, MATH_ROWS, tempDir, writeJsonl, writeParquet } from "./write.js";

test("extractors on real-format rows: GSM8K #### n, MATH \\boxed{} with nested braces", () => {
  assert.deepEqual(GSM8K_ROWS.map(r => gsm8kAnswer(r.answer)), ["72", "10", "5", "1600"]);
  assert.equal(gsm8kAnswer("… so she has $18 left.\n#### $18"), "18");
  assert.equal(gsm8kAnswer("#### -3.5"), "-3.5");
  assert.equal(gsm8kAnswer("no marker"), undefined);
  assert.deepEqual(MATH_ROWS.map(r => boxedAnswer(r.solution)), MATH_ROWS.map(r => r.reference));
  assert.equal(boxedAnswer("First $\\boxed{1}$ is wrong; the answer is $\\boxed{\\left(3, \\frac{\\pi}{2}\\right)}$."), "\\left(3, \\frac{\\pi}{2}\\right)");
  assert.equal(boxedAnswer("The answer is $\\boxed 5$."), "5");
  assert.equal(boxedAnswer("\\fbox{x^2}"), "x^2");
  assert.equal(extractAnswer("  42 ", "auto"), "42");
  assert.equal(extractAnswer("It is 42.", "auto", true), undefined);
  assert.equal(extractAnswer("x\n#### 7", "none"), "x\n#### 7");
  // the reduced gold is what the math reward compares
  for (const r of MATH_ROWS) assert.equal(mathReward(`\\boxed{${boxedAnswer(r.solution)}}`, { answer: boxedAnswer(r.solution) }), 1);
});

test("answer precedence: an answer column wins over a solution column (MATH-500 rows carry both)", () => {
  const dir = tempDir();
  const { train } = loadDataset(writeJsonl(join(dir, "m500.jsonl"), [{ problem: "p", solution: "long… \\boxed{\\frac{1}{2}}", answer: "\\frac12" }, { problem: "q", solution: "… \\boxed{3}" }]));
  assert.deepEqual(train.map(e => e.answer), ["\\frac12", "3"]);
});

test("columns: rename any column, reach into a struct with a dotted path, ignore one with null", () => {
  const dir = tempDir();
  const f = writeJsonl(join(dir, "d.jsonl"), [
    { query: "What is 6*7?", meta: { gold: "42", source: "mine" }, answer: "not this one", id: 0 },
  ]);
  const { train } = loadDataset({ path: f, columns: { question: "query", answer: "meta.gold", data_source: "meta.source", id: null } });
  assert.deepEqual(train[0], { id: "data:What is 6*7?", question: "What is 6*7?", answer: "42", data_source: "mine" });
  // Parquet: renamed string columns
  const p = writeParquet(join(dir, "d.parquet"), { instruction: ["Say 1."], output: ["1"] });
  assert.deepEqual(loadDataset({ path: p, columns: { prompt: "instruction", answer: "output" } }).train[0].question, "Say 1.");
});

test("template and system_prompt build the chat the model sees; question stays the bare problem", () => {
  const dir = tempDir();
  const f = writeJsonl(join(dir, "d.jsonl"), [
    { question: "What is 2+2?", answer: "4", unit: "apples" },
    { prompt: [{ role: "system", content: "own system" }, { role: "user", content: "3+3?" }], answer: "6", unit: "pears" },
  ]);
  const { train } = loadDataset({ path: f, template: "{question} Count {unit}. Put the answer in \\boxed{} ({{braces}}) \\text{question}.", system_prompt: "Think first." });
  assert.deepEqual(train[0].messages, [
    { role: "system", content: "Think first." },
    { role: "user", content: "What is 2+2? Count apples. Put the answer in \\boxed{} ({braces}) \\text{question}." },
  ]);
  assert.equal(train[0].question, "What is 2+2?");
  assert.equal(train[0].id, "data:What is 2+2?"); // ids do not depend on the template
  // a row's own system turn is kept; the template applies to its last user turn
  assert.deepEqual(train[1].messages, [
    { role: "system", content: "own system" },
    { role: "user", content: "3+3? Count pears. Put the answer in \\boxed{} ({braces}) \\text{question}." },
  ]);
  // system_prompt alone
  assert.deepEqual(loadDataset({ path: f, system_prompt: "S" }).train[0].messages, [{ role: "system", content: "S" }, { role: "user", content: "What is 2+2?" }]);
  // neither: plain rows keep no messages (tiny models render the bare question)
  assert.equal(loadDataset(f).train[0].messages, undefined);
});

test("chat content given as OpenAI parts [{type: text, text}] is joined", () => {
  const dir = tempDir();
  const { train } = loadDataset(writeJsonl(join(dir, "d.jsonl"), [{ messages: [{ role: "user", content: [{ type: "text", text: "2+" }, { type: "text", text: "2?" }] }], answer: "4" }]));
  assert.equal(train[0].question, "2+2?");
});

test("a chat list stored as JSON text in a string column (json.dumps) is read as the chat list", () => {
  const dir = tempDir();
  const chat = [{ role: "system", content: "s" }, { role: "user", content: "[1, 2] sum?" }];
  const f = writeParquet(join(dir, "d.parquet"), { prompt: [JSON.stringify(chat), "[1, 2] sum?"], answer: ["3", "3"] });
  const { train } = loadDataset(f);
  assert.deepEqual(train[0].messages, chat);
  assert.equal(train[1].messages, undefined); // a text prompt that merely starts with "[" stays text
  assert.equal(train[1].question, "[1, 2] sum?");
});

test("rows without a prompt column (Jiayi-Pan/Countdown-Tasks-3to4: target, nums) take their prompt from a template of columns", () => {
  const dir = tempDir();
  const f = join(dir, "countdown.jsonl");
  writeJsonl(f, [{ target: 16, nums: [3, 5, 2] }, { target: 24, nums: [4, 6] }]);
  const template = "Using the numbers [{nums}], create an equation that equals {target}.";
  const { train } = loadDataset({ path: f, template, system_prompt: "Think first." });
  assert.equal(train[0].question, "Using the numbers [3, 5, 2], create an equation that equals 16.");
  assert.deepEqual(train[0].messages, [{ role: "system", content: "Think first." }, { role: "user", content: train[0].question }]);
  assert.deepEqual([train[1].numbers, train[1].target], [[4, 6], 24]);
  assert.equal(train[1].id, "data:Using the numbers [4, 6], create an equation that equals 24.");
  assert.equal(countdownReward("<think>…</think><answer>(3 + 5) * 2</answer>", train[0]), 1);
  assert.throws(() => loadDataset({ path: f, template: "{question} from {nums}" }), /line 1: the template uses \{question\} and the row has no prompt column/);
});
