// Test helper for the end-to-end tests: what a user brings to Move37, built from nothing. A small random-weight
// Hugging Face folder of each architecture with its family's real config.json keys (family-folders.ts, scaled
// down), a byte-level BPE tokenizer.json trained here by src/tokenizer/bpe-train.ts on GSM8K-style text and the
// family's chat template rendered around it, that chat template (test/fixtures/templates/), and the data files:
// a GSM8K-format Parquet file (`question`, `answer` ending in `#### n`) and an SFT `messages` JSONL file.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../../src/model/config.js";
import { fromHfConfig } from "../../src/model/io/hf-config.js";
import { saveHfFolder } from "../../src/model/io/hf.js";
import { trainBpe } from "../../src/tokenizer/bpe-train.js";
import { renderChat, type ChatMessage } from "../../src/tokenizer/chat-template.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";
import type { TokenizerConfigJson } from "../../src/tokenizer/types.js";
import { familyConfigs, randomTensors } from "../io/family-folders.js";
import { writeParquet, writeJsonl } from "../data/write.js";

export type E2eFamily = "llama3" | "qwen2" | "qwen3" | "gemma3" | "smollm3";

/**
 * Qwen/Qwen2.5-0.5B-Instruct's config.json keys (family-folders.ts has the newer families; Qwen2 is Move37's
 * oldest), scaled down: q/k/v bias, tied, rope_theta 1e6, sliding_window keys present but off.
 */
const qwen2Config = {
  architectures: ["Qwen2ForCausalLM"], attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0, hidden_act: "silu", hidden_size: 64,
  initializer_range: 0.02, intermediate_size: 96, max_position_embeddings: 256, max_window_layers: 2, model_type: "qwen2",
  num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_scaling: null, rope_theta: 1000000.0,
  sliding_window: 32768, tie_word_embeddings: true, torch_dtype: "bfloat16", transformers_version: "4.43.1", use_cache: true,
  use_sliding_window: false, vocab_size: 0,
};

interface FamilyTokens {
  /** test/fixtures/templates/<template>.jinja; Qwen2.5 speaks ChatML like Qwen3, so qwen2 uses Qwen3's. */
  template: string;
  /** The family's special tokens (test/fixtures/templates/expected.json's specials, and the turn markers). */
  specials: string[];
  bos: string | null;
  eos: string;
  pad: string | null;
}
const CHATML = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
export const FAMILY_TOKENS: Record<E2eFamily, FamilyTokens> = {
  llama3: { template: "llama3.2", specials: ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], bos: "<|begin_of_text|>", eos: "<|eot_id|>", pad: null },
  qwen2: { template: "qwen3", specials: CHATML, bos: null, eos: "<|im_end|>", pad: "<|endoftext|>" },
  qwen3: { template: "qwen3", specials: CHATML, bos: null, eos: "<|im_end|>", pad: "<|endoftext|>" },
  gemma3: { template: "gemma3", specials: ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"], bos: "<bos>", eos: "<eos>", pad: "<pad>" },
  smollm3: { template: "smollm3", specials: CHATML, bos: null, eos: "<|im_end|>", pad: "<|im_end|>" },
};

/** GSM8K-format problems: a word problem, a worked answer ending in "#### n". */
export function gsm8kRows(n: number, from = 1): { question: string[]; answer: string[] } {
  const names = ["Ann", "Ben", "Cleo", "Dev", "Eva", "Finn"];
  const items = ["pens", "apples", "books", "shells", "coins", "stamps"];
  const q: string[] = [], a: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = from + i, y = 2 + (i % 5), who = names[i % names.length], what = items[(i * 5) % items.length];
    q.push(`${who} has ${x} ${what} and buys ${y} more. How many ${what} does ${who} have now?`);
    a.push(`${who} starts with ${x} ${what}. After buying ${y} more, ${who} has ${x} + ${y} = <<${x}+${y}=${x + y}>>${x + y} ${what}.\n#### ${x + y}`);
  }
  return { question: q, answer: a };
}

