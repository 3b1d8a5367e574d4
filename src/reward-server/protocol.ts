// The two request shapes the reward server accepts, validated at the boundary, and how an OpenRLHF
// request becomes (completion, example) pairs for the verifiers.
import { z } from "zod";
import { WeightedReward } from "../rewards/registry.js";
import type { RewardExample, RewardValue } from "../rewards/types.js";

/** Most samples one request may carry (a GRPO step rarely sends more than a few hundred). */
export const MAX_ITEMS = 4096;

/**
 * OpenRLHF's remote reward request (`--remote_rm_url`): `query[i]` is the prompt and response decoded
 * together with the special tokens kept (left padding and EOS included), `prompts[i]` the prompt as the
 * dataset gave it after the chat template, `labels[i]` the `--label_key` field. Not `.strict()`: forks
 * of OpenRLHF add fields (datasources, token ids) the verifiers have no use for.
 */
export const OpenRlhfRequest = z.object({
  query: z.array(z.string()).min(1).max(MAX_ITEMS),
  prompts: z.array(z.string()).optional(),
  labels: z.array(z.unknown()).optional(),
}).superRefine((r, ctx) => {
  for (const key of ["prompts", "labels"] as const) {
    const v = r[key];
    if (v && v.length !== r.query.length)
      ctx.addIssue({ code: "custom", path: [key], message: `has ${v.length} entries but query has ${r.query.length}; send one per query` });
  }
});
export type OpenRlhfRequest = z.infer<typeof OpenRlhfRequest>;

/** One sample of the plain batch endpoint: the completion plus the example fields the rewards read. */
const ScoreItem = z.object({ completion: z.string() }).catchall(z.unknown());

/** POST /score: `{"rewards": ["math", {"name": "format", "weight": 0.5}], "items": [{"completion", "answer", ...}]}`. */
export const ScoreRequest = z.object({
  rewards: z.array(z.union([z.string().transform(name => ({ name, weight: 1 })), WeightedReward])).min(1).optional(),
  items: z.array(ScoreItem).min(1).max(MAX_ITEMS),
}).strict();
export type ScoreRequest = z.infer<typeof ScoreRequest>;

/** End-of-sequence and padding tokens of common tokenizers: OpenRLHF decodes with them kept. */
export const DEFAULT_STRIP_TOKENS = ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>", "<｜end▁of▁sentence｜>", "<pad>"];

/** Characters of the prompt's end used to find a prompt OpenRLHF cut from the left (over-long prompts). */
const PROMPT_TAIL = 128;

/**
 * The response inside an OpenRLHF query: the text after the prompt (found anywhere, since left
 * padding may precede it; when OpenRLHF cut an over-long prompt from the left, after its last
 * PROMPT_TAIL characters), with trailing end/padding tokens removed. When the prompt is absent or not
 * found the whole query is judged, and `promptFound` says so.
 *   responseOf("<pad>Q: 2+3?A: <answer>5</answer><|im_end|>", "Q: 2+3?A: ", ["<|im_end|>"])  // "<answer>5</answer>"
 */
export function responseOf(query: string, prompt: string | undefined, strip: readonly string[]): { response: string; promptFound: boolean } {
  let response = query, promptFound = false;
  if (prompt) {
    const anchor = query.includes(prompt) ? prompt : prompt.slice(-PROMPT_TAIL);
    const at = query.indexOf(anchor);
    if (at >= 0) { response = query.slice(at + anchor.length); promptFound = true; }
  }
  for (let cut = true; cut;) {
    cut = false;
    const trimmed = response.trimEnd();
    for (const t of strip) if (t && trimmed.endsWith(t)) { response = trimmed.slice(0, -t.length); cut = true; }
  }
  return { response, promptFound };
}

/**
 * The example a label stands for: a JSON object label is the example itself (so code tests or countdown
 * numbers can travel in the label), anything else is the gold answer.
 *   labelExample('{"answer": "5", "tests": []}')  // { answer: "5", tests: [] }
 *   labelExample("5")                             // { answer: "5" }
 */
export function labelExample(label: unknown): RewardExample {
  if (label === undefined || label === null) return {};
  if (typeof label === "object" && !Array.isArray(label)) return label as RewardExample;
  if (typeof label === "string" && label.trimStart().startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(label);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as RewardExample;
    } catch { /* not JSON: the label is the answer text */ }
  }
  return { answer: typeof label === "string" ? label : JSON.stringify(label) };
}

/** OpenRLHF turns rewards into a tensor, which has no null: "cannot judge" becomes `nullAs`. */
export function numeric(values: RewardValue[], nullAs: number): number[] {
  return values.map(v => (v === null ? nullAs : v));
}

/** Parses `r1_math,format:0.5` (the --rewards flag) into weighted rewards. */
export function parseRewardList(text: string): WeightedReward[] {
  const entries = text.split(",").map(s => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new RewardListError(text);
  return entries.map(s => {
    const [name, weight] = s.split(":");
    const w = weight === undefined ? 1 : Number(weight);
    if (!Number.isFinite(w)) throw new RewardListError(s);
    return { name, weight: w };
  });
}

export class RewardListError extends Error {
  constructor(entry: string) {
    super(`--rewards entry "${entry}" is not NAME or NAME:WEIGHT (e.g. r1_math,format:0.5); see \`move37 reward-server --help\``);
    this.name = "RewardListError";
  }
}
