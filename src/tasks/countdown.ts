import { z } from "zod";
import { makeRng, mixSeed, shuffle, type TaskRng } from "../rng.js";
import { TaskError, type Example, type TaskGenerator } from "./types.js";

/**
 * Countdown: combine every number exactly once with + − × ÷ to reach the target, e.g. numbers [3, 5, 2], target 16 →
 * "(3+5)*2". Intermediate values stay non-negative integers (subtraction larger − smaller, exact division only), a
 * subset of what a rational verifier accepts, so every generated instance is solvable under either rule. Each
 * instance is confirmed by `solveCountdown`.
 *
 * Two ways to make a problem (`generation`):
 *   attempt        numbers first (1..max_number), the target the value of one random combination of them (the default)
 *   target_first   as Stream of Search (Gandhi et al. 2024) sets it: the target uniform in [min_target, max_target],
 *                  numbers redrawn from 1..max_number until the solver finds a solution (4 numbers, 1..99, 10..100)
 * and a share of the targets held out entirely (`held_out_targets`, Stream of Search: 10%): the "train" stream (RL
 * problems, the pretraining corpus) never poses one; the "eval" stream does, and marks each problem's `subset` as
 * seen_target or unseen_target so evaluation reports both.
 */
export const CountdownConfigSchema = z
  .object({
    type: z.literal("countdown"),
    min_numbers: z.number().int().min(2).default(3),
    max_numbers: z.number().int().min(2).max(6).default(4),
    /** Numbers are drawn from 1..max_number. */
    max_number: z.number().int().min(2).default(10),
    min_target: z.number().int().min(0).default(1),
    max_target: z.number().int().positive().default(100),
    ops: z.array(z.enum(["+", "-", "*", "/"])).min(1).default(["+", "-", "*", "/"]),
    /** attempt: the target is the value of a random combination of the numbers; target_first: Stream of Search's way. */
    generation: z.enum(["attempt", "target_first"]).default("attempt"),
    /**
     * Share of the targets in [min_target, max_target] held out entirely (floor of the count, as Stream of Search
     * takes 9 of the 91 targets 10..100): never in a training problem or the corpus, only in evaluation.
     */
    held_out_targets: z.number().min(0).max(0.5).default(0),
    /** Seed of the shuffle that picks the held-out targets: the same targets for the corpus, RL and evaluation. */
    target_seed: z.number().int().default(0),
    /** Share of evaluation problems with a held-out target (default: as drawn, about held_out_targets). */
    eval_unseen_share: z.number().min(0).max(1).optional(),
    /**
     * How many numbers the evaluation problems have (default: drawn from min_numbers..max_numbers as in training).
     * A curriculum trains on 3 and 4 numbers and is judged on 4: `min_numbers: 3, max_numbers: 4, eval_numbers: 4`.
     * The count is still drawn and then replaced, so the held-out set is the one of `min_numbers = max_numbers = 4`.
     */
    eval_numbers: z.number().int().min(2).max(6).optional(),
  })
  .strict()
  .refine(c => c.min_numbers <= c.max_numbers, { message: "min_numbers must be ≤ max_numbers", path: ["min_numbers"] })
  .refine(c => c.min_target <= c.max_target, { message: "min_target must be ≤ max_target", path: ["min_target"] })
  .refine(c => c.held_out_targets === 0 || Math.floor((c.max_target - c.min_target + 1) * c.held_out_targets) >= 1,
    { message: "held_out_targets holds out no target of this range (the share times the number of targets is below 1); raise it or widen the target range", path: ["held_out_targets"] });
export type CountdownConfig = z.output<typeof CountdownConfigSchema>;
type Op = CountdownConfig["ops"][number];

interface Term { value: number; expr: string }

