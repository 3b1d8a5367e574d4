/**
 * `move37 prefs` and the rlhf-vs-rl experiment share this: k completions for each of n training problems from a
 * model (src/eval/problems.ts, held-out problems never drawn), judged by the verifier reward (the job's first), and
 * pairs among them labelled (prefs.ts).
 */
import { resolve } from "node:path";
import { sampleProblems, type Policy, type SamplingJob } from "../eval/problems.js";
import { generatedText } from "../rewards/reward-model.js";
import { labelPairs, pairRow, prefsStats, type Candidate, type Labeller, type PrefsStats } from "./prefs.js";

export async function samplePreferencePairs(policy: Policy, job: SamplingJob, labeller: Labeller, opts: { labelSeed: number; maxPerProblem: number }, log?: (m: string) => void):
  Promise<{ rows: Record<string, unknown>[]; stats: PrefsStats }> {
  const s = await sampleProblems(policy, job, log);
  const candidates: Candidate[] = s.gens.map((g, i) => {
    const ex = s.examples[g.prompt], v = s.scored.table[i][0];
    return {
      problem: g.prompt, id: ex.id, answer: ex.answer, prompt: s.fmt.text(ex), continuation: generatedText(g, policy.tokenizer),
      completion: s.fmt.completion(g), correct: v === null ? null : v === 1,
    };
  });
  const pairs = labelPairs(candidates, labeller, { seed: opts.labelSeed, maxPerProblem: opts.maxPerProblem });
  const provenance = { model: resolve(policy.modelDir), step: policy.step, verifier: job.rewards[0], temperature: job.temperature, seed: job.seed, labeller, label_seed: opts.labelSeed };
  return { rows: pairs.map(p => pairRow(p, provenance)), stats: prefsStats(candidates, pairs) };
}
