// The search-behaviour counter on hand-written countdown traces: each count is the one the rules in
// src/eval/search-behaviour.ts give, worked out by hand below each trace.
import { test } from "node:test";
import assert from "node:assert/strict";
import { arithmeticStatements, countdownSamples, falseStatements, firstBacktrack, reasoningText, searchBehaviour, searchMetrics } from "../../src/eval/search-behaviour.js";

const pick = (c: ReturnType<typeof searchBehaviour>) => ({ attempts: c.attempts, backtracks: c.backtracks, checks: c.checks, abandoned: c.abandoned, dead_ends: c.dead_ends });

test("the worked example: three lines, one backtrack, two checks, two dead ends", () => {
  const c = searchBehaviour("3*5 = 15, 15+2 = 17, not 16. 3+5 = 8, 8+2 = 10 hmm. Back: 8*2 = 16 = 16", [3, 5, 2], 16);
  assert.deepEqual(pick(c), { attempts: 3, backtracks: 1, checks: 2, abandoned: 0, dead_ends: 2 });
  assert.equal(c.unanchored, 0);
});

test("a search with abandoned lines, a backtrack after a failed try, and a check at the end", () => {
  // 25+4 (left with 3 numbers: abandoned) | 25*3 75+4 79-1 = 78, not 76 (dead end, check) | back to 75: 75+1 = 76
  // with 4 unused (backtrack; then left with 2 numbers: abandoned) | 25-1 24*3 72+4 = 76, 76 = 76 (check)
  const trace = "25+4 = 29, no good. 25*3 = 75, 75+4 = 79, 79-1 = 78, not 76. Back to 75: 75+1 = 76, but 4 is left over. "
    + "25-1 = 24, 24*3 = 72, 72+4 = 76, 76 = 76.";
  assert.deepEqual(pick(searchBehaviour(trace, [25, 1, 3, 4], 76)), { attempts: 4, backtracks: 1, checks: 2, abandoned: 2, dead_ends: 1 });
});

test("a straight derivation is one attempt and nothing else; writing the same line again adds nothing", () => {
  assert.deepEqual(pick(searchBehaviour("25-1 = 24, 24*3 = 72, 72+4 = 76", [25, 1, 3, 4], 76)), { attempts: 1, backtracks: 0, checks: 0, abandoned: 0, dead_ends: 0 });
  assert.deepEqual(pick(searchBehaviour("3+5 = 8, 8*2 = 16. So again: 5+3 = 8, 2*8 = 16.", [3, 5, 2], 16)), { attempts: 1, backtracks: 0, checks: 0, abandoned: 0, dead_ends: 0 });
  assert.deepEqual(pick(searchBehaviour("", [3, 5, 2], 16)), { attempts: 0, backtracks: 0, checks: 0, abandoned: 0, dead_ends: 0 });
});

test("only the reasoning counts: the answer and anything after </think> are left out", () => {
  assert.equal(reasoningText("3+5 = 8</think><answer>3*5 = 15</answer>"), "3+5 = 8");
  assert.equal(searchBehaviour("<think>3+5 = 8, 8*2 = 16</think><answer>(3+5)*2 = 16 vs 16</answer> 3*5 = 15", [3, 5, 2], 16).attempts, 1);
  assert.equal(searchBehaviour("3+5 = 8, 8*2 = 16 <answer>3*5 = 15, 15, not 16</answer>", [3, 5, 2], 16).checks, 0);
});

test("longer expressions are no steps; steps on numbers the state lacks are unanchored", () => {
  assert.equal(searchBehaviour("(3+5)*2 = 16", [3, 5, 2], 16).attempts, 0);
  assert.equal(searchBehaviour("3+5*2 = 13", [3, 5, 2], 13).attempts, 0);
  const c = searchBehaviour("9*9 = 81, 3+5 = 8", [3, 5, 2], 16);
  assert.equal(c.unanchored, 1);
  assert.equal(c.attempts, 1);
  // a repeated number needs two copies
  assert.equal(searchBehaviour("5+5 = 10", [3, 5, 2], 16).unanchored, 1);
  assert.equal(searchBehaviour("5+5 = 10", [5, 5, 2], 16).unanchored, 0);
  // × and ÷ are steps too
  assert.equal(searchBehaviour("3 × 5 = 15, 15 ÷ 5 = 3", [3, 5, 5], 3).attempts, 1);
});

test("checks: comparisons with the target's value or the word target; a step's own result is no check", () => {
  const t = (s: string, target = 16) => searchBehaviour(s, [3, 5, 2], target).checks;
  assert.equal(t("17 vs 16"), 1);
  assert.equal(t("17 != 16, 17 ≠ 16"), 2);
  assert.equal(t("15 is less than the target"), 1);
  assert.equal(t("10, which is under 16"), 1);
  assert.equal(t("30 is over 16 and 15 is short of 16"), 2);
  assert.equal(t("17 vs 18"), 0, "compared with something else than the target");
  assert.equal(t("3*5 = 15", 15), 0, "a step that happens to make the target is not a comparison");
  assert.equal(t("3*5 = 15 = 15", 15), 1);
  assert.equal(t("Too big. Too small."), 0, "an implicit judgment names no target");
});