/** a op b under the integer rules, or null when not allowed; b − a and b ÷ a are covered by swapping. */
function apply(a: Term, b: Term, op: Op): Term | null {
  switch (op) {
    case "+": return { value: a.value + b.value, expr: `(${a.expr}+${b.expr})` };
    case "-": return a.value >= b.value ? { value: a.value - b.value, expr: `(${a.expr}-${b.expr})` } : null;
    case "*": return { value: a.value * b.value, expr: `(${a.expr}*${b.expr})` };
    case "/": return b.value !== 0 && a.value % b.value === 0 ? { value: a.value / b.value, expr: `(${a.expr}/${b.expr})` } : null;
  }
}

const stripOuter = (e: string) => (e.startsWith("(") && e.endsWith(")") ? e.slice(1, -1) : e);

/**
 * Exhaustive search: an equation using every number exactly once that equals target, or null.
 * Tries every pair and operator recursively (4 numbers: a few thousand nodes).
 */
export function solveCountdown(numbers: readonly number[], target: number, ops: readonly Op[] = ["+", "-", "*", "/"]): string | null {
  const search = (items: Term[]): string | null => {
    if (items.length === 1) return items[0].value === target ? stripOuter(items[0].expr) : null;
    for (let i = 0; i < items.length; i++)
      for (let j = 0; j < items.length; j++) {
        if (i === j) continue;
        const rest = items.filter((_, k) => k !== i && k !== j);
        for (const op of ops) {
          if ((op === "+" || op === "*") && j < i) continue; // commutative: one order suffices
          const t = apply(items[i], items[j], op);
          if (!t) continue;
          const found = search([...rest, t]);
          if (found) return found;
        }
      }
    return null;
  };
  return search(numbers.map(n => ({ value: n, expr: String(n) })));
}

/**
 * One random combination of all the numbers, as a search trace would try it: the steps ("3+5 = 8"),
 * the final value and the equation. Null when a drawn operation is not allowed (negative or inexact).
 */
export function randomAttempt(rng: TaskRng, numbers: readonly number[], ops: readonly Op[]): { value: number; expr: string; steps: string[] } | null {
  let items: Term[] = numbers.map(n => ({ value: n, expr: String(n) }));
  const steps: string[] = [];
  while (items.length > 1) {
    const i = rng.int(0, items.length - 1);
    let j = rng.int(0, items.length - 2);
    if (j >= i) j++;
    const op = rng.pick(ops);
    const t = apply(items[i], items[j], op);
    if (!t) return null;
    steps.push(`${items[i].value}${op}${items[j].value} = ${t.value}`);
    items = [...items.filter((_, k) => k !== i && k !== j), t];
  }
  return { value: items[0].value, expr: stripOuter(items[0].expr), steps };
}

/**
 * The steps of an equation in evaluation order, e.g. "(3+5)*2" → ["3+5 = 8", "8*2 = 16"], for search traces.
 * Reads + − × ÷ with the usual precedence and parentheses; returns null on anything else.
 */
export function equationSteps(expr: string): string[] | null {
  const toks = expr.match(/\d+|[+\-*/()]/g) ?? [];
  if (toks.join("") !== expr.replace(/\s+/g, "")) return null;
  const steps: string[] = [];
  let i = 0;
  const combine = (a: number, op: string, b: number) => {
    const v = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
    steps.push(`${a}${op}${b} = ${v}`);
    return v;
  };
  const atom = (): number => {
    const t = toks[i++];
    if (t === "(") { const v = sum(); if (toks[i++] !== ")") throw new Error("unbalanced"); return v; }
    if (t === undefined || !/^\d+$/.test(t)) throw new Error("expected a number");
    return Number(t);
  };
  const product = (): number => {
    let v = atom();
    while (toks[i] === "*" || toks[i] === "/") { const op = toks[i++]; v = combine(v, op, atom()); }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (toks[i] === "+" || toks[i] === "-") { const op = toks[i++]; v = combine(v, op, product()); }
    return v;
  };
  try {
    sum();
    return i === toks.length ? steps : null;
  } catch {
    return null;
  }
}

