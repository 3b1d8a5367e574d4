import type { ModelConfig } from "./config.js";

/**
 * What the sampler, trainers and exporters see of a model. Parameters are named
 * with Hugging Face names (e.g. "model.layers.0.self_attn.q_proj.weight") and
 * Hugging Face shapes (Linear weights [out, in]); each is a view into one flat buffer.
 */
export interface NamedParam { name: string; shape: number[]; data: Float32Array; grad: Float32Array }

/** A batched KV cache. Each row keeps its own position counter; slots fed with valid = 0 are masked keys. */
export interface KVCache {
  readonly batch: number;
  readonly maxLen: number;
  /** Slots used so far (same for every row). */
  readonly length: number;
  /** Keep only these rows, in this order (finished sequences leave the batch). */
  keep(rows: number[]): void;
  /**
   * Rebuild the batch from these rows, which may repeat: new row i is a copy of old row rows[i]. One prefill of a
   * prompt then serves its n samples (GRPO's num_generations).
   */
  fork(rows: number[]): void;
  /**
   * Append rows of another cache of the same model (continuous batching: prompts prefilled on their own join a running
   * batch): new row batch + i is a copy of src row rows[i] (rows may repeat, as in fork). Rows are aligned on their
   * last slot: a joined row's `src.length` slots end where this cache's used slots end, the slots before them masked;
   * when src holds more slots than this cache uses, this cache's rows first move right to make room.
   */
  join(src: KVCache, rows: number[]): void;
  /**
   * Drop the leading slots that are masked in every row (rows that left or joined late leave them), moving every row's
   * slots left; returns how many. A running batch calls it when its next step would not fit `maxLen`.
   */
  compact(): number;
  /** Optional: the caller is done with the cache, and the model may reuse its memory for the next one. */
  release?(): void;
}

export interface ForwardResult {
  /** [B*T] log-prob of targets under logits / temperature (0 where target < 0). */
  logp: Float32Array;
  /** [B*T] entropy of softmax(logits / temperature) (0 where target < 0: such rows are not scored). */
  entropy: Float32Array;
}

export interface CausalLM {
  readonly config: ModelConfig;
  readonly params: NamedParam[];
  /** Flat buffers (llm.c): zero-grad is grads.fill(0), a checkpoint one write. */
  readonly flatParams: Float32Array;
  readonly flatGrads: Float32Array;
  /** A frozen BF16 model's Linear weights, LM head and embedding (createModel's `weights: "bfloat16"`); empty or absent otherwise. */
  readonly bf16Params?: readonly { name: string; shape: number[]; data: Uint16Array }[];

  /**
   * Training forward. tokens/mask/targets [B*T]; mask 1 = real token (padding may be on either side;
   * positions are cumsum(mask) − 1 per row, as Hugging Face derives them). Saves activations for backward.
   * segments [B*T] (optional, packed sequences): a segment id per token; a token attends only to earlier tokens
   * of its own segment and positions count from 0 within each segment, so every packed example is computed as
   * if it were alone in its row.
   */
  forward(tokens: Int32Array, mask: Uint8Array, targets: Int32Array, B: number, T: number, temperature?: number, segments?: Int32Array): ForwardResult;
  /** Accumulates parameter grads from dL/dlogp [B*T] (and optionally dL/dentropy) of the last forward. */
  backward(dlogp: Float32Array, dentropy?: Float32Array): void;

  newCache(batch: number, maxLen: number): KVCache;
  /**
   * Feed T tokens per row into the cache (prefill with T > 1, decode with T = 1).
   * tokens/valid [B*T]; valid 0 = padding slot (left padding), masked as a key and not counted as a position.
   * Returns logits [B, V] at each row's last slot: written into `out` when given (at least B·V floats; a decode loop
   * reuses one buffer instead of allocating B·V floats a step — 19 MB at 32 rows of a 151,936-id vocabulary), else new.
   */
  decode(cache: KVCache, tokens: Int32Array, valid: Uint8Array, T: number, out?: Float32Array): Float32Array;
}
