import type { TaskRng } from "../rng.js";
import { equationSteps, solveCountdown } from "../tasks/countdown.js";

/**
 * Countdown search as people write it in the wild, for the pretraining corpus (issue 19): a depth-first search over
 * the numbers, ordered by a rough sense of what gets close (Stream of Search's two heuristics: distance of the numbers
 * to the target, or to its factors) with noise, written down as it goes. Lines end in dead ends, some checked against
 * the target out loud ("78, not 76") and some not ("no."); some are abandoned after a step or two ("too big
 * already"); after a failure the writer backtracks to an earlier state ("Back to 75, 4, 1:") or starts over. Searches
 * that run out of patience either give up, or see the solution at last ("Oh: ..."), as people do.
 *
 *   numbers [25, 1, 3, 4], target 76:
 *   "25+4 = 29, hmm. 25*3 = 75, 75+4 = 79, 79-1 = 78, not 76. Back to 75, 4, 1: 75+1 = 76, but 4 is left.
 *    Start again. 25-1 = 24, 24*3 = 72, 72+4 = 76, equal to the target."
 *
 * Every step is right (exact integer arithmetic, no negative or fractional results), and the solution, when one is
 * given, uses each number once. The writer never uses the RL prompt's wording or tags: the caller frames the trace.
 */
export interface SearchTrace {
  /** The search as text, ending with the line that reached the target, or with giving up. */
  text: string;
  /** The equation found (e.g. "(25-1)*3+4"), or null when the writer gave up. */
  solution: string | null;
  /** How the search ended: found by searching, seen at last after running out of patience, or given up. */
  outcome: "found" | "insight" | "gave_up";
}

interface Term { value: number; expr: string }
interface Move { i: number; j: number; op: "+" | "-" | "*" | "/"; value: number; expr: string; h: number }

const PREC = { "+": 1, "-": 1, "*": 2, "/": 2 } as const;
/** Minimal parentheses: the expression of a op b from the operands' expressions (and their top operator). */
function join(a: Term & { top?: keyof typeof PREC }, b: Term & { top?: keyof typeof PREC }, op: keyof typeof PREC): string {
  const wrapL = a.top !== undefined && PREC[a.top] < PREC[op];
  const wrapR = b.top !== undefined && (PREC[b.top] < PREC[op] || (PREC[b.top] === PREC[op] && (op === "-" || op === "/")));
  return `${wrapL ? `(${a.expr})` : a.expr}${op}${wrapR ? `(${b.expr})` : b.expr}`;
}

type Node = Term & { top?: keyof typeof PREC };

const distance = (state: readonly number[], target: number) => state.reduce((s, n) => s + Math.abs(n - target), 0) / state.length;
function factorDistance(state: readonly number[], target: number): number {
  const factors: number[] = [];
  for (let f = 2; f <= target; f++) if (target % f === 0) factors.push(f);
  if (factors.length === 0) factors.push(target);
  return state.reduce((s, n) => s + Math.min(...factors.map(f => Math.abs(n - f))), 0);
}

/**
 * Every allowed move from a state (larger − smaller, exact division), scored by the heuristic plus noise; the target
 * first. With probability `skill` a move whose remaining numbers can still make the target (a look ahead, as a
 * practised writer sees "then 25+54 makes 79") scores as well as the target itself.
 */
function moves(rng: TaskRng, items: readonly Node[], target: number, h: (s: number[]) => number, noise: number, skill: number): Move[] {
  const out: Move[] = [];
  for (let i = 0; i < items.length; i++)
    for (let j = 0; j < items.length; j++) {
      if (i === j) continue;
      const a = items[i], b = items[j];
      const rest = items.filter((_, k) => k !== i && k !== j).map(x => x.value);
      const add = (op: Move["op"], value: number) => {
        const state = [...rest, value];
        const sees = state.length > 1 && rng.next() < skill && solveCountdown(state, target) !== null;
        out.push({ i, j, op, value, expr: join(a, b, op), h: sees ? 0 : h(state) * (1 + noise * (rng.next() - 0.5)) });
      };
      if (i < j) { add("+", a.value + b.value); add("*", a.value * b.value); }
      if (a.value > b.value || (a.value === b.value && i < j)) add("-", a.value - b.value);
      if (b.value > 1 && a.value % b.value === 0 && a.value > b.value) add("/", a.value / b.value);
    }
  return out.sort((x, y) => x.h - y.h);
}

