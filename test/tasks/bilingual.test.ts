import { test } from "node:test";
import assert from "node:assert/strict";
import { takeDocuments, type CorpusDocument } from "../../src/corpus/corpus.js";
import { makeTask, distinctExamples, chainValue, parseChain, tinyR1Prompt, TINY_R1_INSTRUCTION, TINY_R1_SUFFIX } from "../../src/tasks/index.js";
import { wordedQuestion } from "../../src/tasks/languages.js";
import { languageConsistencyReward } from "../../src/rewards/language.js";
import { DEFAULT_STREAM_SHA256, defaultStream } from "./default-stream.js";

// The worded genre alone (every other genre at weight 0).
const ONLY = { direct: 0, prose: 0, steps: 0, dialog: 0, markup: 0, bridge: 0, format: 0, copy: 0, text: 0, countdown: 0, worded: 1 };
const N = 6000;
const rates = { language: "ru", second_share: 0.5, cross_rate: 0.3, switch_rate: 0.1 } as const;
const docs = takeDocuments({ seed: 21, weights: ONLY, bilingual: rates }, N);
const worked = docs.filter(d => d.languages?.working);
const CLAUSE = /(\d+) (plus|minus|плюс|минус) (\d+) (is|равно) (\d+)/g;
const EN = new Set(["plus", "minus", "is"]);

test("the default corpus is the stream it was before the worded genre existed (its weight is 0)", () => {
  const { docs: first, sha256 } = defaultStream();
  assert.ok(first.every(d => d.genre !== "worded" && d.languages === undefined));
  assert.equal(sha256, DEFAULT_STREAM_SHA256);
});

test("worded genre: deterministic by seed", () => {
  assert.deepEqual(takeDocuments({ seed: 21, weights: ONLY, bilingual: rates }, 300), docs.slice(0, 300));
  assert.notDeepEqual(takeDocuments({ seed: 22, weights: ONLY, bilingual: rates }, 300).map(d => d.text), docs.slice(0, 300).map(d => d.text));
});

test("worded genre: every worked step is right, and each step's words are in the language the metadata says", () => {
  let clauses = 0;
  for (const d of worked) {
    const steps = [...d.text.matchAll(CLAUSE)];
    assert.ok(steps.length >= 3, d.text); // 4–7 terms: 3–6 steps
    const langs = steps.map(s => (EN.has(s[2]) ? "en" : "ru"));
    steps.forEach(s => {
      assert.equal(s[2] === "plus" || s[2] === "плюс" ? +s[1] + +s[3] : +s[1] - +s[3], +s[5], s[0]);
      assert.equal(EN.has(s[2]), EN.has(s[4]), `one language per clause: ${s[0]}`);
    });
    assert.equal(langs[0], d.languages!.working, d.text);
    const switches = langs.filter((l, i) => i > 0 && l !== langs[i - 1]).length;
    assert.equal(switches, d.languages!.switched ? 1 : 0, d.text); // a switched derivation ends in the other language
    clauses += steps.length;
  }
  assert.ok(clauses > worked.length * 3);
});

test("worded genre: the shares of second-language problems, cross-language working and code-switching are as configured", () => {
  const share = (ds: CorpusDocument[], f: (d: CorpusDocument) => boolean) => ds.filter(f).length / ds.length;
  const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 0.03, `${what}: ${got.toFixed(3)} vs ${want}`);
  close(share(docs, d => d.languages!.question === "ru"), 0.5, "second-language problems");
  close(share(worked, d => d.languages!.working !== d.languages!.question), 0.3, "cross-language working");
  close(share(worked, d => d.languages!.switched), 0.1, "switch rate");
  // and from the text alone: the question's operation words are in the question's language
  for (const d of docs.slice(0, 500)) if (d.languages!.working) assert.equal(/Сколько|Посчитай|Вычисли/.test(d.text), d.languages!.question === "ru", d.text);
  const never = takeDocuments({ seed: 21, weights: ONLY, bilingual: { ...rates, switch_rate: 0, cross_rate: 0 } }, 2000);
  assert.ok(never.every(d => !d.languages!.switched && (!d.languages!.working || d.languages!.working === d.languages!.question)));
  const onlyEnglish = takeDocuments({ seed: 21, weights: ONLY, bilingual: { ...rates, second_share: 0, cross_rate: 0, switch_rate: 0 } }, 1000);
  assert.ok(onlyEnglish.every(d => !/\p{Script=Cyrillic}/u.test(d.text)));
});

