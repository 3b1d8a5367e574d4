/**
 * Preference labelling: the verifier's pairs are exactly correct-over-incorrect; the simulated annotator's error
 * rate and length bias are measurable in its labels and reproducible from the seed; `move37 prefs` writes pairs
 * whose labels match the verifier reward recomputed on the written text.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { registerReward } from "../../src/rewards/registry.js";
import { makeRng } from "../../src/tasks/rng.js";
import { confidence, labelPairs, prefsStats, LabellerSchema, type Candidate } from "../../src/train/prefs.js";
import { parsePairs } from "../../src/train/reward-model-data.js";
import { runCli } from "../cli/run-cli.js";
import { byteModelFolder } from "../train/grpo-micro.js";
import { tempRoot } from "../train/trainer-harness.js";

registerReward({ name: "test_even", description: "test: 1 for an even-length completion", timeLimitMs: 50, sync: c => (c.length % 2 === 0 ? 1 : 0) });

/** 4 samples for each of n problems: random lengths, correct with probability 0.4 independent of length. */
function candidates(n: number, seed: number): Candidate[] {
  const rng = makeRng(seed);
  return Array.from({ length: n * 4 }, (_, i) => {
    const text = `${i}:` + "x".repeat(rng.int(5, 120));
    return { problem: Math.floor(i / 4), id: `p${Math.floor(i / 4)}`, answer: "1", prompt: `Q${Math.floor(i / 4)} `, continuation: text, completion: `<think>${text}`, correct: rng.next() < 0.4 };
  });
}

const annotator = (over: Record<string, unknown>) => LabellerSchema.parse({ type: "annotator", ...over });

test("verifier pairs are exactly correct over incorrect; ties and unjudgeable samples make no pair", () => {
  const cs = candidates(300, 1);
  cs[0] = { ...cs[0], correct: null };
  const pairs = labelPairs(cs, { type: "verifier" }, { seed: 0, maxPerProblem: 0 });
  assert.ok(pairs.every(p => p.chosen.correct === true && p.rejected.correct === false && p.chosen.problem === p.rejected.problem && !p.flipped));
  let expected = 0;
  for (let p = 0; p < 300; p++) {
    const own = cs.filter(c => c.problem === p);
    expected += own.filter(c => c.correct === true).length * own.filter(c => c.correct === false).length;
  }
  assert.equal(pairs.length, expected);
  assert.ok(pairs.length > 300);
  const capped = labelPairs(cs, { type: "verifier" }, { seed: 0, maxPerProblem: 1 });
  assert.ok(new Set(capped.map(p => p.chosen.problem)).size === capped.length);
});

test("the annotator's error rate and length bias are measurable, and its labels reproducible from the seed", () => {
  const cs = candidates(600, 2);
  // accuracy only: the same pairs as the verifier, a share error_rate of them flipped
  const honest = labelPairs(cs, annotator({}), { seed: 1, maxPerProblem: 0 });
  assert.equal(prefsStats(cs, honest).agreement, 1);
  const careless = labelPairs(cs, annotator({ error_rate: 0.25 }), { seed: 1, maxPerProblem: 0 });
  const s = prefsStats(cs, careless), n = s.verifiable, sd = Math.sqrt(0.25 * 0.75 / n);
  assert.equal(n, honest.length);
  assert.ok(Math.abs(s.flipped / n - 0.25) < 4 * sd, `flipped ${s.flipped} of ${n}`);
  assert.ok(Math.abs(s.agreement! - 0.75) < 4 * sd);
  assert.deepEqual(labelPairs(cs, annotator({ error_rate: 0.25 }), { seed: 1, maxPerProblem: 0 }).map(p => p.chosen.continuation), careless.map(p => p.chosen.continuation));
  assert.notDeepEqual(labelPairs(cs, annotator({ error_rate: 0.25 }), { seed: 2, maxPerProblem: 0 }).map(p => p.flipped), careless.map(p => p.flipped));

  // a length-loving annotator: prefers the longer completion far more often than the verifier does, at the cost of agreement
  const verifier = prefsStats(cs, labelPairs(cs, { type: "verifier" }, { seed: 0, maxPerProblem: 0 }));
  const biased = prefsStats(cs, labelPairs(cs, annotator({ length_weight: 2 }), { seed: 0, maxPerProblem: 0 }));
  assert.ok(Math.abs(verifier.chosen_longer! - 0.5) < 0.1, `verifier chose the longer ${verifier.chosen_longer}`);
  assert.ok(biased.chosen_longer! > 0.8, `biased annotator chose the longer ${biased.chosen_longer}`);
  assert.ok(biased.agreement! < 0.9 && biased.agreement! > 0.5, `agreement ${biased.agreement}`);
  assert.ok(biased.pairs > verifier.pairs, "it also ranks pairs the verifier cannot separate");
});

