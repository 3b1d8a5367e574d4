import { test } from "node:test";
import assert from "node:assert/strict";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { chainDerivation, makeRng, parseChain, tinyR1Prompt } from "../../src/tasks/index.js";
import { scoreCompletions } from "../../src/train/rewarding.js";
import { rejectionFilter, sftRow, type Candidate, type DropReason } from "../../src/train/rejection.js";

type Kind = "good" | "wrong" | "mixed" | "repeats" | "truncated" | "long" | "duplicate";
const DROPPED_AS: Record<Exclude<Kind, "good">, DropReason> = {
  wrong: "unverified", mixed: "mixed_language", repeats: "repetitive", truncated: "overlong", long: "overlong", duplicate: "duplicate",
};

test("rejection sampling keeps exactly the verified, clean, distinct samples (fixed seed, real rewards)", async () => {
  const rng = makeRng(1234);
  const task = arithmeticTask({ type: "arithmetic", min_terms: 2, max_terms: 4, digits: 1, ops: ["+", "-"], non_negative: true });
  const kinds: Kind[] = [];
  const candidates: Candidate[] = [];
  for (let p = 0; p < 40; p++) {
    const ex = task.sample(makeRng(rng.int(0, 1e9)));
    const deriv = chainDerivation(parseChain(ex.question.replace(/=\?$/, "")));
    const good = `${deriv}</think><answer>${ex.answer}</answer>`;
    for (let s = 0; s < 4; s++) {
      const kind: Kind = s === 0 ? "good" : rng.pick(["good", "wrong", "mixed", "repeats", "truncated", "long", "duplicate"] as const);
      const completion = {
        good: s === 0 ? good : `${deriv} so the sum is ${ex.answer} </think><answer>${ex.answer}</answer>`,
        duplicate: ` ${good.replace(" = ", "  =  ")} `,
        wrong: `${deriv}</think><answer>${Number(ex.answer) + 1 + rng.int(0, 3)}</answer>`,
        mixed: `先 add 两个 numbers ${deriv}</think><answer>${ex.answer}</answer>`,
        repeats: `${"add the next one ".repeat(12)}${deriv}</think><answer>${ex.answer}</answer>`,
        truncated: `${deriv}</think><answer>${ex.answer}</answer>`,
        long: `${deriv}</think><answer>${ex.answer}</answer>`,
      }[kind];
      // A good variant drawn twice for a problem is a duplicate too; the generator would not know that.
      const k: Kind = kind === "good" && candidates.some(c => c.problem === p && c.completion.replace(/\s+/g, " ").trim() === completion.replace(/\s+/g, " ").trim()) ? "duplicate" : kind;
      kinds.push(k);
      candidates.push({ problem: p, prompt: tinyR1Prompt(ex.question), completion, answer: ex.answer,
        tokens: kind === "long" ? 500 : 60, finishReason: kind === "truncated" ? "length" : "stop", rewards: {} });
    }
  }
  const scored = await scoreCompletions(["r1_math", "language", "repetition"], candidates.map(c => `<think>${c.completion}`), candidates.map(c => ({ answer: c.answer })));
  candidates.forEach((c, i) => { c.rewards = scored.byName(i); });

  const { kept, dropped } = rejectionFilter(candidates, { reward: "r1_math", minLanguage: 0.95, maxTokens: 200, minRepetition: -0.2, maxPerPrompt: 0 });
  const want = candidates.filter((_, i) => kinds[i] === "good");
  assert.deepEqual(kept, want);
  for (const c of kept) assert.equal(/<answer>(.*)<\/answer>/.exec(c.completion)![1], c.answer, "a kept sample answers correctly");
  const expected: Record<DropReason, number> = { unverified: 0, overlong: 0, mixed_language: 0, repetitive: 0, duplicate: 0, per_prompt_cap: 0 };
  kinds.forEach(k => { if (k !== "good") expected[DROPPED_AS[k]]++; });
  assert.deepEqual(dropped, expected);
  for (const why of ["unverified", "overlong", "mixed_language", "repetitive", "duplicate"] as const) assert.ok(dropped[why] > 0, `the seed exercises ${why}`);

  const capped = rejectionFilter(candidates, { reward: "r1_math", minLanguage: 0.95, maxTokens: 200, minRepetition: -0.2, maxPerPrompt: 1 });
  assert.equal(capped.kept.length, 40);
  assert.equal(capped.dropped.per_prompt_cap, want.length - 40);

  const row = sftRow(kept[0], { model: "/m", step: 12, reward: "r1_math", temperature: 1, seed: 0 });
  assert.deepEqual(Object.keys(row), ["prompt", "completion", "answer", "source"]);
  assert.deepEqual((row.source as { rewards: object }).rewards, kept[0].rewards);
});
