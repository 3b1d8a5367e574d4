// Requests shaped as OpenRLHF's experience maker builds them: the prompt after Qwen's chat template,
// `query` = left padding + prompt + response + <|im_end|> + right padding, decoded with special tokens
// kept; `labels` = the dataset's answer column. Also the plain responses and examples, for direct
// scoreBatch calls to compare against. Shared by the tests and bench/reward-server.ts.
import type { RewardExample } from "../../src/rewards/types.js";

export interface OpenRlhfBatch { query: string[]; prompts: string[]; labels: string[]; responses: string[]; examples: RewardExample[] }

const PAD = "<|endoftext|>";

function template(question: string): string {
  return `<|im_start|>system\nThink in <think></think>, answer in <answer></answer>.<|im_end|>\n<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`;
}

/** Response i for a + b: right in R1 format, wrong, unformatted, LaTeX-equivalent, or against an unparseable gold. */
function response(i: number, a: number, b: number): { text: string; label: string } {
  const sum = a + b;
  switch (i % 6) {
    case 0: return { text: `<think>${a} + ${b} = ${sum}</think>\n<answer>${sum}</answer>`, label: String(sum) };
    case 1: return { text: `<think>${a} + ${b} is about ${sum + 1}</think><answer>${sum + 1}</answer>`, label: String(sum) };
    case 2: return { text: `${a} + ${b} = ${sum}`, label: String(sum) };
    case 3: return { text: `<think>halve ${2 * sum}</think><answer>\\frac{${2 * sum}}{2}</answer>`, label: String(sum) };
    case 4: return { text: `<think>${sum}</think><answer>${sum}</answer>`, label: "???" }; // gold does not parse → null
    default: return { text: `<think>no idea</think>`, label: String(sum) };
  }
}

/** n samples (deterministic in seed). */
export function openRlhfBatch(n: number, seed = 1): OpenRlhfBatch {
  const out: OpenRlhfBatch = { query: [], prompts: [], labels: [], responses: [], examples: [] };
  for (let i = 0; i < n; i++) {
    const a = (seed * 31 + i * 17) % 97, b = (seed * 7 + i * 13) % 89;
    const prompt = template(`What is ${a} + ${b}?`);
    const r = response(i + seed, a, b);
    out.query.push(PAD.repeat(i % 3) + prompt + r.text + "<|im_end|>" + PAD.repeat((i + 1) % 2));
    out.prompts.push(prompt);
    out.labels.push(r.label);
    out.responses.push(r.text);
    out.examples.push({ answer: r.label });
  }
  return out;
}
