// `move37 chat MODEL_DIR`: a conversation on stdin, the model's replies streamed to the terminal.
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { Command } from "commander";
import type { CausalLM } from "../model/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatMessage, type ChatRenderOptions } from "../tokenizer/chat-template.js";
import { generate, type Generation } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";
import { loadForGeneration } from "../model/io/pretrained.js";
import { addSamplingOptions, chatFrom, samplingFrom, type SamplingFlags } from "./generate.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

/**
 * One turn: the user's text joins the history, the whole conversation is rendered through the chat template, and
 * the reply streams to `write` token by token before joining the history. Turn i samples with seed + i, so a
 * seeded conversation repeats itself while its turns differ.
 */
export function chatTurn(model: CausalLM, tokenizer: Tokenizer, messages: ChatMessage[], user: string,
  sampling: SamplingOptions, render: ChatRenderOptions, write: (text: string) => void): Generation {
  messages.push({ role: "user", content: user });
  const ids = tokenizer.encode(renderChat(tokenizer, messages, render), { addSpecialTokens: false });
  const turn = messages.filter(m => m.role === "assistant").length;
  const seed = sampling.seed === undefined ? undefined : sampling.seed + turn;
  const [reply] = generate(model, tokenizer, [ids], { ...sampling, seed }, e => write(e.text));
  messages.push({ role: "assistant", content: reply.text.trim() });
  return reply;
}

/** The read-reply loop over any input stream; "/reset" clears the conversation, "/exit" or end of input quits. */
export async function chatLoop(model: CausalLM, tokenizer: Tokenizer, input: Readable, sampling: SamplingOptions,
  render: ChatRenderOptions, system?: string): Promise<void> {
  const fresh = (): ChatMessage[] => (system ? [{ role: "system", content: system }] : []);
  let messages = fresh();
  const rl = createInterface({ input, terminal: false });
  const prompt = () => output.err("> ");
  prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === "/exit") break;
    if (text === "/reset") { messages = fresh(); output.err("(conversation cleared)\n"); prompt(); continue; }
    if (text) {
      const reply = chatTurn(model, tokenizer, messages, text, sampling, render, s => output.out(s));
      output.out("\n");
      if (reply.finishReason === "length") output.err(`(reply cut at ${reply.ids.length} tokens: raise --max-new-tokens)\n`);
    }
    prompt();
  }
  rl.close();
}

export function register(program: Command): void {
  const cmd = program
    .command("chat")
    .description("chat with a model folder on the terminal: type a message, the reply streams token by token (/reset clears, /exit quits)")
    .argument("<model-dir>", "Hugging Face model folder, or a hub id (owner/name) in or for the HF cache")
    .option("--system <text>", "system message (with the r1 template it replaces the R1 preamble)");
  addSamplingOptions(cmd, { maxNewTokens: 512, temperature: 0.7 });
  cmd.action(async (dir: string, flags: SamplingFlags & { system?: string }) => {
    const { model, tokenizer } = loadForGeneration(dir, flags.backend, flags.dtype, flags.kvCacheDtype);
    output.err(`chatting with ${dir} (${tokenizer.chatTemplate && flags.template !== "r1" ? "the model's chat template" : "the R1 template"}); /reset clears, /exit quits\n`);
    await chatLoop(model, tokenizer, process.stdin, samplingFrom(flags), chatFrom(flags), flags.system);
  });
  withExamples(cmd, [
    "move37 chat runs/r1/final",
    "move37 chat runs/r1/final --template r1 --think --temperature 0.6 --seed 1",
  ]);
}
