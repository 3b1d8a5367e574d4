import type { TaskRng } from "../rng.js";
import { chainDerivation, chainText, chainValue, type Chain } from "../tasks/arithmetic.js";
import { countdownQuestion, equationSteps, randomAttempt } from "../tasks/countdown.js";
import type { Example } from "../tasks/types.js";
import { LANGUAGE_WORDS, otherLanguage, wordedSteps, type WordedLanguage } from "../tasks/languages.js";
import { filler, NAMES, novelTag, paragraph, sentence, tagPair } from "./words.js";
import { writeSearch } from "./search.js";
import { ToolsCorpusSchema, toolsDocument, type ToolsCorpusConfig, type ToolsMeta } from "./tools.js";

/**
 * One function per corpus genre: (rng, problem) → document text. Together they give the base model the
 * latent skill (restate the chain, fold it left to a number) in many contexts, without ever showing the
 * RL format (<think>/<answer>) or the RL prompt frame.
 */
export interface GenreContext {
  rng: TaskRng;
  chain: Chain;
  maxFiller: number;
  /** Draws a countdown instance (numbers, target, a solution) for the countdown genre. */
  countdown: () => Example;
  /** Share of format-genre replies that show the derivation in the working tag (the rest leave it empty). */
  showWork: number;
  /** The worded genre's languages and rates (corpus config `bilingual`). */
  bilingual?: BilingualRates;
  /** The tools genre's problems and rates (corpus config `tools`). */
  tools?: ToolsCorpusConfig;
  /** Whether a problem id is held out by the RL runs (the tools genre draws its problems past them). */
  heldOut?: (id: string) => boolean;
  /** Filled by the worded genre (the languages of the document) and the tools genre (its calls), for tests and reports. */
  meta?: { languages?: WordedMeta; tools?: ToolsMeta };
}

export interface BilingualRates {
  /** The second language (English is the first). */
  language: Exclude<WordedLanguage, "en">;
  /** Share of worded documents whose problem is posed in the second language. */
  second_share: number;
  /** Share of worded documents whose working is in the other language than the problem (asked in one, worked in the other). */
  cross_rate: number;
  /** Share of worded derivations (of at least two steps) that switch language part-way and end in the other one. */
  switch_rate: number;
}

/** The languages of a worded document: of the problem, of the working (null when there is none), and whether it switched. */
export interface WordedMeta { question: WordedLanguage; working: WordedLanguage | null; switched: boolean }

const question = (ch: Chain) => `${chainText(ch)}=?`;
const WORD = { "+": "plus", "-": "minus" } as const;

/** "3+7-2+9 = 17", "What is 3+7-2+9? 17." */
export function direct({ rng, chain }: GenreContext): string {
  const e = chainText(chain), v = chainValue(chain);
  return rng.pick([`${e} = ${v}`, `${e}=${v}`, `What is ${e}? ${v}.`, `${question(chain)} ${v}`, `${e} makes ${v}.`, `${question(chain)} The answer is ${v}.`]);
}

/** "To work out 3+7-2+9: 3 plus 7 is 10, 10 minus 2 is 8, 8 plus 9 is 17. So it is 17." */
export function prose({ rng, chain }: GenreContext): string {
  const parts: string[] = [];
  let acc = chain.terms[0];
  chain.ops.forEach((op, i) => {
    const next = op === "+" ? acc + chain.terms[i + 1] : acc - chain.terms[i + 1];
    parts.push(`${acc} ${WORD[op]} ${chain.terms[i + 1]} is ${next}`);
    acc = next;
  });
  const lead = rng.pick(["To work out", "To compute", "Let us find", "We want"]);
  return `${lead} ${chainText(chain)}: ${parts.join(", ")}. ${rng.pick(["So it is", "The result is", "That gives", "Total:"])} ${acc}.`;
}

/** Problem, random filler, then the fold-left derivation after a varied lead-in. */
export function steps({ rng, chain, maxFiller }: GenreContext): string {
  const head = rng.pick([`Problem: ${question(chain)}`, `${question(chain)}`, `Compute ${chainText(chain)}.`, `Exercise. ${question(chain)}`]);
  const pad = filler(rng, maxFiller);
  const lead = rng.pick(["Step by step:", "Working:", "Solution:", "Let me compute.", "Steps:", "Worked out:"]);
  const tail = rng.pick([`Result: ${chainValue(chain)}`, `So ${chainValue(chain)}.`, `Done: ${chainValue(chain)}`, `Answer: ${chainValue(chain)}`, ""]);
  return [head, pad, lead, chainDerivation(chain), tail].filter(Boolean).join(rng.pick([" ", "\n"]));
}

