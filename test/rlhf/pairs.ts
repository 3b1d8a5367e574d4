// Preference pairs for reward-model tests.
import { makeRng } from "../../src/tasks/rng.js";

/** n pairs: a random lowercase completion with an X inserted (chosen) against one of the same length without (rejected). */
export function containsXPairs(n: number, seed: number): { prompt: string; chosen: string; rejected: string }[] {
  const rng = makeRng(seed);
  const word = (len: number) => Array.from({ length: len }, () => String.fromCharCode(97 + rng.int(0, 25))).join("");
  return Array.from({ length: n }, (_, i) => {
    const base = word(rng.int(5, 12)), at = rng.int(0, base.length);
    const chosen = base.slice(0, at) + "X" + base.slice(at);
    return { prompt: `Q${i % 97}: `, chosen, rejected: word(chosen.length) };
  });
}
