// Language consistency (DeepSeek-R1): the share of words of the chain of thought written in the
// target language's script, with Unicode script property escapes. CJK characters count as one word
// each (those scripts do not separate words with spaces).
import { safe, field } from "./guard.js";
import type { RewardFn } from "./types.js";

/** Language code → the Unicode script its words are written in. */
const SCRIPTS: Record<string, RegExp> = {
  latin: /^\p{Script=Latin}+$/u, han: /^\p{Script=Han}+$/u, japanese: /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー]+$/u,
  hangul: /^\p{Script=Hangul}+$/u, cyrillic: /^\p{Script=Cyrillic}+$/u, arabic: /^\p{Script=Arabic}+$/u,
  devanagari: /^\p{Script=Devanagari}+$/u, greek: /^\p{Script=Greek}+$/u, hebrew: /^\p{Script=Hebrew}+$/u, thai: /^\p{Script=Thai}+$/u,
};
const LANGUAGE_SCRIPT: Record<string, string> = {
  en: "latin", fr: "latin", de: "latin", es: "latin", it: "latin", pt: "latin", nl: "latin", vi: "latin", id: "latin", tr: "latin", pl: "latin",
  zh: "han", ja: "japanese", ko: "hangul", ru: "cyrillic", uk: "cyrillic", ar: "arabic", fa: "arabic", hi: "devanagari", el: "greek", he: "hebrew", th: "thai",
};

/** Words: each CJK character alone, otherwise runs of letters (with combining marks). */
const WORD = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\p{L}\p{M}]+/gu;
const MAX_WORDS = 50_000;

/** The chain of thought: the text inside <think>…</think>, or the whole completion without tags. */
function thought(completion: string): string {
  const open = completion.indexOf("<think>");
  const close = completion.indexOf("</think>");
  if (close >= 0) return completion.slice(open >= 0 && open < close ? open + 7 : 0, close);
  return open >= 0 ? completion.slice(open + 7) : completion;
}

/** Language names a dataset may use instead of a code. */
const LANGUAGE_NAMES: Record<string, string> = {
  english: "en", french: "fr", german: "de", spanish: "es", italian: "it", portuguese: "pt", dutch: "nl", vietnamese: "vi", indonesian: "id",
  turkish: "tr", polish: "pl", chinese: "zh", japanese: "ja", korean: "ko", russian: "ru", ukrainian: "uk", arabic: "ar", persian: "fa",
  hindi: "hi", greek: "el", hebrew: "he", thai: "th",
};

/**
 * The script a row's target language is written in: `example.script` ("latin", "cyrillic", …), else `example.language`
 * as a code ("ru"), a tagged code ("ru-RU", "zh_Hans", "RU") or an English name ("Russian"); English when neither is set.
 * undefined for a language it does not know (a code row's "python").
 */
export function targetScript(example: Parameters<RewardFn>[1]): string | undefined {
  const script = field(example, "script");
  if (script) return SCRIPTS[script.toLowerCase()] ? script.toLowerCase() : undefined;
  const lang = (field(example, "language") ?? "en").trim().toLowerCase();
  return LANGUAGE_SCRIPT[lang] ?? LANGUAGE_SCRIPT[lang.split(/[-_]/)[0]] ?? LANGUAGE_SCRIPT[LANGUAGE_NAMES[lang] ?? ""];
}

/** How the chain of thought's words split between the target script and others. */
export interface LanguageMix {
  /** Words in the thought (letters runs; CJK characters one each). */
  words: number;
  /** Share of them in the target script (null when there are none). */
  share: number | null;
  /** The thought has words both in the target script and in another script: it switches language. */
  switched: boolean;
}

/** The language mix of a completion's chain of thought against the row's target language; null when the language is unknown. */
export function languageMix(completion: string, example: Parameters<RewardFn>[1]): LanguageMix | null {
  const script = targetScript(example);
  const re = script ? SCRIPTS[script] : undefined;
  if (!re) return null;
  let total = 0, inScript = 0;
  for (const m of thought(completion).matchAll(WORD)) {
    total++;
    if (re.test(m[0])) inScript++;
    if (total >= MAX_WORDS) break;
  }
  return { words: total, share: total === 0 ? null : inScript / total, switched: inScript > 0 && inScript < total };
}

/**
 * Share of the chain-of-thought's words in the target language's script; the target is the row's `language` ("en",
 * "ru", "zh-CN", "Russian"; a dataset's `language` column) or `script` ("latin", "han", …), default English. null when
 * the thought has no words or the language is unknown.
 *
 * Worked example:
 *   languageConsistencyReward("<think>add the two numbers</think><answer>4</answer>", { language: "en" })  // 1
 *   languageConsistencyReward("<think>先 add 两个 numbers</think>", { language: "en" })   // 0.4 (2 of 5 words: 先 add 两 个 numbers)
 */
export const languageConsistencyReward: RewardFn = safe((completion, example) => languageMix(completion, example)?.share ?? null);

/** Language figures of a batch: mean share over the completions with words, the share of those that switch, and how many had words. */
export interface LanguageStats { share: number | null; switched: number | null; judged: number }

/** The language mix of many completions, each against its own row's target (logged per step and in report.json). */
export function languageStats(completions: readonly string[], examples: readonly Parameters<RewardFn>[1][]): LanguageStats {
  let n = 0, share = 0, switched = 0;
  completions.forEach((c, i) => {
    const m = languageMix(c, examples[i]);
    if (!m || m.share === null) return;
    n++;
    share += m.share;
    switched += +m.switched;
  });
  return { share: n ? share / n : null, switched: n ? switched / n : null, judged: completions.length ? n / completions.length : 0 };
}