/** Q/A, named speakers, or User/Assistant — plain text, no tags. */
export function dialog({ rng, chain, maxFiller }: GenreContext): string {
  const [a, b] = rng.pick([["Q:", "A:"], ["User:", "Assistant:"], ["Question:", "Reply:"], [`${NAMES[rng.int(0, 3)]}:`, `${NAMES[rng.int(4, 7)]}:`]]);
  const ask = rng.pick([question(chain), `what is ${chainText(chain)}?`, `can you do ${chainText(chain)}?`]);
  const reply = rng.next() < 0.7
    ? `${filler(rng, Math.min(1, maxFiller))} ${chainDerivation(chain)}${rng.pick(["", `, so ${chainValue(chain)}.`])}`.trim()
    : rng.pick([`${chainValue(chain)}.`, `I think it is ${chainValue(chain)}.`, `The answer is ${chainValue(chain)}.`]);
  return `${a} ${ask} ${b} ${reply}`;
}

/** Generic markup around text, problems or results, with no derivation inside tags. */
export function markup({ rng, chain }: GenreContext): string {
  const [t, u] = tagPair(rng, 0.5);
  return rng.pick([
    `<${t}>${sentence(rng)}</${t}> ${sentence(rng)}`,
    `<${t}>${question(chain)}</${t}> <${u}>${chainValue(chain)}</${u}>`,
    `<${t}><${u}>${sentence(rng)}</${u}> ${sentence(rng)}</${t}>`,
    `${sentence(rng)} <${t}>${chainText(chain)}</${t}> is ${chainValue(chain)}.`,
  ]);
}

/** The bridge: a derivation inside a generic tag, the result after it (grpo lesson: ~10% of documents). */
export function bridge({ rng, chain, maxFiller }: GenreContext): string {
  const [t, u] = tagPair(rng, 0.5);
  const before = rng.pick([`${question(chain)} `, `Q: ${question(chain)} A: `, `<q>${question(chain)}</q>`, `${question(chain)} ${filler(rng, maxFiller)} `, `User: ${question(chain)} Assistant: `]);
  const after = rng.pick([`<${u}>${chainValue(chain)}</${u}>`, ` ${chainValue(chain)}`, ` so ${chainValue(chain)}.`]);
  return `${before}<${t}>${chainDerivation(chain)}</${t}>${after}`;
}

/**
 * Format following with arbitrary tag names: an instruction names two tags and the reply uses them.
 * This is the generic skill the RL prompt's own instruction (which names think/answer) relies on; the
 * phrasings here are deliberately different from the RL prompt's wording.
 */
const INSTRUCTIONS: ((a: string, b: string) => string)[] = [
  (a, b) => `Put the working in <${a}></${a}> and the result in <${b}></${b}>.`,
  (a, b) => `Format: <${a}>steps</${a}><${b}>result</${b}>.`,
  (a, b) => `Use <${a}> for the steps and <${b}> for the final number.`,
  (a, b) => `Show work inside <${a}> tags, then the value inside <${b}> tags.`,
];
export function format({ rng, chain, showWork }: GenreContext): string {
  const [a, b] = tagPair(rng, 0.75);
  const instr = rng.pick(INSTRUCTIONS)(a, b);
  if (rng.next() < 0.25) {
    const w = rng.pick(["cat", "seven", "river", "blue", "lamp", "bread"]);
    return `${rng.pick(["", "Q: "])}Say ${w}. ${instr.replace("working", "thought").replace("steps", "thought")} ${rng.pick(["", "A: "])}<${a}>The word is ${w}.</${a}><${b}>${w}</${b}>`;
  }
  const [q, r] = rng.pick([["", " "], ["Q: ", " A: "], ["Task: ", "\n"], ["User: ", " Assistant: "]]);
  // Like text found in the wild, not every reply that is asked for its working shows it. At 1 no number is drawn,
  // so the default corpus (and every base model made from it) stays what it was before this option existed.
  const work = showWork >= 1 || rng.next() < showWork ? chainDerivation(chain) : "";
  return `${q}${question(chain)} ${instr}${r}<${a}>${work}</${a}><${b}>${chainValue(chain)}</${b}>`;
}

/**
 * Repetition of strings the model has never seen: made-up words said again, spelled, listed twice, or tags
 * nested and closed in reverse order. Copying an arbitrary letter string is the skill that closing a tag (or
 * writing a tag an instruction names) rests on; a base trained without this genre copied only the first letter
 * of a made-up tag name ("<mihqhgh>13</mizsll>").
 */
