import type { TaskRng } from "../rng.js";

/**
 * Word lists and a filler-sentence generator: background language for the corpus, and random-length
 * padding between a problem and its derivation (so copying the problem does not depend on a fixed offset).
 */
const SUBJECTS = ["the cat", "a farmer", "my sister", "the old clock", "a small boat", "the teacher", "our dog", "the wind", "a baker", "the river", "the child", "a robot"];
const VERBS = ["watched", "carried", "found", "painted", "followed", "counted", "opened", "missed", "fixed", "heard", "liked", "moved"];
const OBJECTS = ["the red door", "three apples", "a long letter", "the green hill", "some bread", "the last train", "a blue box", "the garden", "two stones", "the map", "a warm coat", "the lamp"];
const PLACES = ["in the morning", "near the market", "after lunch", "by the sea", "at night", "in the rain", "on monday", "at the station", "under the bridge", "before dinner"];
// "think" and "answer" are ordinary English words a base model knows (as DeepSeek-V3-Base does); only the tags are kept out.
const REMARKS = ["Okay.", "Right.", "Let me see.", "Hmm.", "Fine.", "Numbers again.", "This one is short.", "Take it slowly.", "Good.", "One moment.", "Let us check.", "Easy enough.", "Let me think.", "I think so.", "Think it over.", "What is the answer?", "No answer yet."];

/** The content words of the sentence lists (3+ letters, no article), for made-up names built from familiar words. */
export const WORDS: readonly string[] = [...new Set([...SUBJECTS, ...VERBS, ...OBJECTS, ...PLACES].flatMap(s => s.split(" ")).filter(w => /^[a-z]{3,}$/.test(w) && !["the", "our", "some"].includes(w)))];

export const NAMES = ["Alice", "Bob", "Carol", "Dan", "Eve", "Finn", "Gina", "Hugo"];

/** Generic markup tag names. Never "think" or "answer": the RL format must not be taught. */
export const TAGS = ["q", "code", "note", "work", "calc", "box", "step", "b", "i", "p", "div", "span", "sum", "res", "out", "ex", "pre", "val", "sol", "hint", "m", "k", "x", "y"];

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

export function sentence(rng: TaskRng): string {
  return rng.next() < 0.25
    ? rng.pick(REMARKS)
    : `${cap(rng.pick(SUBJECTS))} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}${rng.next() < 0.5 ? " " + rng.pick(PLACES) : ""}.`;
}

/** 0..max filler sentences joined by spaces (possibly empty). */
export function filler(rng: TaskRng, max: number): string {
  return Array.from({ length: rng.int(0, max) }, () => sentence(rng)).join(" ");
}

/** A short paragraph of plain text. */
export const paragraph = (rng: TaskRng) => Array.from({ length: rng.int(2, 6) }, () => sentence(rng)).join(" ");

/** Made-up names must never spell or contain the RL format's tags. */
const FORBIDDEN = /think|answer/;

/**
 * A tag name the model cannot have memorised: 1–8 letters drawn uniformly from a–z (e.g. "qe", "thupkar"), never
 * containing "think" or "answer". Closing such a tag, or writing one an instruction names, is pure copying. Two
 * narrower choices failed: with only the fixed TAGS a base closed "<think>" with the nearest name it knew
 * ("</hint>"); with consonant-vowel names (no "h", no "nk") it copied "</th" and then drifted ("</though>").
 */
export function novelTag(rng: TaskRng): string {
  for (;;) {
    let t = "";
    for (let n = rng.int(1, 8); n > 0; n--) t += String.fromCharCode(97 + rng.int(0, 25));
    if (!FORBIDDEN.test(t)) return t;
  }
}
/** Two different tag names, from TAGS or (with probability `novel`) freshly made up. */
export function tagPair(rng: TaskRng, novel = 0): [string, string] {
  const draw = () => (rng.next() < novel ? novelTag(rng) : rng.pick(TAGS));
  const a = draw();
  let b = draw();
  while (b === a) b = draw();
  return [a, b];
}
