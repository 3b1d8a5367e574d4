import { test } from "node:test";
import assert from "node:assert/strict";
import { takeDocuments, genreShares, genreWeights, CorpusConfigSchema } from "../../src/corpus/corpus.js";
import { makeTask, distinctExamples, tinyR1Prompt, TINY_R1_INSTRUCTION, TINY_R1_SUFFIX } from "../../src/tasks/index.js";
import { novelTag, TAGS } from "../../src/corpus/words.js";
import { makeRng } from "../../src/tasks/rng.js";

const N = 10_000;
const docs = takeDocuments({ seed: 11 }, N);

test("deterministic from the seed", () => {
  assert.deepEqual(takeDocuments({ seed: 11 }, 300), docs.slice(0, 300));
  assert.notDeepEqual(takeDocuments({ seed: 12 }, 300).map(d => d.text), docs.slice(0, 300).map(d => d.text));
});

test("never shows the RL format or prompt frame", () => {
  const forbidden = ["<think", "</think", "<answer", "</answer", TINY_R1_SUFFIX, TINY_R1_INSTRUCTION, "Reason in <",
    tinyR1Prompt("").trim(), "are enclosed within"];
  for (const d of docs) for (const f of forbidden) assert.ok(!d.text.includes(f), `${d.genre} document contains ${JSON.stringify(f)}: ${d.text}`);
});

test("genre shares match the configured weights", () => {
  const s = genreShares(docs);
  const w = genreWeights(CorpusConfigSchema.parse({}));
  for (const [g, p] of Object.entries(w))
    if (p === 0) assert.equal(s.byGenre[g], undefined, `${g} has weight 0`);
    else assert.ok(Math.abs(s.byGenre[g].docs - p) < 0.015, `${g}: ${s.byGenre[g].docs} vs ${p}`);
  // the bridge (a derivation inside a generic tag) is about a tenth of the documents
  const bridged = docs.filter(d => /<(\w+)>\d[\d+-]* = [^<]*<\/\1>/.test(d.text)).length / N;
  assert.ok(bridged > 0.12 && bridged < 0.2, `derivation-in-tag share ${bridged}`); // bridge 10% + format 4.5%
  const custom = genreShares(takeDocuments({ seed: 1, weights: { text: 0, bridge: 3 } }, 2000));
  assert.equal(custom.byGenre.text, undefined);
  assert.ok(custom.byGenre.bridge.docs > 0.2);
  assert.throws(() => CorpusConfigSchema.parse({ weights: { thinking: 1 } }), /thinking/);
});

test("every derivation chain in the corpus is arithmetically right", () => {
  const value = (e: string) => e.split(/(?=[+-])/).reduce((a, t) => a + Number(t), 0);
  let chains = 0;
  for (const d of docs)
    for (const m of d.text.matchAll(/\d[\d+-]*(?: = \d[\d+-]*)+/g)) {
      const sides = m[0].split(" = ");
      for (const s of sides) assert.equal(value(s), value(sides[0]), `${d.genre}: ${m[0]}`);
      assert.match(sides.at(-1)!, /^\d+$/);
      chains++;
    }
  assert.ok(chains > N * 0.3, `only ${chains} derivations found`);
});

test("held-out problems can be kept out of the corpus", () => {
  // 2–3 terms: a 3-term derivation passes through a 2-term chain ("3+4+5 = 7+5 = 12"), which must count too
  const arithmetic = { type: "arithmetic", min_terms: 2, max_terms: 3, digits: 1, ops: ["+"], non_negative: true } as const;
  const held = distinctExamples(makeTask(arithmetic), 2, 50);
  const ids = new Set(held.map(e => e.id));
  const texts = held.map(e => e.question.replace("=?", ""));
  const plain = takeDocuments({ seed: 3, arithmetic }, 3000);
  const clean = takeDocuments({ seed: 3, arithmetic }, 3000, ids);
  const mentions = (ds: typeof plain) => ds.filter(d => texts.some(t => new RegExp(`(?<![\\d+])${t.replace("+", "\\+")}(?![\\d+])`).test(d.text))).length;
  assert.ok(mentions(plain) > 100, "without exclusion the small problem space hits held-out problems");
  assert.equal(mentions(clean), 0);
  // the same exclusion from the recipe: held_out names the RL run's task and eval split
  const fromConfig = takeDocuments({ seed: 3, arithmetic, held_out: { task: arithmetic, eval_seed: 2, eval_size: 50 } }, 3000);
  assert.deepEqual(fromConfig, clean);
});