test("worded genre: the language reward reads a Russian derivation as Russian, an English one as English, a switched one as mixed", () => {
  const m = (d: CorpusDocument) => [...d.text.matchAll(CLAUSE)].map(s => s[0]).join(", ");
  const byKind = (f: (d: CorpusDocument) => boolean) => worked.filter(f).slice(0, 50).map(d => languageConsistencyReward(`<think>${m(d)}</think>`, { language: "ru" }) as number);
  assert.ok(byKind(d => d.languages!.working === "ru" && !d.languages!.switched).every(s => s === 1));
  assert.ok(byKind(d => d.languages!.working === "en" && !d.languages!.switched).every(s => s === 0));
  assert.ok(byKind(d => d.languages!.switched).every(s => s > 0 && s < 1));
});

test("worded genre: held-out problems never appear, in either language", () => {
  const arithmetic = { type: "arithmetic", min_terms: 3, max_terms: 3, digits: 1, ops: ["+"], non_negative: true } as const;
  const held = distinctExamples(makeTask(arithmetic), 2, 40);
  const chains = held.map(e => e.id.replace("arithmetic:", ""));
  // the problem as asked, in either language ("Сколько будет 3+4+5?", "What is 3+4+5?")
  const mentions = (ds: CorpusDocument[]) => ds.filter(d => chains.some(c => new RegExp(`(?<![\\d+-])${c.replaceAll("+", "\\+")}(?![\\d+-])`).test(d.text))).length;
  const plain = takeDocuments({ seed: 4, arithmetic, weights: ONLY }, 3000);
  assert.ok(mentions(plain) > 50, `without exclusion the small problem space hits held-out problems: ${mentions(plain)}`);
  const clean = takeDocuments({ seed: 4, arithmetic, weights: ONLY, held_out: { task: { ...arithmetic, language: "ru" }, eval_seed: 2, eval_size: 40 } }, 3000);
  assert.equal(mentions(clean), 0);
});

test("worded genre: never the RL format or prompt frame", () => {
  const forbidden = ["<think", "</think", "<answer", "</answer", TINY_R1_SUFFIX, TINY_R1_INSTRUCTION, "Reason in <", tinyR1Prompt("").trim()];
  for (const d of docs) for (const f of forbidden) assert.ok(!d.text.includes(f), `${d.text} contains ${f}`);
});

test("worded task: the same problems and ids as the symbolic one, posed in words, rows carry language", () => {
  const base = { type: "arithmetic", min_terms: 4, max_terms: 7 } as const;
  const sym = distinctExamples(makeTask(base), 2, 64), ru = distinctExamples(makeTask({ ...base, language: "ru" }), 2, 64);
  const en = distinctExamples(makeTask({ ...base, language: "en" }), 2, 64);
  assert.deepEqual(ru.map(e => e.id), sym.map(e => e.id));
  assert.deepEqual(ru.map(e => e.answer), sym.map(e => e.answer));
  for (const [i, e] of ru.entries()) {
    const ch = parseChain(e.id.replace("arithmetic:", ""));
    assert.equal(e.language, "ru");
    assert.equal(e.question, wordedQuestion(ch, "ru"));
    assert.equal(e.question, `Сколько будет ${e.id.replace("arithmetic:", "")}?`);
    assert.equal(String(chainValue(ch)), e.answer);
    assert.equal(en[i].question, `What is ${e.id.replace("arithmetic:", "")}?`);
    assert.equal(sym[i].language, undefined);
  }
  // exposes reads the chain from the id, so worded training problems also avoid walking through held-out ones
  const t = makeTask({ ...base, language: "ru" });
  assert.deepEqual(t.exposes!(ru[0]), makeTask(base).exposes!(sym[0]));
  assert.throws(() => makeTask({ ...base, language: "de" }), /language/);
});
