/**
 * Rejection sampling (DeepSeek-R1, the SFT stage after reasoning RL): of k samples per prompt keep only those
 * the verifier accepts, then drop chains of thought that mix languages, ran over length, or repeat themselves,
 * and duplicates; what remains becomes SFT data, each row saying where it came from.
 */
import type { FinishReason } from "../sample/generate.js";

/** One sampled completion with its rewards by name. */
export interface Candidate {
  problem: number;
  /** Prompt text as the model saw it, and the text it continued with (what SFT will train on). */
  prompt: string;
  completion: string;
  answer: string;
  tokens: number;
  finishReason: FinishReason;
  rewards: Record<string, number | null>;
  /** An episode (src/env): its conversation and the tools' schemas, written as a messages row instead of prompt/completion. */
  messages?: unknown[];
  tools?: unknown[];
}

export interface RejectionOptions {
  /** The verifier: a sample is kept only when this reward is exactly 1. */
  reward: string;
  /** Drop when the language-consistency reward is below this (null = no words to judge: kept). */
  minLanguage: number;
  /** Drop when the completion ran into the token limit or is longer than this. */
  maxTokens: number;
  /** Drop when the n-gram repetition reward (0 = no repeats, −1 = all repeats) is below this. */
  minRepetition: number;
  /** Keep at most this many samples per prompt (0 = all). */
  maxPerPrompt: number;
  /** Reward names of the language and repetition checks. */
  languageReward?: string;
  repetitionReward?: string;
}

export type DropReason = "unverified" | "overlong" | "mixed_language" | "repetitive" | "duplicate" | "per_prompt_cap";

/** Why a candidate is dropped before deduplication, or null when it passes. Checks in the order of DropReason. */
export function rejectReason(c: Candidate, o: RejectionOptions): DropReason | null {
  if (c.rewards[o.reward] !== 1) return "unverified";
  if (c.finishReason === "length" || c.tokens > o.maxTokens) return "overlong";
  const lang = c.rewards[o.languageReward ?? "language"];
  if (lang !== null && lang !== undefined && lang < o.minLanguage) return "mixed_language";
  const rep = c.rewards[o.repetitionReward ?? "repetition"];
  if (rep !== null && rep !== undefined && rep < o.minRepetition) return "repetitive";
  return null;
}

/** Candidates equal up to whitespace for the same prompt are one sample. */
const dedupKey = (c: Candidate) => `${c.prompt}\u0000${c.completion.replace(/\s+/g, " ").trim()}`;

/** The kept candidates in input order, and how many were dropped for each reason. */
export function rejectionFilter(candidates: readonly Candidate[], o: RejectionOptions): { kept: Candidate[]; dropped: Record<DropReason, number> } {
  const dropped: Record<DropReason, number> = { unverified: 0, overlong: 0, mixed_language: 0, repetitive: 0, duplicate: 0, per_prompt_cap: 0 };
  const seen = new Set<string>();
  const perPrompt = new Map<number, number>();
  const kept: Candidate[] = [];
  for (const c of candidates) {
    const why = rejectReason(c, o);
    if (why) { dropped[why]++; continue; }
    const key = dedupKey(c);
    if (seen.has(key)) { dropped.duplicate++; continue; }
    seen.add(key);
    const n = perPrompt.get(c.problem) ?? 0;
    if (o.maxPerPrompt > 0 && n >= o.maxPerPrompt) { dropped.per_prompt_cap++; continue; }
    perPrompt.set(c.problem, n + 1);
    kept.push(c);
  }
  return { kept, dropped };
}

/** Where an SFT row came from. */
export interface Provenance { model: string; step: number | null; reward: string; temperature: number; seed: number }

/** An SFT JSONL row (src/train/sft-data.ts reads prompt/completion; the rest is provenance). */
export function sftRow(c: Candidate, p: Provenance): Record<string, unknown> {
  const text = c.messages ? { messages: c.messages, ...(c.tools?.length ? { tools: c.tools } : {}) } : { prompt: c.prompt, completion: c.completion };
  return { ...text, answer: c.answer, source: { ...p, problem: c.problem, tokens: c.tokens, rewards: c.rewards } };
}
