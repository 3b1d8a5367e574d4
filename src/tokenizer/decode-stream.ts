import type { Tokenizer } from "./types.js";

/**
 * Incremental detokenization for streaming (text-generation-inference's `decode_token`): each push returns the new
 * text, or "" while the tail is an incomplete UTF-8 sequence (decoded as U+FFFD) that a later token completes.
 * Decoding a short window of earlier tokens keeps tokenizers that drop a leading space (SentencePiece) correct.
 */
export class DecodeStream {
  private readonly ids: number[] = [];
  private prefix = 0;
  private read = 0;

  constructor(private readonly tokenizer: Tokenizer, private readonly opts: { skipSpecialTokens?: boolean } = { skipSpecialTokens: true }) {}

  push(id: number): string {
    this.ids.push(id);
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefix, this.read), this.opts);
    const text = this.tokenizer.decode(this.ids.slice(this.prefix), this.opts);
    if (text.length <= prefixText.length || text.endsWith("\uFFFD")) return "";
    this.prefix = this.read;
    this.read = this.ids.length;
    return text.slice(prefixText.length);
  }

  /** Text still held back at the end of a sequence (an incomplete UTF-8 tail decodes as U+FFFD). */
  flush(): string {
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefix, this.read), this.opts);
    const text = this.tokenizer.decode(this.ids.slice(this.prefix), this.opts);
    this.prefix = this.read = this.ids.length;
    return text.slice(prefixText.length);
  }
}
