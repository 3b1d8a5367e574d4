import { Tokenizer as HfLib } from "@huggingface/tokenizers";
import type { Tokenizer, TokenizerConfigJson } from "./types.js";
import { TokenizerError } from "./types.js";

/** A Hugging Face tokenizer.json (+ tokenizer_config.json) through `@huggingface/tokenizers`. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly chatTemplate: string | null;
  private readonly lib: HfLib;
  private readonly specialIds: Set<number>;

  constructor(readonly json: object, readonly config: TokenizerConfigJson = {}) {
    try {
      this.lib = new HfLib(json, config);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json could not be read by @huggingface/tokenizers (${(e as Error).message}): check that it is a valid Hugging Face tokenizer file`);
    }
    const vocab = this.lib.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.specialIds = new Set([...this.lib.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
    const tokenOf = (v: TokenizerConfigJson["bos_token"]) => (v == null ? null : typeof v === "string" ? v : v.content);
    const idOf = (t: string | null, field: string) => {
      if (t === null) return null;
      const id = this.lib.token_to_id(t);
      if (id === undefined) throw new TokenizerError(`tokenizer_config.json ${field} "${t}" is not in tokenizer.json's vocabulary: fix one of the two files`);
      return id;
    };
    this.bosToken = tokenOf(config.bos_token);
    this.eosToken = tokenOf(config.eos_token);
    this.padToken = tokenOf(config.pad_token);
    this.bosId = idOf(this.bosToken, "bos_token");
    this.eosId = idOf(this.eosToken, "eos_token");
    this.padId = idOf(this.padToken, "pad_token");
    this.chatTemplate = pickChatTemplate(config.chat_template);
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.lib.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ""; // the library rejects an empty list
    return this.lib.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number) { return this.lib.id_to_token(id); }
  tokenToId(token: string) { return this.lib.token_to_id(token); }
  isSpecial(id: number) { return this.specialIds.has(id); }
}

/** tokenizer_config.json's chat_template is a string or a list of named templates ("default" is the chat one). */
function pickChatTemplate(t: TokenizerConfigJson["chat_template"]): string | null {
  if (t == null) return null;
  if (typeof t === "string") return t;
  return (t.find(x => x.name === "default") ?? t[0])?.template ?? null;
}