export function copy({ rng }: GenreContext): string {
  const words = Array.from({ length: rng.int(1, 4) }, () => novelTag(rng));
  const list = words.join(rng.pick([" ", ", "]));
  const [t, u] = tagPair(rng, 0.9);
  return rng.pick([
    () => `Repeat after me: ${list}. ${rng.pick(["", "Okay: ", "Sure. "])}${list}.`,
    () => `${rng.pick(NAMES)} ${rng.pick(["named the boat", "wrote", "called the dog", "said"])} "${words[0]}". ${filler(rng, 2)} ${rng.pick(["Again:", "It was", "The name:"])} "${words[0]}".`.replace(/ +/g, " "),
    () => `The code is ${words[0]}. ${filler(rng, 1)} Enter ${words[0]} to open.`.replace(/ +/g, " "),
    () => `<${t}><${u}>${sentence(rng)}</${u}> ${list}</${t}>`,
    () => `Words: ${list}. Backwards: ${[...words].reverse().join(", ")}.`,
  ])();
}

/** Plain background prose, sometimes with inline markup. */
export function text({ rng }: GenreContext): string {
  const p = paragraph(rng);
  const [t] = tagPair(rng, 0.5);
  return rng.next() < 0.2 ? `<${t}>${p}</${t}>` : p;
}

/**
 * Countdown search traces: failed tries, then the one that reaches the target, e.g.
 * "Use 3, 5, 2 to make 16. 3*5 = 15, 15+2 = 17, no. 3+5 = 8, 8*2 = 16, yes. (3+5)*2 = 16".
 * Longer searches for harder instances are what lets completion length grow under RL (lesson 9).
 */
export function countdown({ rng, countdown: draw }: GenreContext): string {
  const ex = draw();
  const numbers = ex.numbers!, target = ex.target!;
  const tries: string[] = [];
  const fails = rng.int(0, 3);
  for (let k = 0; k < 20 && tries.length < fails; k++) {
    const a = randomAttempt(rng, numbers, ["+", "-", "*", "/"]);
    if (a && a.value !== target) tries.push(`${a.steps.join(", ")}, no.`);
  }
  const search = [...tries, `${equationSteps(ex.answer)!.join(", ")}, yes.`].join(" ");
  const expr = ex.answer;
  const q = countdownQuestion(numbers, target);
  const [t, u] = tagPair(rng, 0.5);
  return rng.pick([
    `${q} ${search} ${expr} = ${target}`.replace(/ +/g, " "),
    `${q} <${t}>${search}</${t}><${u}>${expr}</${u}>`,
    `Q: ${q} A: ${expr} = ${target}`,
  ]);
}

const ASK: ((ns: readonly number[], t: number) => string)[] = [
  (ns, t) => countdownQuestion(ns, t),
  (ns, t) => countdownQuestion(ns, t),
  (ns, t) => `Numbers: ${ns.join(" ")}. Target: ${t}.`,
  (ns, t) => `Make ${t} from ${ns.slice(0, -1).join(", ")} and ${ns.at(-1)}.`,
  (ns, t) => `Countdown: ${ns.join(", ")} -> ${t}.`,
  (ns, t) => `Can you reach ${t} with ${ns.join(", ")}? Each number once.`,
];

/**
 * Countdown search written in the wild (src/corpus/search.ts): tries, dead ends, checks some said and some not,
 * abandoned lines, backtracks, then the equation, or giving up. Framed as a note, a dialog, a reply that follows an
 * instruction naming two made-up tags (the skill the RL prompt relies on, never its wording or tags), or tags alone.
 */
export function search({ rng, countdown: draw }: GenreContext): string {
  const ex = draw();
  const numbers = ex.numbers!, target = ex.target!;
  const q = rng.pick(ASK)(numbers, target);
  const trace = writeSearch(rng, numbers, target);
  const eq = trace.solution;
  const final = eq === null ? "" : rng.pick([`So ${eq} = ${target}.`, `Answer: ${eq}`, `${eq} = ${target}`, `Solution: ${eq}.`]);
  const [a, b] = tagPair(rng, 0.75);
  const r = rng.next();
  if (r < 0.3) return `${q} ${trace.text} ${final}`.trim();
  if (r < 0.5) {
    const [x, y] = rng.pick([["Q:", "A:"], ["User:", "Assistant:"], ["Question:", "Reply:"], [`${NAMES[rng.int(0, 3)]}:`, `${NAMES[rng.int(4, 7)]}:`]]);
    return `${x} ${q} ${y} ${trace.text} ${final}`.trim();
  }
  const result = eq ?? rng.pick(["none", "no solution", "?"]);
  if (r < 0.8) return `${q} ${rng.pick(INSTRUCTIONS)(a, b)} <${a}>${trace.text}</${a}><${b}>${result}</${b}>`;
  return `${q} <${a}>${trace.text}</${a}><${b}>${result}</${b}>`;
}

