/**
 * Request bodies of the OpenAI-compatible endpoints, validated at the boundary. Field names are OpenAI's, plus the
 * vLLM extensions rollout clients use (top_k, min_p, repetition_penalty, return_token_ids,
 * return_tokens_as_token_ids, skip_special_tokens). Fields OpenAI clients send by habit (user, zero penalties,
 * stream_options) are accepted; anything else is refused by name, so a typo never silently changes sampling.
 */
import { z } from "zod";

/** Most top alternatives per token a request may ask for (vLLM's default max_logprobs is 20, OpenAI's chat cap 20). */
export const MAX_TOP_LOGPROBS = 20;

const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish();
const zeroPenalty = (name: string) => z.number().refine(x => x === 0, `${name} is not supported: leave it 0 (use repetition_penalty)`).optional();

const sampling = {
  model: z.string().optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().positive().nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stop,
  seed: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
  user: z.string().optional(),
  presence_penalty: zeroPenalty("presence_penalty"),
  frequency_penalty: zeroPenalty("frequency_penalty"),
  skip_special_tokens: z.boolean().optional(),
  return_token_ids: z.boolean().optional(),
  return_tokens_as_token_ids: z.boolean().optional(),
};

const tokenIds = z.array(z.number().int().nonnegative()).min(1);

export const CompletionRequestSchema = z.object({
  ...sampling,
  /** Text, texts, token ids, or lists of token ids (ids skip tokenization: what rollout clients send). */
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
  max_tokens: z.number().int().positive().nullish(),
  /** The sampled token's log-prob, and with N > 0 also the N most likely tokens' (`top_logprobs`); vLLM's default cap, 20. */
  logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS, `logprobs is at most ${MAX_TOP_LOGPROBS} (top alternatives per token)`).nullish(),
  echo: z.literal(false).optional(),
}).strict();

const content = z.union([z.string(), z.array(z.object({ type: z.literal("text"), text: z.string() }).strict())]);

/** A call the assistant made, as OpenAI returns it and clients send it back: arguments are a JSON text. */
const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal("function"),
  // parsed_arguments: what the openai client's helpers (runTools, stream) add to a call they send back; ignored
  function: z.object({ name: z.string().min(1), arguments: z.string(), parsed_arguments: z.unknown().optional() }).strict(),
}).strict();

/** Fields of a response message that clients echo back with it (the openai client's helpers add `parsed`); ignored. */
const echoed = {
  refusal: z.null().optional(),
  parsed: z.unknown().optional(),
  annotations: z.array(z.unknown()).optional(),
  audio: z.null().optional(),
  function_call: z.null().optional(),
};

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content, name: z.string().optional() }).strict(),
  z.object({ role: z.literal("user"), content, name: z.string().optional() }).strict(),
  // content may be null on a turn that only called tools
  z.object({ role: z.literal("assistant"), content: content.nullish(), name: z.string().optional(), tool_calls: z.array(toolCall).nullish(), ...echoed }).strict(),
  z.object({ role: z.literal("tool"), content, tool_call_id: z.string().min(1) }).strict(),
], { error: iss => (iss.code === "invalid_union" ? "role must be system, user, assistant or tool" : undefined) });

/** A function the model may call: OpenAI's {type: "function", function: {name, description, parameters}}. */
const tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, "a tool name is letters, digits, _ . and - (at most 64), starting with a letter or _"),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }).strict(),
}).strict();

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }).strict() }).strict(),
], { error: 'tool_choice is "none", "auto", "required" or {"type": "function", "function": {"name": NAME}}' });

export const ChatRequestSchema = z.object({
  ...sampling,
  messages: z.array(message).min(1),
  tools: z.array(tool).min(1).max(128).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  logprobs: z.boolean().nullish(),
  /** The N most likely tokens at each position (needs logprobs: true). */
  top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS, `top_logprobs is at most ${MAX_TOP_LOGPROBS}`).nullish(),
  add_generation_prompt: z.boolean().optional(),
}).strict();

export const ReloadRequestSchema = z.object({
  /** move37's name; SGLang's /update_weights_from_disk sends model_path. Default: the folder being served. */
  model_dir: z.string().min(1).optional(),
  model_path: z.string().min(1).optional(),
  /** The policy version these weights are (reported back in every completion as policy_version); default: the current one + 1. */
  version: z.number().int().nonnegative().optional(),
}).strict();

export type CompletionRequest = z.output<typeof CompletionRequestSchema>;
export type ChatRequest = z.output<typeof ChatRequestSchema>;
export type ChatMessageIn = ChatRequest["messages"][number];
export type ToolSpec = z.output<typeof tool>;

/** Message text: a content array's text parts joined. */
export const messageText = (c: z.output<typeof content>): string => (typeof c === "string" ? c : c.map(p => p.text).join(""));
