/**
 * `move37 prefs` and the rlhf-vs-rl experiment share this: sample k completions for each of n training problems from
 * a model (cli/eval.ts's sampler, held-out problems never drawn), judge them with the verifier reward, and label
 * pairs among them (prefs.ts).
 */
import { resolve } from "node:path";
import { sampleProblems, type ProblemFlags } from "../cli/eval.js";
import { generatedText } from "../rewards/reward-model.js";
import { labelPairs, pairRow, prefsStats, type Candidate, type Labeller, type PrefsStats } from "./prefs.js";

export async function samplePreferencePairs(dir: string, flags: ProblemFlags, labeller: Labeller, opts: { labelSeed: number; maxPerProblem: number }):
  Promise<{ rows: Record<string, unknown>[]; stats: PrefsStats }> {
  const s = await sampleProblems(dir, flags, "train", r => [r]);
  const candidates: Candidate[] = s.gens.map((g, i) => {
    const ex = s.examples[g.prompt], v = s.scored.table[i][0];
    return {
      problem: g.prompt, id: ex.id, answer: ex.answer, prompt: s.fmt.text(ex), continuation: generatedText(g, s.tokenizer),
      completion: s.fmt.completion(g), correct: v === null ? null : v === 1,
    };
  });
  const pairs = labelPairs(candidates, labeller, { seed: opts.labelSeed, maxPerProblem: opts.maxPerProblem });
  const provenance = { model: resolve(s.modelDir), step: s.step, verifier: s.reward, temperature: flags.temperature, seed: flags.seed, labeller, label_seed: opts.labelSeed };
  return { rows: pairs.map(p => pairRow(p, provenance)), stats: prefsStats(candidates, pairs) };
}
