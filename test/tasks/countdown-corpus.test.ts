// The countdown corpus of recipes/base-countdown.yaml: search written in the wild, every step right, and nothing
// held out (no held-out target, no problem of the RL runs' held-out sets, no RL prompt or tags).
import { test } from "node:test";
import assert from "node:assert/strict";
import { takeDocuments, CorpusConfigSchema } from "../../src/corpus/corpus.js";
import { readRecipe } from "../../src/recipes/load.js";
import { countdownTargets, distinctExamples, makeTask, TINY_R1_INSTRUCTION, TINY_R1_SUFFIX } from "../../src/tasks/index.js";
import { CountdownConfigSchema } from "../../src/tasks/countdown.js";
import { arithmeticStatements, searchBehaviour } from "../../src/eval/search-behaviour.js";
import { writeSearch } from "../../src/corpus/search.js";
import { makeRng } from "../../src/rng.js";

const recipe = readRecipe("recipes/base-countdown.yaml") as { corpus: Record<string, any> };
const corpus = CorpusConfigSchema.parse(recipe.corpus);
const docs = takeDocuments(recipe.corpus, 2500);

/** The countdown problem a document poses, in any of the corpus's wordings. */
function problemOf(text: string): { numbers: number[]; target: number } | null {
  const list = (s: string) => s.split(/,\s*|\s+and\s+|\s+/).filter(Boolean).map(Number);
  let m = /Use ([\d, ]+) to make (\d+)\./.exec(text);
  if (m) return { numbers: list(m[1]), target: Number(m[2]) };
  if ((m = /Numbers: ([\d ]+)\. Target: (\d+)\./.exec(text))) return { numbers: list(m[1]), target: Number(m[2]) };
  if ((m = /Make (\d+) from ([\d, ]+ and \d+)\./.exec(text))) return { numbers: list(m[2]), target: Number(m[1]) };
  if ((m = /Countdown: ([\d, ]+) -> (\d+)\./.exec(text))) return { numbers: list(m[1]), target: Number(m[2]) };
  if ((m = /Can you reach (\d+) with ([\d, ]+)\? Each number once\./.exec(text))) return { numbers: list(m[2]), target: Number(m[1]) };
  return null;
}
const idOf = (p: { numbers: number[]; target: number }) => `countdown:${[...p.numbers].sort((a, b) => a - b).join(",")}->${p.target}`;
const evalExpr = (e: string): number => {
  assert.match(e, /^[0-9+\-*/() ]+$/);
  return Function(`"use strict"; return (${e});`)() as number;
};

test("no held-out target and no held-out problem of either RL run appears in the countdown corpus", () => {
  const heldSets = corpus.held_out as { task: Record<string, unknown>; eval_seed: number; eval_size: number }[];
  assert.equal(heldSets.length, 2);
  const heldIds = new Set(heldSets.flatMap(h => distinctExamples(makeTask(h.task), h.eval_seed, h.eval_size, undefined, "eval").map(e => e.id)));
  const heldTargets = new Set(countdownTargets(CountdownConfigSchema.parse(heldSets[0].task)).unseen);
  assert.equal(heldTargets.size, 9);
  let posed = 0;
  for (const d of docs) {
    if (d.genre !== "search" && d.genre !== "countdown") continue;
    const p = problemOf(d.text);
    assert.ok(p, `no problem found in a ${d.genre} document: ${d.text}`);
    posed++;
    assert.ok(!heldTargets.has(p.target), `held-out target ${p.target} in: ${d.text}`);
    assert.ok(!heldIds.has(idOf(p)), `held-out problem ${idOf(p)} in: ${d.text}`);
  }
  assert.ok(posed > 1400, `countdown documents checked: ${posed}`);
  // the exclusion does work: the same corpus without held-out targets poses them about a tenth of the time
  const open = takeDocuments({ ...recipe.corpus, countdown: { ...recipe.corpus.countdown, held_out_targets: 0 }, held_out: undefined }, 600);
  const hits = open.map(d => (d.genre === "search" || d.genre === "countdown" ? problemOf(d.text) : null)).filter(p => p && heldTargets.has(p.target)).length;
  assert.ok(hits > 10, `held-out targets posed when nothing is held out: ${hits}`);
});

test("never the RL prompt, its instruction or its tags", () => {
  for (const d of docs) for (const f of ["<think", "</think", "<answer", "</answer", TINY_R1_SUFFIX, TINY_R1_INSTRUCTION, "Reason in <"])
    assert.ok(!d.text.includes(f), `${d.genre} document contains ${f}: ${d.text}`);
});