const MISS_CHECKED = [
  (v: number, t: number) => `, not ${t}.`,
  (v: number, t: number) => `. ${v} vs ${t}, no.`,
  (v: number, t: number) => `, ${v} ≠ ${t}.`,
  (v: number, t: number) => `, ${v > t ? "over" : "under"} ${t}.`,
  (v: number, t: number) => `, which is ${v > t ? "more" : "less"} than ${t}.`,
  (v: number, t: number) => `. ${v} is not the target.`,
];
const MISS_UNCHECKED = [".", ", no.", ", nope.", ". Wrong.", ". No good.", ", miss.", " ...", ", close but no.", ". Hmm."];
const HIT = [
  (t: number) => `, equal to the target.`, (t: number) => `. ${t} = ${t}, yes.`, (t: number) => `, that matches ${t}!`,
  () => ", yes!", () => ". Got it.", () => ".", () => ". Found it.", (t: number) => `, there is ${t}.`,
];
const ABANDON = [", too big already.", ". Hmm, no.", ", that goes nowhere.", ". Scrap that.", ".", ", no.", "... skip.", ". Not promising."];
const RESTART = ["Start again.", "Another way:", "Try", "What about", "Other idea:", "", "", "Hmm.", "Next:"];
const BACK = [(s: string) => `Back to ${s}:`, (s: string) => `Go back to ${s}.`, (s: string) => `From ${s} instead:`, () => "Back one step:", () => "Instead,", () => ""];
/** Larger intermediate results are not written: people (and small models) do not multiply their way there. */
const MAX_VALUE = 1000;
const SEP = [", ", ", ", "; ", ", then ", ". "];

export interface SearchOptions {
  /** Most lines (dead ends and abandoned tries) before the writer runs out of patience (default: random 1..12). */
  patience?: number;
}

/**
 * One search written out for numbers and target (the target must be reachable: the caller's problem is solvable).
 * Deterministic given the rng's state.
 */
export function writeSearch(rng: TaskRng, numbers: readonly number[], target: number, o: SearchOptions = {}): SearchTrace {
  const h = rng.next() < 0.5 ? (s: number[]) => distance(s, target) : (s: number[]) => factorDistance(s, target);
  const noise = rng.pick([0.2, 0.6, 1.5]);
  const patience = o.patience ?? rng.int(1, 12);
  const abandonRate = rng.pick([0, 0.1, 0.25]);
  const checkRate = rng.pick([0.2, 0.5, 0.8]);
  const skill = rng.pick([0, 0.2, 0.5, 0.8]);
  const sep = rng.pick(SEP);
  let text = "", open = false, lines = 0, tipDepth = 0, found: string | null = null;
  // the numbers at each depth of the line being written, for "Back to 75, 4, 1:"
  const stateAt: number[][] = [numbers.slice()];
  const end = (s: string) => { text += s; open = false; };
  const writeStep = (depth: number, step: string) => {
    if (text === "") text = step;
    else if (depth < tipDepth) {
      // leaving the line: a restart from the given numbers or a backtrack to an earlier state
      if (open) end(rng.pick(ABANDON));
      const lead = depth === 0 ? rng.pick(RESTART) : rng.pick(BACK)(stateAt[depth].join(", "));
      text += ` ${lead} ${step}`;
    } else text += `${sep}${step}`;
    open = true;
    tipDepth = depth + 1;
  };

  const dfs = (items: Node[], depth: number): boolean => {
    for (const m of moves(rng, items, target, h, noise, skill)) {
      if (lines >= patience) return false;
      // people try a few of the candidates, not all, but do not walk past the target or into huge products
      if (m.value > MAX_VALUE || (m.value !== target && rng.next() < 0.35)) continue;
      const a = items[m.i], b = items[m.j];
      const next: Node[] = [...items.filter((_, k) => k !== m.i && k !== m.j), { value: m.value, expr: m.expr, top: m.op }];
      writeStep(depth, `${a.value}${m.op}${b.value} = ${m.value}`);
      stateAt[depth + 1] = next.map(x => x.value);
      if (next.length === 1) {
        if (m.value === target) { end(rng.pick(HIT)(target)); found = m.expr; return true; }
        lines++;
        end(rng.next() < checkRate ? rng.pick(MISS_CHECKED)(m.value, target) : rng.pick(MISS_UNCHECKED));
        continue;
      }
      if (rng.next() < abandonRate * (m.value > 2 * target ? 3 : 1)) {
        lines++;
        end(rng.pick(ABANDON));
        continue;
      }
      if (dfs(next, depth + 1)) return true;
    }
    return false;
  };
  let outcome: SearchTrace["outcome"] = dfs(numbers.map(n => ({ value: n, expr: String(n) })), 0) ? "found" : "gave_up";
  if (open) end(rng.pick(ABANDON));
  if (outcome === "gave_up" && rng.next() < 0.8) {
    // out of patience, the writer sees it at last: the solver's equation, replayed as steps
    const sol = solveCountdown(numbers, target);
    const steps = sol === null ? null : equationSteps(sol);
    if (sol !== null && steps) {
      text += `${text === "" ? "" : " "}${rng.pick(["Oh:", "Wait,", "Ah, I see:", "Let me think again.", "Finally:"])} ${steps.join(sep)}${rng.pick(HIT)(target)}`;
      found = sol;
      outcome = "insight";
    }
  }
  if (outcome === "gave_up") text += `${text === "" ? "" : " "}${rng.pick(["I give up.", "Can't get it.", "No luck.", "Not solvable for me."])}`;
  return { text: text.replace(/ +/g, " ").trim(), solution: found, outcome };
}
