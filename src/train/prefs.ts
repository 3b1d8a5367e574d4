/**
 * Preference pairs from a model's own samples, labelled by a verifier or by a simulated human annotator.
 *
 *   verifier    the objective labeller: a correct completion is preferred to an incorrect one; pairs the verifier
 *               cannot separate (both right, both wrong, or either unjudgeable) are not made.
 *   annotator   a simulated person with biases: utility u = accuracy_weight·correct + length_weight·chars/100
 *               + confidence_weight·confidence, the higher utility preferred (equal utilities: no pair), then the
 *               label flipped with probability error_rate. "Prefers longer", "prefers confident-sounding" and
 *               "is wrong some of the time" are the failures of human feedback RLHF inherits.
 *
 * Every random choice derives from (seed, problem, i, j), so the same samples give the same labels. Rows carry
 * provenance and what the labeller saw, so the bias can be measured afterwards (`agrees_with_verifier`).
 */
import { z } from "zod";
import { makeRng, mixSeed } from "../tasks/rng.js";

export const LabellerSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("verifier") }).strict(),
  z.object({
    type: z.literal("annotator"),
    /** Weight of a correct answer (the annotator checks it). */
    accuracy_weight: z.number().default(1),
    /** Weight per 100 characters of completion: > 0 prefers longer answers. */
    length_weight: z.number().default(0),
    /** Weight of sounding sure (confidence(): confident words minus hedges, per completion). */
    confidence_weight: z.number().default(0),
    /** Probability that the label is flipped (a careless or mistaken annotator). */
    error_rate: z.number().min(0).max(1).default(0),
  }).strict(),
]);
export type Labeller = z.output<typeof LabellerSchema>;

const CONFIDENT = /\b(clearly|certainly|definitely|obviously|surely|exactly|always|guaranteed|of course)\b|!/gi;
const HEDGE = /\b(maybe|perhaps|probably|possibly|might|unsure|not sure|i think|guess|roughly|about)\b|\?/gi;

/**
 * How sure a completion sounds: confident words and "!" minus hedges and "?" (the think and answer text alike).
 *   confidence("Clearly 5! Definitely.")   // 3
 *   confidence("maybe 5? I think so")       // -3
 */
export function confidence(text: string): number {
  return (text.match(CONFIDENT)?.length ?? 0) - (text.match(HEDGE)?.length ?? 0);
}

/** One sampled completion as the labellers see it. */
export interface Candidate {
  /** Index of its problem; pairs are made within a problem. */
  problem: number;
  /** The problem's id and gold answer (provenance). */
  id: string;
  answer: string;
  /** The prompt as the policy saw it, and the text it generated after it (what the reward model reads). */
  prompt: string;
  continuation: string;
  /** The completion as rewards and labellers read it. */
  completion: string;
  /** The verifier's verdict: true correct, false incorrect, null cannot judge. */
  correct: boolean | null;
}

export interface PairLabel {
  chosen: Candidate;
  rejected: Candidate;
  /** The annotator's label was flipped by error_rate. */
  flipped: boolean;
  /** Whether the preferred completion is the verifier's preference (null when the verifier cannot separate them). */
  agreesWithVerifier: boolean | null;
}

/** The annotator's utility of a completion. */
export function utility(l: Extract<Labeller, { type: "annotator" }>, c: Candidate): number {
  return l.accuracy_weight * (c.correct ? 1 : 0) + l.length_weight * c.completion.length / 100 + l.confidence_weight * confidence(c.completion);
}

/** +1 when the verifier prefers a, −1 when b, 0 when it cannot separate them. */
function verdict(a: Candidate, b: Candidate): number {
  return a.correct === null || b.correct === null || a.correct === b.correct ? 0 : a.correct ? 1 : -1;
}

/**
 * Labelled pairs among the candidates of each problem (distinct completions only), at most `maxPerProblem` per
 * problem (0 = all), chosen at random by `seed` when there are more.
 */
export function labelPairs(candidates: readonly Candidate[], labeller: Labeller, opts: { seed: number; maxPerProblem: number }): PairLabel[] {
  const byProblem = new Map<number, Candidate[]>();
  for (const c of candidates) {
    const list = byProblem.get(c.problem) ?? [];
    if (!list.some(x => x.continuation === c.continuation)) list.push(c);
    byProblem.set(c.problem, list);
  }
  const out: PairLabel[] = [];
  for (const [problem, list] of byProblem) {
    const pairs: PairLabel[] = [];
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) {
      const a = list[i], b = list[j], v = verdict(a, b);
      let prefer: number, flipped = false;
      if (labeller.type === "verifier") prefer = v;
      else {
        prefer = Math.sign(utility(labeller, a) - utility(labeller, b));
        if (prefer !== 0 && makeRng(mixSeed(opts.seed, problem, i, j)).next() < labeller.error_rate) { prefer = -prefer; flipped = true; }
      }
      if (prefer === 0) continue;
      const [chosen, rejected] = prefer > 0 ? [a, b] : [b, a];
      pairs.push({ chosen, rejected, flipped, agreesWithVerifier: v === 0 ? null : v === prefer });
    }
    if (opts.maxPerProblem > 0 && pairs.length > opts.maxPerProblem) {
      const rng = makeRng(mixSeed(opts.seed, problem, 0x9a125));
      for (let k = pairs.length - 1; k > 0; k--) { const r = rng.int(0, k); [pairs[k], pairs[r]] = [pairs[r], pairs[k]]; }
      pairs.length = opts.maxPerProblem;
    }
    out.push(...pairs);
  }
  return out;
}

export interface PrefsStats {
  candidates: number;
  pairs: number;
  problems: number;
  /** Pairs whose label the error rate flipped. */
  flipped: number;
  /** Of the pairs the verifier can separate: how many, and the share whose label agrees with it. */
  verifiable: number;
  agreement: number | null;
  /** Share of pairs whose chosen completion is the longer one (the length bias, measured). */
  chosen_longer: number | null;
}

export function prefsStats(candidates: readonly Candidate[], pairs: readonly PairLabel[]): PrefsStats {
  const judged = pairs.filter(p => p.agreesWithVerifier !== null);
  const unequal = pairs.filter(p => p.chosen.completion.length !== p.rejected.completion.length);
  return {
    candidates: candidates.length, pairs: pairs.length, problems: new Set(candidates.map(c => c.problem)).size,
    flipped: pairs.filter(p => p.flipped).length, verifiable: judged.length,
    agreement: judged.length ? judged.filter(p => p.agreesWithVerifier).length / judged.length : null,
    chosen_longer: unequal.length ? unequal.filter(p => p.chosen.completion.length > p.rejected.completion.length).length / unequal.length : null,
  };
}

/** A JSONL row for the reward-model trainer: the pair, what the labeller saw, and where it came from. */
export function pairRow(p: PairLabel, provenance: Record<string, unknown>): Record<string, unknown> {
  const seen = (c: Candidate) => ({ correct: c.correct, chars: c.completion.length, confidence: confidence(c.completion) });
  return {
    prompt: p.chosen.prompt, chosen: p.chosen.continuation, rejected: p.rejected.continuation, problem: p.chosen.id, answer: p.chosen.answer,
    label: { chosen: seen(p.chosen), rejected: seen(p.rejected), flipped: p.flipped, agrees_with_verifier: p.agreesWithVerifier },
    source: provenance,
  };
}
