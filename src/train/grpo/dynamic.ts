import { nanMeanStd } from "./advantages.js";
import { GRPOInputError } from "./errors.js";

/**
 * DAPO dynamic sampling: a group whose rewards all agree (std 0, e.g. all right or all wrong) has zero
 * advantage everywhere and only dilutes the batch. Returns the groups (prompt indices) worth training on,
 * and their rows. Null rows are ignored when judging a group; a group with < 2 judged rows is dropped.
 */
export function informativeGroups(rewards: ArrayLike<number>, G: number): { groups: number[]; rows: number[] } {
  if (!Number.isInteger(G) || G < 1 || rewards.length % G !== 0)
    throw new GRPOInputError(`${rewards.length} rewards cannot be split into groups of num_generations = ${G}`);
  const groups: number[] = [];
  const rows: number[] = [];
  for (let g = 0; g * G < rewards.length; g++) {
    const s = nanMeanStd(Array.prototype.slice.call(rewards, g * G, g * G + G) as number[]);
    if (s.std <= 1e-8) continue;
    groups.push(g);
    for (let i = g * G; i < g * G + G; i++) rows.push(i);
  }
  return { groups, rows };
}
