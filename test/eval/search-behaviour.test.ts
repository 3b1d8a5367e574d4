// The search-behaviour counter on hand-written countdown traces: each count is the one the rules in
// src/eval/search-behaviour.ts give, worked out by hand below each trace.
import { test } from "node:test";
import assert from "node:assert/strict";
import { countdownSamples, firstBacktrack, reasoningText, searchBehaviour, searchMetrics } from "../../src/eval/search-behaviour.js";

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