const RU_INSTRUCTIONS: ((a: string, b: string) => string)[] = [
  (a, b) => `Запиши решение в <${a}></${a}>, а ответ в <${b}></${b}>.`,
  (a, b) => `Шаги в <${a}>, число в <${b}>.`,
];
const wordFiller = (rng: TaskRng, lang: WordedLanguage, max: number) => Array.from({ length: rng.int(0, max) }, () => rng.pick(LANGUAGE_WORDS[lang].sentences)).join(" ");

/**
 * The same arithmetic told in words, in English or the second language (src/tasks/languages.ts), in the forms the
 * other genres use: a problem and its worked steps, a dialog, the steps inside a generic tag, format following, a
 * bare result, or plain prose in one language. The problem's language is the second one at `second_share`; the
 * working is in the other language at `cross_rate` (asked in Russian, worked in English, as on a forum), and switches
 * language part-way at `switch_rate` ("3 плюс 7 равно 10, 10 minus 2 is 8. So the answer is 8.").
 */
export function worded({ rng, chain, maxFiller, bilingual, meta }: GenreContext): string {
  const b = bilingual ?? { language: "ru", second_share: 0.5, cross_rate: 0, switch_rate: 0 };
  const ask: WordedLanguage = rng.next() < b.second_share ? b.language : "en";
  const work: WordedLanguage = rng.next() < b.cross_rate ? otherLanguage(ask) : ask;
  const steps = chain.ops.length;
  const switchAt = steps >= 2 && rng.next() < b.switch_rate ? rng.int(1, steps - 1) : Infinity;
  const langOf = (i: number) => (i >= switchAt ? otherLanguage(work) : work);
  const end = langOf(steps), W = LANGUAGE_WORDS;
  const expr = chainText(chain);
  const q = rng.next() < 0.6 ? W[ask].ask(expr) : rng.pick(W[ask].asks)(expr);
  const derivation = wordedSteps(chain, langOf).join(", ");
  const v = chainValue(chain);
  const form = rng.weighted([0.25, 0.2, 0.2, 0.2, 0.05, 0.1]);
  const shows = form < 4;
  if (meta) meta.languages = { question: ask, working: shows ? work : null, switched: shows && switchAt !== Infinity };
  const [t, u] = tagPair(rng, 0.5);
  switch (form) {
    case 0:
      return [q, wordFiller(rng, ask, maxFiller), rng.pick(W[work].leads), `${derivation}.`, `${rng.pick(W[end].closings)} ${v}.`].filter(Boolean).join(rng.pick([" ", "\n"]));
    case 1: {
      const [a, r] = rng.pick([["User:", "Assistant:"], ["Q:", "A:"], [`${NAMES[rng.int(0, 3)]}:`, `${NAMES[rng.int(4, 7)]}:`]]);
      return `${a} ${q} ${r} ${derivation}${rng.pick([".", `. ${rng.pick(W[end].closings)} ${v}.`])}`;
    }
    case 2: {
      const before = rng.pick([`${q} `, `User: ${q} Assistant: `, `Q: ${q} A: `, `<q>${q}</q>`]);
      return `${before}<${t}>${derivation}</${t}>${rng.pick([`<${u}>${v}</${u}>`, ` ${v}`, ` ${rng.pick(W[end].closings)} ${v}.`])}`;
    }
    case 3: {
      const instr = rng.pick(ask !== "en" && rng.next() < 0.5 ? RU_INSTRUCTIONS : INSTRUCTIONS)(t, u);
      const [p, r] = rng.pick([["", " "], ["Q: ", " A: "], ["User: ", " Assistant: "]]);
      return `${p}${q} ${instr}${r}<${t}>${derivation}</${t}><${u}>${v}</${u}>`;
    }
    case 4:
      return `${q} ${W[ask].direct(v)}`;
    default:
      return Array.from({ length: rng.int(2, 6) }, () => rng.pick(W[ask].sentences)).join(" ");
  }
}

/**
 * Tool-call markup in the wild (src/corpus/tools.ts): hard arithmetic or a small program handed to a tool under a
 * made-up notation and name, the result read and used; easy sums done in the head. Never the RL template's tags.
 */
export function tools({ rng, chain, tools: cfg, heldOut, meta }: GenreContext): string {
  return toolsDocument(rng, cfg ?? ToolsCorpusSchema.parse({}), chain, heldOut ?? (() => false), meta);
}

export const GENRES = { direct, prose, steps, dialog, markup, bridge, format, copy, text, countdown, search, worded, tools } as const;
export type Genre = keyof typeof GENRES;