test("search documents: every step right, the equation (when one is given) uses each number once and makes the target", () => {
  let found = 0, gaveUp = 0;
  for (const d of docs.filter(x => x.genre === "search")) {
    const p = problemOf(d.text)!;
    // steps, not the tail of a longer expression ("So 7+93-42 = 58")
    for (const s of d.text.matchAll(/(?<![\d)]\s*[-+*/]\s*)(?<!\d)(\d+)([+\-*/])(\d+) = (\d+)/g)) {
      assert.equal(evalExpr(`${s[1]}${s[2]}${s[3]}`), Number(s[4]), s[0]);
      assert.ok(s[2] !== "-" || Number(s[1]) >= Number(s[3]));
    }
    const eq = /(?:So|Answer:|Solution:) ([\d+\-*/()]+)/.exec(d.text)?.[1] ?? /^(?:.*[.!] )?([\d+\-*/()]+) = \d+$/.exec(d.text)?.[1]
      ?? /<(\w+)>([\d+\-*/()]+)<\/\1>$/.exec(d.text)?.[2];
    if (eq === undefined) {
      assert.match(d.text, /I give up\.|Can't get it\.|No luck\.|Not solvable for me\./, d.text);
      gaveUp++;
      continue;
    }
    found++;
    assert.equal(evalExpr(eq), p.target, d.text);
    assert.deepEqual((eq.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b), [...p.numbers].sort((a, b) => a - b), d.text);
  }
  assert.ok(found > 1000 && gaveUp > 50, `found ${found}, gave up ${gaveUp}`);
});

test("the process check agrees with the writer: every arithmetic statement of the corpus's searches holds (0 false_steps)", () => {
  const read = { step: 0, expression: 0, comparison: 0 };
  let falseSteps = 0, unread = 0;
  for (const d of docs.filter(x => x.genre === "search")) {
    const p = problemOf(d.text)!;
    for (const st of arithmeticStatements(d.text)) {
      if (st.holds === undefined) unread++;
      else read[st.kind]++;
      assert.notEqual(st.holds, false, `${st.left} = ${st.claimed} read as false in: ${d.text}`);
    }
    falseSteps += searchBehaviour(d.text, p.numbers, p.target).false_steps;
  }
  assert.equal(falseSteps, 0);
  assert.equal(unread, 0, "the corpus writes nothing the checker cannot read");
  // the check is not vacuous: it read the steps, the "So 85-((20+79)/3) = 52." equations and the "52 = 52" checks
  assert.ok(read.step > 9000 && read.expression > 250 && read.comparison > 150, JSON.stringify(read));
});

test("the searches show every behaviour the counter counts, checks said in some lines and not in others", () => {
  const total = { attempts: 0, backtracks: 0, checks: 0, abandoned: 0, dead_ends: 0 };
  let n = 0;
  for (const d of docs.filter(x => x.genre === "search")) {
    const p = problemOf(d.text)!;
    const c = searchBehaviour(d.text.replace(/<(\w+)>([\d+\-*/()]+)<\/\1>$/, ""), p.numbers, p.target);
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += c[k];
    n++;
  }
  const per100 = Object.fromEntries(Object.entries(total).map(([k, v]) => [k, (100 * v) / n]));
  assert.ok(per100.attempts > 200 && per100.backtracks > 50 && per100.abandoned > 30 && per100.checks > 50, JSON.stringify(per100));
  // dead ends outnumber the misses that were checked out loud: some are checked, some not
  assert.ok(per100.dead_ends > per100.checks * 0.8 && per100.checks > 0, JSON.stringify(per100));
});

test("writeSearch is deterministic given the rng and ends in found, seen at last, or given up", () => {
  const a = writeSearch(makeRng(4), [25, 1, 3, 4], 76), b = writeSearch(makeRng(4), [25, 1, 3, 4], 76);
  assert.deepEqual(a, b);
  const outcomes = new Set(Array.from({ length: 200 }, (_, i) => writeSearch(makeRng(i), [25, 1, 3, 4], 76).outcome));
  assert.deepEqual([...outcomes].sort(), ["found", "gave_up", "insight"]);
});

test("the corpus keeps out exactly the held-out sets r1-zero-countdown evaluates on, 4 numbers and the 3-number variant", () => {
  const rl = readRecipe("recipes/r1-zero-countdown.yaml") as { task: Record<string, unknown>; eval_seed: number; eval_size: number };
  const [four, three] = recipe.corpus.held_out as { task: Record<string, unknown>; eval_seed: number; eval_size: number }[];
  assert.deepEqual(four.task, rl.task);
  assert.deepEqual(three.task, { ...rl.task, min_numbers: 3, max_numbers: 3 });
  for (const h of [four, three]) {
    assert.equal(h.eval_seed, rl.eval_seed);
    assert.ok(rl.eval_size <= h.eval_size, "held-out sets are prefixes of one stream: the first eval_size are all excluded");
  }
  // the corpus's own problems hold out the same targets
  assert.deepEqual(countdownTargets(CountdownConfigSchema.parse(recipe.corpus.countdown)).unseen, countdownTargets(CountdownConfigSchema.parse(rl.task)).unseen);
});
