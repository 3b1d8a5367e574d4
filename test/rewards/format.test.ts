import { test } from "node:test";
import assert from "node:assert/strict";
import { r1FormatReward, r1StrictFormatReward, tagCountReward, thinkFormatReward } from "../../src/rewards/format.js";

const good = "<think>\n2+2 is 4\n</think>\n<answer>\n4\n</answer>";

test("strict R1 format needs the exact layout and a non-empty answer", () => {
  assert.equal(r1StrictFormatReward(good, {}), 1);
  assert.equal(r1StrictFormatReward(good + "\n", {}), 1);
  assert.equal(r1StrictFormatReward("<think>2+2 is 4</think><answer>4</answer>", {}), 0);
  assert.equal(r1StrictFormatReward("<think>\nx\n</think>\n<answer>\n \n</answer>", {}), 0);
  assert.equal(r1StrictFormatReward("intro " + good, {}), 0);
});

test("lenient R1 format: order, single tags, nothing after </answer>, non-empty answer", () => {
  assert.equal(r1FormatReward("<think>a</think> <answer>4</answer>", {}), 1);
  assert.equal(r1FormatReward("  <think>a</think>\n\n<answer>4</answer>\n", {}), 1);
  assert.equal(r1FormatReward("<think>a</think><answer></answer>", {}), 0);
  assert.equal(r1FormatReward("<think>a</think><answer>  </answer>", {}), 0);
  assert.equal(r1FormatReward("<answer>4</answer><think>a</think>", {}), 0);
  assert.equal(r1FormatReward("<think>a<think>b</think></think><answer>4</answer>", {}), 0);
  assert.equal(r1FormatReward("<think>a</think><answer>4</answer><answer>5</answer>", {}), 0);
  assert.equal(r1FormatReward("<think>a</think> chatter <answer>4</answer>", {}), 0);
  assert.equal(r1FormatReward("<think>a</think><answer>4</answer> trailing", {}), 0);
});

test("think_format (TRL): starts with one closed <think>", () => {
  assert.equal(thinkFormatReward("<think>\nhmm\n</think>\nThe answer is 4.", {}), 1);
  assert.equal(thinkFormatReward("The answer is 4.", {}), 0);
  assert.equal(thinkFormatReward("<think>a</think><think>b</think>", {}), 0);
  assert.equal(thinkFormatReward("<think>never closed", {}), 0);
});

test("tag count gives 0.25 per tag, answer credit only for a non-empty answer", () => {
  assert.equal(tagCountReward(good, {}), 1);
  assert.equal(tagCountReward("<think>\nx\n</think>\nno answer tags", {}), 0.5);
  assert.equal(tagCountReward("<think>\nx\n</think>\n<answer>\n\n</answer>", {}), 0.5);
  assert.equal(tagCountReward("<think>\n<think>\nx\n</think>\n", {}), 0.25);
  assert.equal(tagCountReward("", {}), 0);
});
