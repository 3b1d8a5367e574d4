// Test helper: a tokenizer carrying a family's real chat template (test/fixtures/templates) and special tokens.
import { readFileSync } from "node:fs";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";

export const TEMPLATES = new URL("../fixtures/templates/", import.meta.url);
const specials = (JSON.parse(readFileSync(new URL("expected.json", TEMPLATES), "utf8")) as { specials: Record<string, Record<string, string>> }).specials;
const FAMILY_TOKENS: Record<string, string[]> = {
  qwen3: ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
  "llama3.2": ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|python_tag|>"],
};

export function familyTokenizer(family: "qwen3" | "llama3.2"): HfTokenizer {
  const sp = specials[family];
  const orNull = (s: string) => (s === "" ? null : s);
  return new HfTokenizer(new ByteTokenizer(FAMILY_TOKENS[family]).toTokenizerJson(), {
    bos_token: orNull(sp.bos_token), eos_token: orNull(sp.eos_token), pad_token: orNull(sp.pad_token),
    chat_template: readFileSync(new URL(`${family}.jinja`, TEMPLATES), "utf8"),
  });
}

/** Llama 3.2 prints today's date (strftime_now); the fixture was rendered on 06 Dec 2026. */
export function onToday(text: string): string {
  const d = new Date();
  const today = `${String(d.getDate()).padStart(2, "0")} ${new Intl.DateTimeFormat("en", { month: "short" }).format(d)} ${d.getFullYear()}`;
  return text.replaceAll("Today Date: 06 Dec 2026", `Today Date: ${today}`);
}