export const countdownQuestion = (numbers: readonly number[], target: number) => `Use ${numbers.join(", ")} to make ${target}.`;

/** The subsets of a countdown evaluation set with held-out targets. */
export type CountdownSubset = "seen_target" | "unseen_target";

/**
 * The targets of a config, split as Stream of Search splits them: [min_target, max_target] shuffled by target_seed,
 * the first floor(count × held_out_targets) held out (unseen), the rest seen. Both sorted ascending.
 *   countdownTargets({..., min_target: 10, max_target: 100, held_out_targets: 0.1}).unseen.length // 9
 */
export function countdownTargets(config: Pick<CountdownConfig, "min_target" | "max_target" | "held_out_targets" | "target_seed">): { seen: number[]; unseen: number[] } {
  const all = Array.from({ length: config.max_target - config.min_target + 1 }, (_, i) => config.min_target + i);
  const held = Math.floor(all.length * config.held_out_targets);
  if (held === 0) return { seen: all, unseen: [] };
  const order = shuffle([...all], makeRng(mixSeed(config.target_seed, 0x7a47)));
  const asc = (xs: number[]) => xs.sort((a, b) => a - b);
  return { seen: asc(order.slice(held)), unseen: asc(order.slice(0, held)) };
}

export function countdownTask(config: CountdownConfig): TaskGenerator {
  const { seen, unseen } = countdownTargets(config);
  const heldOut = new Set(unseen);
  const make = (numbers: number[], target: number, answer: string): Example => {
    const key = [...numbers].sort((a, b) => a - b).join(",");
    const ex: Example = { id: `countdown:${key}->${target}`, question: countdownQuestion(numbers, target), answer, numbers, target };
    if (heldOut.size > 0) ex.subset = heldOut.has(target) ? "unseen_target" : "seen_target";
    return ex;
  };
  return {
    name: "countdown",
    sample(rng, stream = "train"): Example {
      // Which targets this draw may have: with none held out, any (and no number is drawn for it, so the streams of
      // configs without held-out targets are what they were before the option existed).
      const want: "any" | "seen" | "unseen" = heldOut.size === 0 ? "any" : stream === "train" ? "seen"
        : config.eval_unseen_share === undefined ? "any" : rng.next() < config.eval_unseen_share ? "unseen" : "seen";
      const fits = (t: number) => want === "any" || heldOut.has(t) === (want === "unseen");
      const countOf = (drawn: number) => stream === "eval" ? config.eval_numbers ?? drawn : drawn;
      if (config.generation === "target_first") {
        // as Stream of Search: the count and the target first (uniform over the allowed targets), then numbers
        // redrawn until the solver finds a solution, so every target is as likely as any other
        const count = countOf(rng.int(config.min_numbers, config.max_numbers));
        const target = rng.pick(want === "any" ? [...seen, ...unseen] : want === "seen" ? seen : unseen);
        for (let attempt = 0; attempt < 10_000; attempt++) {
          const numbers = Array.from({ length: count }, () => rng.int(1, config.max_number));
          const sol = solveCountdown(numbers, target, config.ops);
          if (sol !== null) return make(numbers, target, sol);
        }
        throw new TaskError(`no ${count} numbers from 1..${config.max_number} make the target ${target} in 10000 draws; raise max_number or narrow the target range`);
      }
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const count = countOf(rng.int(config.min_numbers, config.max_numbers));
        const numbers = Array.from({ length: count }, () => rng.int(1, config.max_number));
        const eq = randomAttempt(rng, numbers, config.ops);
        if (!eq || eq.value < config.min_target || eq.value > config.max_target || !fits(eq.value)) continue;
        const target = eq.value;
        if (solveCountdown(numbers, target, config.ops) === null) continue; // cannot happen; the solver is the guarantee
        return make(numbers, target, eq.expr);
      }
      throw new TaskError(`no countdown instance with a target in [${config.min_target}, ${config.max_target}] after 10000 draws; widen the target range or raise max_number`);
    },
  };
}
