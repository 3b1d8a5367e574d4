import { test } from "node:test";
import assert from "node:assert/strict";
import { extractAnswer, majorityVote, passAtK, summarize, PassAtKError } from "../../src/train/pass-at-k.js";

/** C(n, k) exactly, as BigInt: the estimator's definition, computed independently of its product form. */
function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}
const byDefinition = (n: number, c: number, k: number) => 1 - Number((binom(n - c, k) * 10n ** 15n) / binom(n, k)) / 1e15;

test("pass@k: hand-computed values", () => {
  assert.ok(Math.abs(passAtK(5, 1, 1) - 0.2) < 1e-12);        // c/n
  assert.ok(Math.abs(passAtK(5, 1, 2) - 0.4) < 1e-12);        // 1 − C(4,2)/C(5,2) = 1 − 6/10
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12);        // 1 − C(3,2)/C(5,2) = 1 − 3/10
  assert.ok(Math.abs(passAtK(10, 3, 5) - 11 / 12) < 1e-12);   // 1 − C(7,5)/C(10,5) = 1 − 21/252
  assert.equal(passAtK(4, 2, 3), 1);                          // fewer than k wrong samples: some draw of 3 must hit
  assert.equal(passAtK(8, 0, 8), 0);
  assert.equal(passAtK(8, 8, 1), 1);
  assert.throws(() => passAtK(4, 1, 5), PassAtKError);
  assert.throws(() => passAtK(4, 5, 1), PassAtKError);
});

test("pass@k equals 1 − C(n−c,k)/C(n,k) computed with exact binomials, up to n = 200", () => {
  for (const [n, c, k] of [[200, 10, 100], [200, 1, 1], [200, 199, 50], [100, 37, 10], [64, 5, 16], [16, 3, 4]]) {
    const got = passAtK(n, c, k), want = byDefinition(n, c, k);
    assert.ok(Math.abs(got - want) < 1e-12, `n=${n} c=${c} k=${k}: ${got} vs ${want}`);
  }
});

test("answers are extracted outside <think> and voted on; maj@k counts a vote that lands on a correct answer", () => {
  assert.equal(extractAnswer("<think>maybe 5</think><answer> 4 </answer>"), "4");
  assert.equal(extractAnswer("<think>the answer is 9"), null);
  assert.equal(extractAnswer("so \\boxed{1/2}"), "1/2");
  assert.deepEqual(majorityVote(["3", null, "4", "4", "3"]), { answer: "3", members: [0, 4] }); // tie → first seen
  assert.equal(majorityVote([null, null]), null);
  const s = summarize([
    { correct: [true, false, false, false], answers: ["7", "6", "6", null] },   // pass@1 1/4, pass@4 1, maj "6" wrong
    { correct: [false, true, true, false], answers: ["2", "3", "3", "2"] },    // tie 2 vs 3: "2" seen first, wrong
    { correct: [false, true, true, false], answers: ["9", "3", "3", "2"] },    // maj "3" right
  ], 4);
  assert.equal(s.problems, 3);
  assert.equal(s.samples, 12);
  assert.ok(Math.abs(s.pass1 - (0.25 + 0.5 + 0.5) / 3) < 1e-12);
  assert.equal(s.passK, 1);
  assert.ok(Math.abs(s.majK - 1 / 3) < 1e-12);
  // maj@2 votes over the first two samples only.
  assert.equal(summarize([{ correct: [false, true, true, true], answers: ["1", "2", "2", "2"] }], 2).majK, 0);
});