test("per 100 completions, only for countdown rows", () => {
  const rows = countdownSamples(
    ["3+5 = 8, 8*2 = 16", "3*5 = 15, 15+2 = 17, not 16. 3+5 = 8, 8+2 = 10 hmm. Back: 8*2 = 16 = 16", "2+2 = 4"],
    [{ numbers: [3, 5, 2], target: 16 }, { numbers: [3, 5, 2], target: 16 }, {}],
  );
  assert.equal(rows.length, 2);
  assert.deepEqual(searchMetrics(rows), { "search/attempts": 200, "search/backtracks": 50, "search/checks": 100, "search/abandoned": 0, "search/dead_ends": 100, "search/false_steps": 0 });
  assert.deepEqual(searchMetrics([]), {});
});

test("firstBacktrack finds the first completion that goes back after a failed try", () => {
  const ex = { numbers: [3, 5, 2], target: 16 };
  const straight = { ...ex, completion: "3+5 = 8, 8*2 = 16" };
  const restartOnly = { ...ex, completion: "3*5 = 15, 15+2 = 17, no. 3+5 = 8, 8*2 = 16" }; // a restart, no backtrack
  const back = { ...ex, completion: "3+5 = 8, 8+2 = 10, not 16. Back to 8, 2: 8*2 = 16" };
  assert.equal(firstBacktrack([straight, restartOnly, back, back]), 2);
  assert.equal(firstBacktrack([straight, restartOnly]), -1);
});

// The process check (arithmeticStatements, false_steps; the rules in src/eval/search-behaviour.ts and docs/countdown.md).
const verdicts = (text: string) => arithmeticStatements(text).map(st => `${st.kind} ${st.left} = ${st.claimed}: ${st.holds}`);

test("statements: steps, longer expressions and checks, each judged in exact arithmetic", () => {
  assert.deepEqual(verdicts("54+34 = 58, 56+28 = 50, yes."), ["step 54+34 = 58: false", "step 56+28 = 50: false"]);
  assert.deepEqual(verdicts("62-37 = 25, then 25+25 = 50. Got it."), ["step 62-37 = 25: true", "step 25+25 = 50: true"]);
  // a chain: the step, then the comparison of its result
  assert.deepEqual(verdicts("8*2 = 16 = 16"), ["step 8*2 = 16: true", "comparison 16 = 16: true"]);
  assert.deepEqual(verdicts("54+34 = 58 = 58, yes"), ["step 54+34 = 58: false", "comparison 58 = 58: true"]);
  // longer expressions, fractions kept exact, parentheses around a statement, × ÷ − and x as operators
  assert.deepEqual(verdicts("So 85-((20+79)/3) = 52."), ["expression 85-((20+79)/3) = 52: true"]);
  assert.deepEqual(verdicts("(96+62)-31 = 98"), ["expression (96+62)-31 = 98: false"]);
  assert.deepEqual(verdicts("7/2*4 = 14"), ["expression 7/2*4 = 14: true"]);
  assert.deepEqual(verdicts("(3+5 = 8) and 3 × 5 = 15, 15 ÷ 3 = 5, 9 − 4 = 6, 3 x 5 = 16"),
    ["step 3+5 = 8: true", "step 3 × 5 = 15: true", "step 15 ÷ 3 = 5: true", "step 9 − 4 = 6: false", "step 3 x 5 = 16: false"]);
  assert.deepEqual(verdicts("3+5 == 9"), ["step 3+5 = 9: false"]);
  assert.deepEqual(verdicts("3-5 = -2"), ["step 3-5 = -2: true"]);
  // the words around a statement are not part of it: "six", a dash, a bullet, a number before it
  assert.deepEqual(verdicts("six 3+5 = 8. Another way - 3+5 = 9. * 2+2 = 4. Use 9 3+5 = 8"),
    ["step 3+5 = 8: true", "step 3+5 = 9: false", "step 2+2 = 4: true", "step 3+5 = 8: true"]);
});

