import { z } from "zod";
import type { TaskRng } from "../rng.js";
import { TaskError, type Example, type TaskGenerator } from "./types.js";

/**
 * Countdown with small numbers: combine every number exactly once with + − × ÷ to reach the target,
 * e.g. numbers [3, 5, 2], target 16 → "(3+5)*2". Intermediate values stay non-negative integers
 * (subtraction larger − smaller, exact division only), a subset of what a rational verifier accepts,
 * so every generated instance is solvable under either rule. Each instance is confirmed by `solveCountdown`.
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
  })
  .strict()
  .refine(c => c.min_numbers <= c.max_numbers, { message: "min_numbers must be ≤ max_numbers", path: ["min_numbers"] })
  .refine(c => c.min_target <= c.max_target, { message: "min_target must be ≤ max_target", path: ["min_target"] });
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

export function countdownTask(config: CountdownConfig): TaskGenerator {
  return {
    name: "countdown",
    sample(rng): Example {
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const count = rng.int(config.min_numbers, config.max_numbers);
        const numbers = Array.from({ length: count }, () => rng.int(1, config.max_number));
        const eq = randomAttempt(rng, numbers, config.ops);
        if (!eq || eq.value < config.min_target || eq.value > config.max_target) continue;
        const target = eq.value;
        if (solveCountdown(numbers, target, config.ops) === null) continue; // cannot happen; the solver is the guarantee
        const key = [...numbers].sort((a, b) => a - b).join(",");
        return { id: `countdown:${key}->${target}`, question: countdownQuestion(numbers, target), answer: eq.expr, numbers, target };
      }
      throw new TaskError(`no countdown instance with a target in [${config.min_target}, ${config.max_target}] after 10000 draws; widen the target range or raise max_number`);
    },
  };
}
