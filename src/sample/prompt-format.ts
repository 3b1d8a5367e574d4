/**
 * How a problem becomes prompt tokens, and what the rewards read of a completion. Every path that samples problems
 * uses it: the GRPO trainer, held-out evaluation (src/eval/heldout.ts), the eval/sample/prefs verbs and distillation
 * (src/eval/problems.ts).
 *
 *   tiny_r1  "User: {question} Assistant: <think>" for byte-level models without a chat template (src/tasks/prompt.ts);
 *            generation continues inside the think block, which the rewards see put back (withPrefill).
 *   chat     the tokenizer's chat template over the example's messages (or one user turn holding its question).
 */
import { z } from "zod";
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatMessage } from "../tokenizer/chat-template.js";
import type { Generation } from "./generate.js";
import { tinyR1Prompt, withPrefill, TINY_R1_STOP } from "../tasks/prompt.js";
import type { Example } from "../tasks/types.js";

export const PromptConfigSchema = z.object({
  /** tiny_r1: "User: {q} Assistant: <think>" for byte-level models; chat: the tokenizer's chat template. */
  template: z.enum(["tiny_r1", "chat"]).default("tiny_r1"),
  /** tiny_r1 only: name the tags in the prompt (R1-Zero's template does). */
  instruct: z.boolean().default(false),
  /** chat only: a system turn put before every conversation that has none of its own. */
  system_prompt: z.string().min(1).optional(),
  /**
   * chat only: extra variables for the chat template, as transformers' apply_chat_template takes them, e.g.
   * Qwen3's {enable_thinking: false} (an empty think block, no reasoning) or {enable_thinking: true}.
   */
  chat_template_kwargs: z.record(z.string(), z.unknown()).optional(),
}).strict().superRefine((p, ctx) => {
  for (const key of ["system_prompt", "chat_template_kwargs"] as const)
    if (p.template !== "chat" && p[key] !== undefined)
      ctx.addIssue({ code: "custom", path: [key], message: `applies to the chat template only: set prompt.template: chat, or remove ${key}` });
});
export type PromptConfig = z.output<typeof PromptConfigSchema>;

/** How prompts are rendered and what the reward functions see of a completion. */
export interface PromptFormat {
  encode(ex: Example): number[];
  text(ex: Example): string;
  /** Completion text as the rewards read it: the prefilled "<think>" and a stop string put back. */
  completion(g: Generation): string;
  stop: string[];
}

export function promptFormat(p: PromptConfig, tok: Tokenizer): PromptFormat {
  if (p.template === "tiny_r1") {
    const text = (ex: Example) => tinyR1Prompt(ex.question, { instruct: p.instruct });
    return {
      text, encode: ex => tok.encode(text(ex), { addSpecialTokens: false }), stop: [TINY_R1_STOP],
      completion: g => withPrefill(`${g.text}${g.finishReason === "stop" ? TINY_R1_STOP : ""}`),
    };
  }
  const text = (ex: Example) => renderChat(tok, chatMessages(ex, p.system_prompt), { addGenerationPrompt: true, extra: p.chat_template_kwargs });
  // The chat path leaves stopping to the model's EOS; rewards read the completion as generated.
  return { text, encode: ex => tok.encode(text(ex), { addSpecialTokens: false }), stop: [], completion: g => g.text };
}

/** The conversation a chat prompt renders: the example's messages (or its question as one user turn), after the system prompt. */
export function chatMessages(ex: Example, systemPrompt?: string): ChatMessage[] {
  const turns: ChatMessage[] = ex.messages ?? [{ role: "user", content: ex.question }];
  return systemPrompt !== undefined && turns[0]?.role !== "system" ? [{ role: "system", content: systemPrompt }, ...turns] : turns;
}

/** The text a generation continued its prompt with, the stop string that ended it included (SFT must learn to write it). */
export function continuation(g: Generation, fmt: PromptFormat, tok: Tokenizer): string {
  if (g.finishReason !== "stop") return g.text;
  const spelled = tok.decode(g.ids, { skipSpecialTokens: true });
  return g.text + (fmt.stop.find(s => spelled.startsWith(g.text + s)) ?? "");
}