test("checks: x = y holds when equal, or when the writer rejects it; a step's verdict word is about the target", () => {
  assert.deepEqual(verdicts("52 = 52, yes."), ["comparison 52 = 52: true"]);
  assert.deepEqual(verdicts("98 = 97, no"), ["comparison 98 = 97: true"], "a check the writer marks false is a true observation");
  assert.deepEqual(verdicts("98 = 97? not quite. 98 = 97, wrong. 98 = 97 is false"), ["comparison 98 = 97: true", "comparison 98 = 97: true", "comparison 98 = 97: true"]);
  assert.deepEqual(verdicts("3+5 = 8 = 16, no"), ["step 3+5 = 8: true", "comparison 8 = 16: true"]);
  assert.deepEqual(verdicts("130 = 13, yes."), ["comparison 130 = 13: false"]);
  // only asked: not false; asked and affirmed: false
  assert.deepEqual(verdicts("98 = 97? Hmm."), ["comparison 98 = 97: true"]);
  assert.deepEqual(verdicts("130 = 13? yes!"), ["comparison 130 = 13: false"]);
  assert.deepEqual(verdicts("98 = 97. Then 3+5 = 8"), ["comparison 98 = 97: false", "step 3+5 = 8: true"]);
  // "20+82 = 102, no." in the corpus: a right step that misses the target; a wrong step is not saved by a "no"
  assert.deepEqual(verdicts("20+82 = 102, no."), ["step 20+82 = 102: true"]);
  assert.deepEqual(verdicts("20+82 = 112, no."), ["step 20+82 = 112: false"]);
  // asked and rejected at once: a corrected slip; asked and confirmed: false
  assert.deepEqual(verdicts("54+34 = 58? No, 54+34 = 88."), ["step 54+34 = 58: true", "step 54+34 = 88: true"]);
  assert.deepEqual(verdicts("54+34 = 58? yes"), ["step 54+34 = 58: false"]);
});

test("what cannot be read is neither true nor false, and no statement is made of words or other relations", () => {
  const unread = (text: string) => arithmeticStatements(text).map(st => st.holds);
  for (const t of ["7/2 = 3.5", "2.5*2 = 5", "-3+5 = 2", "1,000+5 = 1005", "25*40 = 1,000", "3+5 = 8*2", "12 = 3*4", "5/0 = 0", "3+5 = = 8", "3+5 =", "3+5 = eight", "1+2) = 3", "1+".repeat(200) + "1 = 7"])
    assert.deepEqual(unread(t), [undefined], t);
  for (const t of ["x = 5", "3+5 <= 9", "17 != 16", "3+5 => 8", "78, not 76", "17 ≠ 16", "a = b", "", "="]) assert.deepEqual(arithmeticStatements(t), [], t);
  // the chain's last link is still read, and the counter replays both links as steps
  assert.deepEqual(verdicts("3+5 = 8*2 = 17").at(-1), "step 8*2 = 17: false");
  const chain = searchBehaviour("3+5 = 8*2 = 16", [3, 5, 2], 16);
  assert.deepEqual([chain.attempts, chain.dead_ends, chain.unanchored, chain.false_steps], [1, 0, 0, 0]);
});

test("false_steps: the false statements of the reasoning, per completion and per 100; the answer is not reasoning", () => {
  // the 3-number run's traces (docs/countdown.md, "Results so far"): the collapsed model's line, and the base's search
  const after = "<think>62-37 = 1, 25+1 = 131, yes.</think><answer>25+(62-37)</answer>";
  assert.equal(searchBehaviour(after, [62, 37, 25], 50).false_steps, 2);
  const before = "<think>31+96 = 127, then 127-62 = 65, not 98. 62+127 = 199, not 98. Another way: 62+96 = 158, then 158-31 = 127, not 98. "
    + "31+158 = 189, not 98. Wait, 62-31 = 31, then 96-31 = 65, then 65+65 = 130. 130 = 13, yes.</think><answer>(62-31)+(96-31)</answer>";
  // the base slips too: 62+127 is 189
  assert.deepEqual(falseStatements(before).map(st => `${st.left} = ${st.claimed}`), ["62+127 = 199", "130 = 13"]);
  assert.equal(falseStatements("<think>3+5 = 8</think><answer>3+5 = 9</answer> 2+2 = 5").length, 0);
  assert.equal(falseStatements("3+5 = 9 <answer>(3+5)*2</answer>").length, 1, "no </think>: all but the answer is reasoning");
  const rows = countdownSamples([after, "<think>3+5 = 8, 8*2 = 16</think><answer>(3+5)*2</answer>"], [{ numbers: [62, 37, 25], target: 50 }, { numbers: [3, 5, 2], target: 16 }]);
  assert.equal(searchMetrics(rows)["search/false_steps"], 100);
});

test("the scan is linear: 100,000-character reasoning of any shape is read in well under a second (a quadratic scan takes minutes)", () => {
  const shapes = ["3+5 = 8, 8*2 = 17, ", "1=", "1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1 = 40 ", "1+", "(((", ")))) = 3 ", "98 = 97 ? no ", "7 " + " ".repeat(5000) + "= "];
  searchBehaviour("3+5 = 8", [3, 5, 2], 16); // compiled once
  for (const shape of [...shapes, "7" + " ".repeat(99_998) + "-"]) {
    const text = shape.repeat(Math.ceil(100_000 / shape.length)).slice(0, 100_000);
    const t = performance.now();
    const c = searchBehaviour(text, [3, 5, 2], 16);
    const ms = performance.now() - t;
    // 2 s is ten times what a loaded machine takes; the counter's old check pattern took 40 s on the last shape
    assert.ok(ms < 2000, `${JSON.stringify(shape.slice(0, 30))}: ${ms.toFixed(0)} ms`);
    assert.ok(c.false_steps >= 0);
  }
});
