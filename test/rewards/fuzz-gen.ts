// Random and mutated completions for the reward fuzz test and bench (seeded, reproducible).
import { uniformRng } from "../../src/rng.js";

const SEEDS = [
  "<think>\nLet me add 2 and 2.\n</think>\n<answer>\n4\n</answer>",
  "The final answer is $\\frac{3}{4}$. I hope it is correct.",
  "so \\boxed{\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}} and \\boxed{x^2+1}",
  "<answer>(25 - 1) * 3 = 72</answer>",
  "We get $x \\in [-2, 7) \\cup \\{9\\}$, so $y = \\sqrt{2}\\pi \\pm 1$.",
  "```python\ndef f(x):\n    return x * 2\n```",
  "<think>先 add 两个 numbers</think> 1,000.5 \\$ 20\\% 45^\\circ \\text{ cm}",
  "$$a_{1} = 10^{\\frac{-5+\\sqrt{13}}{6}}, \\quad b \\ge 3 \\approx 4$$",
];
const TOKENS = ["\\boxed{", "\\fbox{", "{", "}", "(", ")", "[", "]", "\\{", "\\}", "$", "$$", "\\[", "\\]", "\\(", "\\)", "\\frac", "\\dfrac", "\\sqrt", "^", "_", "=", "<", "\\le", "\\ge", "\\pm", "\\cup", "\\in", ",", ";", ":", "\\text{", "\\left(", "\\right)", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "<think>", "</think>", "<answer>", "</answer>", "final answer is", " and ", "%", "\\%", "10^{10^{10}}", "9999999!", "0", "1", "7", "-3", ".5", "1,000", "x", "y", "\\pi", "e", "\n", " ", "```", "```python\n", "π", "答", "∞", "\u0000", "\\", "\\\\\\"];

/** The i-th fuzz string: random token soup, random characters, or a mutated seed completion. */
export function fuzzString(i: number): string {
  const r = uniformRng(i * 7919 + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const kind = i % 10;
  if (kind < 4) {
    const n = 1 + Math.floor(r() * 40);
    return Array.from({ length: n }, () => pick(TOKENS)).join("");
  }
  if (kind < 5) {
    const n = Math.floor(r() * 200);
    return String.fromCharCode(...Array.from({ length: n }, () => Math.floor(r() * 0x3000)));
  }
  let s = pick(SEEDS);
  const edits = 1 + Math.floor(r() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.35) s = s.slice(0, at) + pick(TOKENS) + s.slice(at);
    else if (op < 0.6) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
    else if (op < 0.8) s = s.slice(0, at) + s.slice(at, at + 8).repeat(1 + Math.floor(r() * 6)) + s.slice(at);
    else s = s + pick(SEEDS);
  }
  if (i % 997 === 0) s = "\\boxed{" + "{".repeat(20000) + s + "}".repeat(20000);
  return s;
}

/** Gold answers and task fields the fuzz strings are checked against. */
export const FUZZ_EXAMPLES = [
  { answer: "4", nums: [25, 3, 1], target: 72, language: "en", completion_length: 300 },
  { answer: "\\frac{3}{4}", nums: [1, 2, 3, 4], target: 24, language: "zh" },
  { answer: "x \\in [-2,7)", nums: [5], target: 5, language: "ru" },
  { answer: "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", nums: [], target: 1 },
];