/** The Parquet file a user would download or convert: GSM8K's two columns. */
export function writeGsm8kParquet(file: string, n: number): string {
  return writeParquet(file, gsm8kRows(n));
}

/** TRL's conversational SFT rows: `messages` with a user turn and the assistant's worked answer. */
export function writeMessagesJsonl(file: string, n: number): string {
  const { question, answer } = gsm8kRows(n, 40);
  return writeJsonl(file, question.map((q, i) => ({
    messages: [{ role: "user", content: q }, { role: "assistant", content: `<think>${answer[i].split("\n")[0]}</think><answer>${answer[i].split("#### ")[1]}</answer>` }],
  })));
}

const template = (name: string) => readFileSync(new URL(`../fixtures/templates/${name}.jinja`, import.meta.url), "utf8");

/**
 * The family's tokenizer files: a byte-level BPE of `vocabSize` ids trained on GSM8K-style text and on that text
 * rendered by the family's chat template (so its headers become a few tokens, as in a real vocabulary), the
 * family's specials after the merges, and tokenizer_config.json with the chat template and special tokens.
 */
export function familyTokenizer(family: E2eFamily, vocabSize = 640, systemPrompt = ""): { files: Record<string, string>; tokenizer: HfTokenizer; config: TokenizerConfigJson } {
  const t = FAMILY_TOKENS[family];
  const config: TokenizerConfigJson = {
    bos_token: t.bos, eos_token: t.eos, pad_token: t.pad, add_bos_token: false, add_eos_token: false,
    model_max_length: 256, chat_template: template(t.template),
  };
  // Render a few conversations with a BPE of bytes only (rendering needs the specials, not the merges).
  const bytesOnly = new HfTokenizer(trainBpe("", { vocabSize: 256 + t.specials.length, specials: t.specials }).json, config);
  const { question, answer } = gsm8kRows(24);
  const chats = question.slice(0, 6).map((q, i): ChatMessage[] => [
    ...(systemPrompt && i % 2 === 0 ? [{ role: "system", content: systemPrompt }] : []),
    { role: "user", content: q }, { role: "assistant", content: `<think>${answer[i]}</think><answer>${i}</answer>` }]);
  const rendered = chats.map(m => renderChat(bytesOnly, m, { addGenerationPrompt: false })).join("\n");
  const corpus = [rendered, ...question, ...answer].join("\n");
  const { json } = trainBpe(corpus, { vocabSize, specials: t.specials });
  const tokenizer = new HfTokenizer(json, config);
  return { files: { "tokenizer.json": JSON.stringify(json), "tokenizer_config.json": JSON.stringify(config) }, tokenizer, config };
}

/**
 * Writes the user's model folder: the family's config.json keys (with vocab_size and the special token ids of the
 * trained tokenizer), O(1) random weights (family-folders.ts's randomTensors) and the tokenizer files.
 */
export function writeUserModel(dir: string, family: E2eFamily, seed: number, systemPrompt = ""): { config: ModelConfig; tokenizer: HfTokenizer; json: Record<string, unknown> } {
  const { files, tokenizer } = familyTokenizer(family, 640, systemPrompt);
  const id = (s: string | null) => (s === null ? null : tokenizer.tokenToId(s)!);
  const t = FAMILY_TOKENS[family];
  const base = family === "qwen2" ? qwen2Config : familyConfigs[family];
  const json: Record<string, unknown> = {
    ...base, vocab_size: tokenizer.vocabSize, eos_token_id: id(t.eos),
    bos_token_id: family === "smollm3" ? null : id(t.bos ?? t.specials[0]), ...(t.pad !== null && "pad_token_id" in base ? { pad_token_id: id(t.pad) } : {}),
    // SmolLM3's template opens with a ~430-token system turn in thinking mode (the published model has 65536 positions)
    ...(family === "smollm3" ? { max_position_embeddings: 1024 } : {}),
  };
  const config = fromHfConfig(json);
  saveHfFolder(dir, config, randomTensors(config, seed), { files });
  writeFileSync(join(dir, "config.json"), JSON.stringify(json, null, 2)); // the family's own keys, as downloaded
  return { config, tokenizer, json };
}
