import { z } from "zod";
import type { TaskRng } from "../rng.js";
import type { Example, TaskGenerator } from "./types.js";
import { WORDED_LANGUAGES, wordedQuestion } from "./languages.js";

/**
 * Chained addition/subtraction, e.g. "3+7-2+9=?" → "17". With non_negative, every running total stays ≥ 0
 * (a tiny model need not learn negative numbers). The derivation form used by the corpus folds the first
 * two terms per step: "3+7-2+9 = 10-2+9 = 8+9 = 17".
 */
export const ArithmeticConfigSchema = z
  .object({
    type: z.literal("arithmetic"),
    min_terms: z.number().int().min(2).default(4),
    max_terms: z.number().int().min(2).default(7),
    /** Digits per operand: 1 → 0..9, 2 → 0..99. */
    digits: z.number().int().min(1).max(6).default(1),
    ops: z.array(z.enum(["+", "-"])).min(1).default(["+", "-"]),
    non_negative: z.boolean().default(true),
    /**
     * Pose the problem in words of this language ("en": "What is 3 plus 7 minus 2?", "ru": "Сколько будет 3 плюс 7
     * минус 2?") instead of "3+7-2=?"; rows then carry `language`, the language reward's target. The problems
     * (and their ids) are the same as without it, so held-out sets agree.
     */
    language: z.enum(WORDED_LANGUAGES).optional(),
  })
  .strict()
  .refine(c => c.min_terms <= c.max_terms, { message: "min_terms must be ≤ max_terms", path: ["min_terms"] });
export type ArithmeticConfig = z.output<typeof ArithmeticConfigSchema>;

/** A chain as its operands and the operators between them. */
export interface Chain { terms: number[]; ops: ("+" | "-")[] }

export function sampleChain(rng: TaskRng, c: ArithmeticConfig): Chain {
  const n = rng.int(c.min_terms, c.max_terms);
  const hi = 10 ** c.digits - 1;
  const terms = [rng.int(0, hi)];
  const ops: ("+" | "-")[] = [];
  let total = terms[0];
  for (let i = 1; i < n; i++) {
    let op = rng.pick(c.ops);
    if (op === "-" && c.non_negative && total === 0) op = c.ops.includes("+") ? "+" : "-";
    const x = op === "-" && c.non_negative ? rng.int(0, Math.min(hi, total)) : rng.int(0, hi);
    total += op === "+" ? x : -x;
    terms.push(x);
    ops.push(op);
  }
  return { terms, ops };
}

export const chainText = (ch: Chain): string => ch.terms.map((t, i) => (i ? ch.ops[i - 1] : "") + t).join("");

export function chainValue(ch: Chain): number {
  return ch.terms.reduce((acc, t, i) => (i === 0 ? t : ch.ops[i - 1] === "+" ? acc + t : acc - t), 0);
}

/** The fold-left derivation: "3+7-2+9 = 10-2+9 = 8+9 = 17". */
export function chainDerivation(ch: Chain): string {
  const steps = [chainText(ch)];
  let cur = ch;
  while (cur.terms.length > 1) {
    const head = cur.ops[0] === "+" ? cur.terms[0] + cur.terms[1] : cur.terms[0] - cur.terms[1];
    cur = { terms: [head, ...cur.terms.slice(2)], ops: cur.ops.slice(1) };
    steps.push(chainText(cur));
  }
  return steps.join(" = ");
}

/** The chain written as "3+7-2+9" (inverse of chainText). */
export function parseChain(text: string): Chain {
  const parts = text.split(/(?=[+-])/);
  return { terms: parts.map(p => Math.abs(Number(p))), ops: parts.slice(1).map(p => p[0] as "+" | "-") };
}

export function arithmeticTask(config: ArithmeticConfig): TaskGenerator {
  return {
    name: "arithmetic",
    exposes: ex => chainDerivation(parseChain(ex.id.replace(/^arithmetic:/, ""))).split(" = ").slice(1).map(s => `arithmetic:${s}`),
    sample(rng): Example {
      const ch = sampleChain(rng, config);
      const text = chainText(ch);
      const id = `arithmetic:${text}`, answer = String(chainValue(ch));
      return config.language ? { id, question: wordedQuestion(ch, config.language), answer, language: config.language } : { id, question: `${text}=?`, answer };
    },
  };
}