test("countdown genre (opt-in): every tried step is right, the found equation uses each number once and hits the target", () => {
  const only = { direct: 0, prose: 0, steps: 0, dialog: 0, markup: 0, bridge: 0, format: 0, copy: 0, text: 0, countdown: 1 };
  const cd = takeDocuments({ seed: 5, weights: only }, 1500);
  const evalExpr = (e: string) => Function(`"use strict"; return (${e});`)() as number;
  let yes = 0;
  for (const { text } of cd) {
    const m = /^(?:Q: )?Use ([\d, ]+) to make (\d+)\./.exec(text);
    assert.ok(m, text);
    const numbers = m[1].split(", ").map(Number).sort((a, b) => a - b), target = Number(m[2]);
    for (const s of text.matchAll(/(\d+)([+\-*/])(\d+) = (\d+)/g)) assert.equal(evalExpr(`${s[1]}${s[2]}${s[3]}`), Number(s[4]), s[0]);
    const expr = /([\d+\-*/()]+) = \d+$/.exec(text)?.[1] ?? /<(\w+)>([\d+\-*/()]+)<\/\1>$/.exec(text)?.[2];
    assert.ok(expr, text);
    assert.equal(evalExpr(expr), target, text);
    assert.deepEqual((expr.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b), numbers, text);
    yes += +text.includes(", yes.");
    assert.ok(!/<think|<answer/.test(text));
  }
  assert.ok(yes > 900, `search traces that end in a found solution: ${yes}`);
});

test("format following mostly names tags the model cannot have memorised, so copying them must be learned", () => {
  const docs = takeDocuments({ seed: 5, weights: { direct: 0, prose: 0, steps: 0, dialog: 0, markup: 0, bridge: 0, text: 0, copy: 0, format: 1 } }, 2000);
  const names = new Set<string>();
  let novel = 0;
  for (const d of docs) {
    const tags = [...d.text.matchAll(/<(\w+)>/g)].map(m => m[1]);
    tags.forEach(t => names.add(t));
    if (tags.some(t => !TAGS.includes(t))) novel++;
  }
  assert.ok(novel / docs.length > 0.8, `share of documents with a made-up tag: ${novel / docs.length}`);
  assert.ok(names.size > 500, `distinct tag names: ${names.size}`);
  assert.ok(!names.has("think") && !names.has("answer"));
  const letters = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const t = novelTag(makeRng(i));
    assert.match(t, /^[a-z]{1,8}$/);
    assert.ok(!/think|answer/.test(t), t);
    [...t].forEach(c => letters.add(c));
  }
  assert.equal(letters.size, 26, "made-up names use every letter, so any tag name can be copied");
});

test("format_show_work leaves that share of format replies' working tags holding the derivation, the rest empty", () => {
  const only = { direct: 0, prose: 0, steps: 0, dialog: 0, markup: 0, bridge: 0, text: 0, copy: 0, format: 1 };
  const working = (show: number) => {
    let shown = 0, empty = 0;
    for (const d of takeDocuments({ seed: 3, weights: only, format_show_work: show }, 2000)) {
      const m = d.text.match(/<(\w+)>([^<]*)<\/\1><(\w+)>(-?\d+)<\/\3>$/);
      if (!m) continue; // the "Say <word>" replies
      if (m[2] === "") empty++;
      else { assert.match(m[2], /^[\d+-]+( = [\d+-]+)+$/); shown++; }
    }
    return { shown, empty };
  };
  const all = working(1);
  assert.equal(all.empty, 0);
  assert.ok(all.shown > 1300, `arithmetic replies: ${all.shown}`);
  const some = working(0.25);
  const share = some.shown / (some.shown + some.empty);
  assert.ok(share > 0.2 && share < 0.3, `share showing work: ${share}`);
});

test("copy genre repeats made-up strings exactly, so copying arbitrary letters is learnable", () => {
  const docs = takeDocuments({ seed: 9, weights: { direct: 0, prose: 0, steps: 0, dialog: 0, markup: 0, bridge: 0, format: 0, text: 0, copy: 1 } }, 2000);
  let repeats = 0;
  for (const d of docs) {
    const m = /^Repeat after me: (.+?)\. (?:Okay: |Sure\. )?(.+)\.$/.exec(d.text);
    if (m) { assert.equal(m[2], m[1]); repeats++; }
    for (const close of d.text.matchAll(/<\/(\w+)>/g)) assert.ok(d.text.includes(`<${close[1]}>`), `closing tag without its opening: ${d.text}`);
  }
  assert.ok(repeats > 250, `repeat documents: ${repeats}`);
});
