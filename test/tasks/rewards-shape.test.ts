import { test } from "node:test";
import assert from "node:assert/strict";
import { makeTask, distinctExamples, chainDerivation, withPrefill } from "../../src/tasks/index.js";
import { parseChain } from "../../src/tasks/arithmetic.js";
import { mathReward } from "../../src/rewards/math.js";
import { countdownReward } from "../../src/rewards/countdown.js";
import { r1FormatReward } from "../../src/rewards/format.js";

// The examples and the documented completion shape, judged by the rewards library (written separately).
test("arithmetic examples: the documented well-formed completion earns format 1 and accuracy 1; a wrong number 0", () => {
  for (const ex of distinctExamples(makeTask({ type: "arithmetic" }), 4, 100)) {
    const derivation = chainDerivation(parseChain(ex.question.replace("=?", "")));
    const good = withPrefill(`${derivation}</think><answer>${ex.answer}</answer>`);
    assert.equal(r1FormatReward(good, ex), 1, good);
    assert.equal(mathReward(good, ex), 1, good);
    assert.equal(mathReward(withPrefill(`${derivation}</think><answer>${Number(ex.answer) + 1}</answer>`), ex), 0);
  }
});

test("countdown examples: the gold equation inside <answer> earns countdownReward 1", () => {
  for (const ex of distinctExamples(makeTask({ type: "countdown" }), 4, 200)) {
    assert.equal(countdownReward(withPrefill(`search</think><answer>${ex.answer}</answer>`), ex), 1, `${ex.question} ${ex.answer}`);
  }
});