test("confidence: sure words and '!' minus hedges and '?'", () => {
  assert.equal(confidence("Clearly 5! Definitely."), 3);
  assert.equal(confidence("maybe 5? I think so"), -3);
  const sure = annotator({ accuracy_weight: 0, confidence_weight: 1 });
  const [a, b] = [{ problem: 0, id: "p", answer: "5", prompt: "Q ", continuation: "5", completion: "5", correct: true },
    { problem: 0, id: "p", answer: "5", prompt: "Q ", continuation: "certainly 4!", completion: "certainly 4!", correct: false }];
  const [pair] = labelPairs([a, b], sure, { seed: 0, maxPerProblem: 0 });
  assert.equal(pair.chosen.continuation, "certainly 4!");
  assert.equal(pair.agreesWithVerifier, false);
});

test("move37 prefs: verifier-labelled pairs from sampled completions, with provenance, readable by the reward-model loader", async () => {
  const root = tempRoot("prefs-cli");
  const model = byteModelFolder(root), out = join(root, "prefs.jsonl");
  const r = await runCli(["prefs", model, "--task", "arithmetic", "--task-options", '{"min_terms":2,"max_terms":3}', "--max-new-tokens", "7",
    "--n", "12", "--k", "4", "--reward", "test_even", "--seed", "3", "--out", out]);
  assert.equal(r.error, undefined, r.error?.message);
  const rows = readFileSync(out, "utf8").trim().split("\n").map(l => JSON.parse(l));
  assert.ok(rows.length >= 5, `only ${rows.length} pairs`);
  assert.match(r.stdout, new RegExp(`${rows.length} pairs from 12 problems`));
  const even = (s: string) => (`<think>${s}`.length % 2 === 0 ? 1 : 0);
  for (const row of rows) {
    assert.equal(even(row.chosen), 1, `chosen ${JSON.stringify(row.chosen)}`);
    assert.equal(even(row.rejected), 0);
    assert.deepEqual([row.label.chosen.correct, row.label.rejected.correct, row.label.agrees_with_verifier], [true, false, true]);
    assert.equal(row.source.verifier, "test_even");
    assert.equal(row.source.labeller.type, "verifier");
    assert.match(row.prompt, /Assistant: <think>$/);
  }
  assert.equal(parsePairs(readFileSync(out, "utf8")).length, rows.length);
  const biased = await runCli(["prefs", model, "--task", "arithmetic", "--max-new-tokens", "7", "--n", "12", "--k", "4", "--reward", "test_even", "--seed", "3",
    "--labeller", "annotator", "--length-weight", "5", "--error-rate", "0.1", "--out", join(root, "biased.jsonl")]);
  assert.equal(biased.error, undefined, biased.error?.message);
  assert.match(biased.stdout, /chosen is the longer completion\s+(9\d|100)\.\d%/);
  assert.equal((await runCli(["prefs", model, "--task", "arithmetic", "--labeller", "crowd", "--out", out])).error?.name, "CommanderError");
});
