import { mixSeed } from "../../tasks/rng.js";
import { nanMeanStd } from "./advantages.js";
import { GRPOInputError } from "./errors.js";

/**
 * DAPO's dynamic sampling with resampling (verl's `max_num_gen_batches`): a step samples prompts_per_step prompts'
 * groups; while fewer than prompts_per_step of all groups sampled so far are informative, and rounds are left, it
 * samples prompts_per_step more; then it trains on the first prompts_per_step informative groups (or all it found).
 */

/** Most sampling rounds a step may take (dynamic_sampling_max_rounds), so every data position stays below 2^32. */
export const MAX_SAMPLING_ROUNDS = 32;

/**
 * Training-stream position of prompt i (of P) in round r (1-based) of step s. Round 1 reads s·P + i, exactly as a step
 * without dynamic sampling; later rounds read a second stream from 2^31, ((s·(MAX − 1) + r − 2)·P + i) past it. Every
 * position is a function of (s, r, i), so a resumed run draws the same prompts, and no two (s, r, i) share one.
 */
export function dataPosition(step: number, round: number, i: number, P: number): number {
  if (round < 1 || round > MAX_SAMPLING_ROUNDS) throw new GRPOInputError(`sampling round ${round} is outside 1..${MAX_SAMPLING_ROUNDS}`);
  return round === 1 ? step * P + i : 2 ** 31 + (step * (MAX_SAMPLING_ROUNDS - 1) + round - 2) * P + i;
}

/** The sampler's seed for round r of step s: round 1's is the one a step without dynamic sampling uses. */
export function samplingSeed(seed: number, step: number, round: number): number {
  return round === 1 ? mixSeed(seed, step) : mixSeed(seed, step, round);
}

/**
 * DAPO dynamic sampling: a group whose rewards all agree (std 0, e.g. all right or all wrong) has zero
 * advantage everywhere and only dilutes the batch. Returns the groups (prompt indices) worth training on,
 * and their rows. Null rows are ignored when judging a group; a group with < 2 judged rows is dropped.
 * With `limit`, only the first `limit` informative groups.
 */
export function informativeGroups(rewards: ArrayLike<number>, G: number, limit = Infinity): { groups: number[]; rows: number[] } {
  if (!Number.isInteger(G) || G < 1 || rewards.length % G !== 0)
    throw new GRPOInputError(`${rewards.length} rewards cannot be split into groups of num_generations = ${G}`);
  const groups: number[] = [];
  const rows: number[] = [];
  for (let g = 0; g * G < rewards.length && groups.length < limit; g++) {
    const s = nanMeanStd(Array.prototype.slice.call(rewards, g * G, g * G + G) as number[]);
    if (s.std <= 1e-8) continue;
    groups.push(g);
    for (let i = g * G; i < g * G + G; i++) rows.push(i);
  }
  return { groups, rows };
}
