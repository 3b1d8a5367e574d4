/**
 * pass@k and maj@k from n samples per problem.
 *
 * pass@k is the unbiased estimator of Chen et al. 2021 (Codex, eq. 1): with c of n samples correct,
 *   pass@k = 1 − C(n−c, k) / C(n, k),
 * computed as the product 1 − Π_{i=n−c+1}^{n} (1 − k/i), which never forms the huge binomials.
 * maj@k (Minerva's majority voting) takes the most common extracted answer of k samples and counts the
 * problem solved when that answer is a correct one.
 */
import { answerCandidates } from "../rewards/math/extract.js";

export class PassAtKError extends Error {
  constructor(message: string) { super(message); this.name = "PassAtKError"; }
}

/**
 * Unbiased pass@k of one problem with `c` correct out of `n` samples.
 *   passAtK(5, 1, 1) // 0.2;  passAtK(5, 1, 2) // 0.4;  passAtK(5, 2, 2) // 0.7;  passAtK(4, 2, 3) // 1
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || c < 0 || c > n || k > n)
    throw new PassAtKError(`pass@k needs integers 0 ≤ c ≤ n and 1 ≤ k ≤ n; got n=${n}, c=${c}, k=${k}: draw at least k samples per problem`);
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/**
 * The answer a completion gives, for voting: the math extractor's first candidate (the <answer> tag outside
 * <think>, else \boxed{}, a "final answer" phrase or the last number), whitespace removed; null when none.
 *   extractAnswer("<think>2+2</think><answer> 4 </answer>") // "4"
 */
export function extractAnswer(completion: string): string | null {
  const first = answerCandidates(completion)[0];
  if (first === undefined) return null;
  const key = first.replace(/\s+/g, "");
  return key === "" ? null : key;
}

/** Most frequent non-null answer (ties go to the one seen first) and its indices, or null if none. */
export function majorityVote(answers: readonly (string | null)[]): { answer: string; members: number[] } | null {
  const groups = new Map<string, number[]>();
  answers.forEach((a, i) => { if (a !== null) groups.set(a, [...(groups.get(a) ?? []), i]); });
  let best: { answer: string; members: number[] } | null = null;
  for (const [answer, members] of groups) if (!best || members.length > best.members.length) best = { answer, members };
  return best;
}

/** One problem's samples: whether each is correct (the reward gave 1) and the answer it extracted. */
export interface ProblemSamples { correct: readonly boolean[]; answers: readonly (string | null)[] }

export interface PassAtKSummary { problems: number; samples: number; k: number; pass1: number; passK: number; majK: number }

/**
 * Means over problems of pass@1, pass@k (both from all n samples) and maj@k (a vote over the first k samples).
 * A voted answer counts as correct when a sample that gave it was judged correct: the verifier judges answers,
 * and samples with the same extracted answer differ only in what the verifier may also require (e.g. format).
 */
export function summarize(problems: readonly ProblemSamples[], k: number): PassAtKSummary {
  if (problems.length === 0) throw new PassAtKError("no problems to evaluate: give at least one");
  let p1 = 0, pk = 0, mk = 0, samples = 0;
  for (const p of problems) {
    const n = p.correct.length, c = p.correct.filter(Boolean).length;
    samples += n;
    p1 += passAtK(n, c, 1);
    pk += passAtK(n, c, k);
    const vote = majorityVote(p.answers.slice(0, k));
    if (vote && vote.members.some(i => p.correct[i])) mk++;
  }
  const m = problems.length;
  return { problems: m, samples, k, pass1: p1 / m, passK: pk / m, majK: mk / m };
}

/**
 * The unbiased pass@k curve: for each k, the mean over problems of pass@k from all n samples of each (n ≥ k), as the
 * critics of RLVR measure it (Yue et al. 2025: does RL only sharpen what the base finds at large k, or extend it?).
 *   passAtKCurve([[true, false, false, false], [false, false, false, false]], [1, 4]) // { "1": 0.125, "4": 0.5 }
 */
export function passAtKCurve(correct: readonly (readonly boolean[])[], ks: readonly number[]): Record<string, number> {
  if (correct.length === 0) throw new PassAtKError("no problems to evaluate: give at least one");
  const out: Record<string, number> = {};
  for (const k of ks) {
    let s = 0;
    for (const c of correct) s += passAtK(c.length, c.filter(Boolean).length, k);
    out[String(k)] = s / correct.length;
  }
  return out;
}

/** The curve over all problems and, when problems carry a subset (countdown's seen_target / unseen_target), per subset. */
export function passAtKCurves(correct: readonly (readonly boolean[])[], ks: readonly number[], subsets?: readonly (string | undefined)[]):
  { all: Record<string, number>; subsets?: Record<string, Record<string, number>> } {
  const all = passAtKCurve(correct, ks);
  const names = [...new Set((subsets ?? []).filter((s): s is string => s !== undefined))].sort();
  if (names.length === 0) return { all };
  return { all, subsets: Object.fromEntries(names.map(n => [n, passAtKCurve(correct.filter((_, i) => subsets![i] === n), ks)])) };
}

/** "1,4,16,64" → [1, 4, 16, 64]: distinct positive integers, ascending. */
export function parseKs(list: string): number[] {
  const ks = list.split(",").map(s => s.trim()).filter(Boolean).map(Number);
  if (ks.length === 0 || ks.some(k => !Number.isInteger(k) || k < 1))
    throw new PassAtKError(`pass@k list "${list}": give positive integers separated by commas, e.g. 1,4,16,64,256`);
  return [...new Set(ks)].sort((a, b) => a - b);
}
