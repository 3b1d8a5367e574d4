import { Template } from "@huggingface/jinja";
import type { Tokenizer } from "./types.js";
import { TokenizerError } from "./types.js";

export interface ChatMessage { role: "system" | "user" | "assistant" | (string & {}); content: string }

/** DeepSeek-R1-Zero's prompt (the R1 paper, Table 1), word for word. */
export const R1_PREAMBLE = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. " +
  "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. " +
  "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, " +
  "i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

/**
 * The R1 template as Jinja: "<preamble> User: {prompt}. Assistant:". A system message replaces the preamble;
 * an assistant turn is " Assistant: {content}" followed by the EOS token, so SFT targets end the way generation stops.
 */
export const R1_TEMPLATE =
  "{{- bos_token if bos_token else '' -}}" +
  "{%- if messages[0].role == 'system' -%}{{- messages[0].content -}}{%- set rest = messages[1:] -%}" +
  "{%- else -%}{{- r1_preamble -}}{%- set rest = messages -%}{%- endif -%}" +
  "{%- for m in rest -%}" +
  "{%- if m.role == 'user' -%}{{- ' User: ' + m.content + '.' -}}" +
  "{%- elif m.role == 'assistant' -%}{{- ' Assistant: ' + m.content -}}{{- eos_token if eos_token else '' -}}" +
  "{%- else -%}{{- raise_exception('the R1 template has roles system, user, assistant; got ' + m.role) -}}{%- endif -%}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{- ' Assistant:' -}}{%- endif -%}";

export interface ChatRenderOptions {
  /** "r1" for the built-in R1 template, "model" for tokenizer_config.json's chat_template, or a Jinja string. Default: the model's, else r1. */
  template?: "r1" | "model" | (string & {});
  /** End with the assistant's turn opening (default true). */
  addGenerationPrompt?: boolean;
  /** Also open the reasoning block ("<think>") so generation starts inside it. Default false: R1-Zero lets the model write it. */
  prefillThink?: boolean;
  /**
   * Template variables, as TRL's `chat_template_kwargs` / transformers' `apply_chat_template(**kwargs)`: e.g.
   * `{ enable_thinking: false }` (Qwen3, SmolLM3), `{ date_string: "26 Jul 2024" }` (Llama 3.x), `{ tools: [...] }`.
   * They may replace the special tokens and `strftime_now`, but not `messages` or `add_generation_prompt`.
   */
  extra?: Record<string, unknown>;
}

export class ChatTemplateError extends TokenizerError {
  constructor(message: string) { super(message); this.name = "ChatTemplateError"; }
}

const RESERVED_VARIABLES = ["messages", "add_generation_prompt"] as const;
/** Globals that @huggingface/jinja declares itself; a template variable of the same name would fail to declare. */
const ENGINE_GLOBALS = ["strftime_now", "raise_exception", "range", "true", "false", "none", "True", "False", "None"];

/** Renders messages to the prompt text a model was trained on (Hugging Face's apply_chat_template, tokenize=False). */
export function renderChat(tokenizer: Tokenizer, messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
  if (messages.length === 0) throw new ChatTemplateError("no messages to render: give at least one user message");
  const choice = opts.template ?? (tokenizer.chatTemplate ? "model" : "r1");
  let source: string;
  if (choice === "r1") source = R1_TEMPLATE;
  else if (choice === "model") {
    if (!tokenizer.chatTemplate) throw new ChatTemplateError("this tokenizer has no chat_template in tokenizer_config.json: use the built-in template \"r1\" or pass a Jinja template");
    source = tokenizer.chatTemplate;
  } else source = choice;
  for (const key of RESERVED_VARIABLES) {
    if (opts.extra && key in opts.extra) throw new ChatTemplateError(`template variable "${key}" is set by renderChat itself: pass ${key === "messages" ? "the messages argument" : "the addGenerationPrompt option"} instead`);
  }
  for (const key of ENGINE_GLOBALS) {
    if (opts.extra && key in opts.extra) throw new ChatTemplateError(`template variable "${key}" is a built-in of the Jinja engine and cannot be replaced`);
  }
  let text: string;
  try {
    text = new Template(source).render({
      messages, add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: tokenizer.bosToken ?? "", eos_token: tokenizer.eosToken ?? "", pad_token: tokenizer.padToken ?? "",
      r1_preamble: R1_PREAMBLE,
      ...opts.extra,
    });
  } catch (e) {
    throw new ChatTemplateError(`chat template failed to render: ${(e as Error).message} (check the messages' roles and the template's Jinja)`);
  }
  if (opts.prefillThink) {
    // Qwen3 / SmolLM3 with enable_thinking false already end the prompt with an empty, closed think block
    if (/<\/think>\s*$/.test(text)) throw new ChatTemplateError("prefillThink opens a <think> block, but the template already closed one (enable_thinking: false?): use one or the other");
    text += choice === "r1" ? " <think>" : "<think>\n";
  }
  return text;
}
