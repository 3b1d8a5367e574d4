/**
 * What the sampler, trainers and CLI see of a tokenizer. Implementations: `ByteTokenizer` (raw UTF-8 bytes plus a
 * few special tokens, for the small models trained here) and `HfTokenizer` (any Hugging Face tokenizer.json,
 * including the byte-level BPE vocabularies `trainBpe` writes).
 */
export interface Tokenizer {
  /** Number of ids, special tokens included (the model's vocab_size may be larger: padded embedding rows). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  /** Jinja chat template from tokenizer_config.json, if any. */
  readonly chatTemplate: string | null;
  /**
   * Text → ids. Special-token strings in the text (e.g. "<|endoftext|>") become their ids, as Hugging Face does.
   * `addSpecialTokens` (default true, Hugging Face's default) lets the post-processor add BOS/EOS where the
   * tokenizer defines it; a rendered chat template already holds them, so chat prompts pass false.
   */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Ids → text; `skipSpecialTokens` (default false) drops special tokens. Incomplete UTF-8 decodes to U+FFFD. */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** True for special (added, control) tokens such as EOS, which generation never writes into the returned text. */
  isSpecial(id: number): boolean;
}

/** tokenizer_config.json fields this project reads and writes (Hugging Face names; others pass through). */
export interface TokenizerConfigJson {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  chat_template?: string | { name: string; template: string }[] | null;
  [key: string]: unknown;
}

export class TokenizerError extends Error {
  constructor(message: string) { super(message); this.name = "TokenizerError"; }
}
