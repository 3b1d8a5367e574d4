import { test } from "node:test";
import assert from "node:assert/strict";
import { mathReward, verifyMath } from "../../src/rewards/math.js";

const r = (completion: string, answer: string) => mathReward(completion, { answer });

test("extraction: boxed with nesting, fbox, final answer, last number", () => {
  assert.equal(r("so \\boxed{\\frac{\\sqrt{3}}{2}} done", "\\frac{\\sqrt3}{2}"), 1);
  assert.equal(r("first \\boxed{1} then \\fbox{2}", "2"), 1);
  assert.equal(r("The final answer is $42$. I hope it is correct.", "42"), 1);
  assert.equal(r("we get 3 apples and then 17 apples", "17"), 1);
  assert.equal(verifyMath("we get 17", "17", { extract: { numberFallback: false } }).reward, 0);
  assert.equal(r("The answer is (C).", "C"), 1);
  assert.equal(r("The answer is 12 apples, not 13. It is big.", "12"), 1);
  assert.equal(r("Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "120"), 1);
});

test("R1 format: only the answer outside <think> counts", () => {
  assert.equal(r("<think>it is \\boxed{4}</think><answer>5</answer>", "4"), 0);
  assert.equal(r("<think>maybe 5</think><answer>x = 4</answer>", "4"), 1);
  assert.equal(r("<think>the answer is 4 but I never close", "4"), 0);
  assert.equal(r("<think>\\boxed{7}</think> so \\boxed{4}", "4"), 1);
});

test("normalisation: separators, units, text, percent, degrees, dfrac, mixed numbers", () => {
  assert.equal(r("\\boxed{12,\\!345}", "12345"), 1);
  assert.equal(r("\\boxed{\\$1,000.50}", "1000.5"), 1);
  assert.equal(r("\\boxed{15\\text{ cm}^2}", "15"), 1);
  assert.equal(r("\\boxed{45^\\circ}", "45"), 1);
  assert.equal(r("\\boxed{20\\%}", "20"), 1);
  assert.equal(r("\\boxed{\\dfrac{3}{4}}", "0.75"), 1);
  assert.equal(r("\\boxed{2\\frac{1}{2}}", "5/2"), 1);
  assert.equal(r("\\boxed{x = \\left( 3 \\right)}.", "3"), 1);
});

test("comparison: rationals exact, decimals to precision, radicals and pi", () => {
  assert.equal(r("\\boxed{\\frac{2}{6}}", "\\frac13"), 1);
  assert.equal(r("\\boxed{0.3333}", "\\frac13"), 0);
  assert.equal(verifyMath("\\boxed{0.3333}", "\\frac13", { precision: 3 }).reward, 1);
  assert.equal(r("\\boxed{\\sqrt{8}}", "2\\sqrt2"), 1);
  assert.equal(r("\\boxed{\\frac{\\pi}{2}}", "\\pi/2"), 1);
  assert.equal(r("\\boxed{3.14159}", "\\pi"), 0);
  assert.equal(r("\\boxed{123456789012345678901}", "123456789012345678902"), 0);
  assert.equal(r("\\boxed{123456789012345678901}", "123456789012345678901"), 1);
});

test("comparison: algebra, equations, inequalities", () => {
  assert.equal(r("\\boxed{(x+1)^2}", "x^2+2x+1"), 1);
  assert.equal(r("\\boxed{(x+1)^2}", "x^2+1"), 0);
  assert.equal(r("\\boxed{y = 2x + 1}", "2x - y + 1 = 0"), 1);
  assert.equal(r("\\boxed{x \\ge 3}", "3 \\le x"), 1);
  assert.equal(r("\\boxed{x > 3}", "x \\ge 3"), 0);
  assert.equal(r("\\boxed{2x+z=1}", "1"), 1);
  assert.equal(r("\\boxed{1}", "2x+z=1"), 0);
});

test("comparison: sets, tuples, intervals, matrices, choices", () => {
  assert.equal(r("\\boxed{\\{3, 1, 2\\}}", "\\{1,2,3\\}"), 1);
  assert.equal(r("\\boxed{(3, 1)}", "(1,3)"), 0);
  assert.equal(r("\\boxed{[0, 1)}", "[0,1)"), 1);
  assert.equal(r("\\boxed{(0, 1]}", "[0,1)"), 0);
  assert.equal(r("\\boxed{\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"), 1);
  assert.equal(r("\\boxed{\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"), 0);
  assert.equal(r("\\boxed{\\text{(B)}}", "B"), 1);
  assert.equal(r("\\boxed{C}", "B"), 0);
});

test("reward hacking: unparseable or missing gold gives null, empty or junk answers give 0", () => {
  assert.equal(r("\\boxed{4}", ""), null);
  assert.equal(mathReward("\\boxed{4}", {}), null);
  assert.equal(r("<answer></answer>", "4"), 0);
  assert.equal(r("\\boxed{}", "4"), 0);
  assert.equal(r("x = 1 = 2 = 3 = 4 = 5", "3"), 0);
});

test("pathological inputs return quickly", () => {
  const cases = ["\\boxed{10^{10^{10^{10}}}}", "\\boxed{" + "{".repeat(1_000_000) + "}", "\\boxed{" + "\\frac{".repeat(40) + "1}{2}".repeat(40) + "}", "$".repeat(200_000), "1,".repeat(100_000), "\\boxed{9999999!}", "a".repeat(1_000_000)];
  for (const c of cases) {
    const t = performance.now();
    const v = r(c, "10^{10^{10}}");
    assert.ok(v === 0 || v === 1 || v === null);
    assert.ok(performance.now() - t < 2000, `slow on ${c.slice(0, 30)}`);
  }
});
