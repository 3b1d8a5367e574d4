import type { Chain } from "./arithmetic.js";

/**
 * Arithmetic told in words, in English or Russian: the operation words, the verb of a step and the question. Russian
 * is written in Cyrillic, so the language reward (src/rewards/language.ts, which tells languages apart by Unicode
 * script) measures which language a chain of thought is in without word lists. Numbers stay digits in both.
 *
 *   en: "What is 3 plus 7 minus 2?"        "3 plus 7 is 10, 10 minus 2 is 8"
 *   ru: "Сколько будет 3 плюс 7 минус 2?"   "3 плюс 7 равно 10, 10 минус 2 равно 8"
 */
export const WORDED_LANGUAGES = ["en", "ru"] as const;
export type WordedLanguage = (typeof WORDED_LANGUAGES)[number];

export interface LanguageWords {
  plus: string;
  minus: string;
  /** The verb of one step: "3 plus 7 IS 10". */
  is: string;
  /** The question the task poses (and the corpus poses most often): "What is 3 plus 7 minus 2?". */
  ask: (expr: string) => string;
  /** Other ways the corpus asks. */
  asks: ((expr: string) => string)[];
  /** Lead-ins before a worked derivation, and closings before its result. */
  leads: string[];
  closings: string[];
  /** Short background sentences (filler between a problem and its working, plain prose). */
  sentences: string[];
  /** A result with no working: "The answer is 17.". */
  direct: (v: number) => string;
}

export const LANGUAGE_WORDS: Record<WordedLanguage, LanguageWords> = {
  en: {
    plus: "plus", minus: "minus", is: "is",
    ask: e => `What is ${e}?`,
    asks: [e => `How much is ${e}?`, e => `Compute ${e}.`, e => `Work out ${e}.`],
    leads: ["Step by step:", "Let me count.", "Working:", "So:"],
    closings: ["So the answer is", "The result is", "That gives", "Answer:"],
    sentences: ["The cat sleeps by the window.", "It rains in the evening.", "The teacher writes on the board.", "My brother reads a book.",
      "The bus is late again.", "We walk to the river.", "Okay.", "Let me think.", "Good.", "Let us check.", "One moment.", "This one is short."],
    direct: v => `The answer is ${v}.`,
  },
  ru: {
    plus: "плюс", minus: "минус", is: "равно",
    ask: e => `Сколько будет ${e}?`,
    asks: [e => `Сколько получится: ${e}?`, e => `Посчитай ${e}.`, e => `Вычисли ${e}.`],
    leads: ["По шагам:", "Посчитаем.", "Решение:", "Итак:"],
    closings: ["Значит, ответ", "Получается", "Итого", "Ответ:"],
    sentences: ["Кошка спит у окна.", "Вечером идёт дождь.", "Учитель пишет на доске.", "Мой брат читает книгу.",
      "Автобус опять опаздывает.", "Мы идём к реке.", "Хорошо.", "Подумаем.", "Так.", "Проверим.", "Минуту.", "Это короткая задача."],
    direct: v => `Ответ: ${v}.`,
  },
};

export const otherLanguage = (l: WordedLanguage): WordedLanguage => (l === "en" ? "ru" : "en");

/** The chain in words of `lang`: "3 plus 7 minus 2". */
export const wordedChain = (ch: Chain, lang: WordedLanguage): string =>
  ch.terms.map((t, i) => (i ? `${ch.ops[i - 1] === "+" ? LANGUAGE_WORDS[lang].plus : LANGUAGE_WORDS[lang].minus} ` : "") + t).join(" ");

/** The task's question for a chain: "Сколько будет 3 плюс 7 минус 2?". */
export const wordedQuestion = (ch: Chain, lang: WordedLanguage): string => LANGUAGE_WORDS[lang].ask(wordedChain(ch, lang));

/**
 * The fold-left derivation in words, one clause per step: "3 plus 7 is 10, 10 minus 2 is 8". `langOf(i)` gives the
 * language of step i, so a derivation can switch language part-way (code-switching).
 */
export function wordedSteps(ch: Chain, langOf: (step: number) => WordedLanguage): string[] {
  const out: string[] = [];
  let acc = ch.terms[0];
  ch.ops.forEach((op, i) => {
    const w = LANGUAGE_WORDS[langOf(i)];
    const next = op === "+" ? acc + ch.terms[i + 1] : acc - ch.terms[i + 1];
    out.push(`${acc} ${op === "+" ? w.plus : w.minus} ${ch.terms[i + 1]} ${w.is} ${next}`);
    acc = next;
  });
  return out;
}
