import { test } from "node:test";
import assert from "node:assert/strict";
import { languageConsistencyReward } from "../../src/rewards/language.js";
import { makeCosineScaledReward, makeOverlongReward, makeRepetitionPenalty } from "../../src/rewards/length.js";

test("language consistency: share of thought words in the target script", () => {
  assert.equal(languageConsistencyReward("<think>add the two numbers</think><answer>4</answer>", { language: "en" }), 1);
  assert.equal(languageConsistencyReward("<think>先 add 两个 numbers</think>", { language: "en" }), 0.4);
  assert.equal(languageConsistencyReward("<think>先 add 两个 numbers</think>", { language: "zh" }), 0.6);
  assert.equal(languageConsistencyReward("<think>считаем сумму</think>", { language: "ru" }), 1);
  assert.equal(languageConsistencyReward("<think>1 + 2 = 3</think>", { language: "en" }), null);
  assert.equal(languageConsistencyReward("<think>x</think>", { language: "xx" }), null);
  // only the thought counts, not the answer
  assert.equal(languageConsistencyReward("<think>think in English</think><answer>答案</answer>", { language: "en" }), 1);
});

test("cosine scaling matches open-r1's formula", () => {
  const cos = makeCosineScaledReward({ max_len: 1000 });
  const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(cos("\\boxed{4}", { answer: "4", completion_length: 0 }), 1);
  close(cos("\\boxed{4}", { answer: "4", completion_length: 500 }), 0.75);
  close(cos("\\boxed{4}", { answer: "4", completion_length: 1000 }), 0.5);
  close(cos("\\boxed{5}", { answer: "4", completion_length: 0 }), -1);
  close(cos("\\boxed{5}", { answer: "4", completion_length: 1000 }), -0.5);
  close(cos("\\boxed{5}", { answer: "4", completion_length: 5000 }), -0.5);
  assert.equal(cos("\\boxed{5}", { answer: "" }), null);
});

test("DAPO soft overlong punishment", () => {
  const o = makeOverlongReward({ max_completion_length: 1024, overlong_buffer: 256 });
  assert.equal(o("", { completion_length: 700 }), 0);
  assert.equal(o("", { completion_length: 768 }), 0);
  assert.equal(o("", { completion_length: 896 }), -0.5);
  assert.equal(o("", { completion_length: 1024 }), -1);
  assert.equal(o("", { completion_length: 2000 }), -1);
  assert.equal(o("x".repeat(896), {}), -0.5);
  assert.throws(() => makeOverlongReward({ max_completion_lenght: 5 } as never), /max_completion_lenght/);
});

test("n-gram repetition penalty", () => {
  const rep = makeRepetitionPenalty({ ngram_size: 3, max_penalty: -1 });
  assert.equal(rep("a b c d", {}), 0);
  assert.equal(rep("a b a b a b", {}), -0.5);
  assert.equal(rep("A b A B a b", {}), -0.5);
  assert.equal(rep("a b", {}), 0);
});
