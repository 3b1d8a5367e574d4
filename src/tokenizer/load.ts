import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Tokenizer, TokenizerConfigJson } from "./types.js";
import { TokenizerError } from "./types.js";
import { HfTokenizer } from "./hf.js";
import type { TokenizerJson } from "./tokenizer-json.js";

/**
 * Loads a model folder's tokenizer: tokenizer.json, with tokenizer_config.json (special tokens, chat template) if
 * present. The chat template may instead be in `chat_template.jinja`, where transformers ≥ 4.50 saves it.
 */
export function loadTokenizer(dir: string): Tokenizer {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) throw new TokenizerError(`no tokenizer.json in ${dir}: a model folder needs one (save a ByteTokenizer's toTokenizerJson() or a trainBpe result with writeTokenizerFiles)`);
  const json = readJson(path);
  return new HfTokenizer(json, readTokenizerConfig(dir));
}

/** tokenizer_config.json of a model folder ({} if absent), with `chat_template` from chat_template.jinja when the JSON has none. */
export function readTokenizerConfig(dir: string): TokenizerConfigJson {
  const configPath = join(dir, "tokenizer_config.json");
  const config = existsSync(configPath) ? readJson(configPath) as TokenizerConfigJson : {};
  const jinja = join(dir, "chat_template.jinja");
  if (config.chat_template == null && existsSync(jinja)) return { ...config, chat_template: readFileSync(jinja, "utf8") };
  return config;
}

/** The two tokenizer files of a model folder, by name (e.g. for savePretrained's `files` option). */
export function tokenizerFileMap(json: TokenizerJson | object, config: TokenizerConfigJson): Record<string, string> {
  return {
    "tokenizer.json": JSON.stringify(json),
    "tokenizer_config.json": JSON.stringify({ tokenizer_class: "PreTrainedTokenizerFast", ...config }, null, 2),
  };
}

/** Writes tokenizer.json and tokenizer_config.json into a folder (created if missing). */
export function writeTokenizerFiles(dir: string, json: TokenizerJson | object, config: TokenizerConfigJson): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(tokenizerFileMap(json, config))) writeFileSync(join(dir, name), text);
}

function readJson(path: string): object {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new TokenizerError(`${path} is not valid JSON (${(e as Error).message}): restore the file from the model's source`);
  }
}
