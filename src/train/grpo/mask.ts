import { GRPOInputError } from "./errors.js";

export interface CompletionMask {
  /** [B*T] 1 for tokens up to and including the first EOS (and within the row's length). */
  mask: Uint8Array;
  /** [B] tokens counted before truncated rows are masked (TRL logs these as completion lengths). */
  lengths: Int32Array;
  /** [B] 1 for a row that has no EOS and reached maxLength (max_completion_length). */
  truncated: Uint8Array;
}

/**
 * Completion loss mask as TRL builds it: tokens up to and including the first EOS; everything after is
 * ignored. ids [B*T] completion tokens, right-padded; lengths [B] generated tokens per row (default T).
 * A row the sampler ended early without an EOS (a stop string) is complete, not truncated.
 * With maskTruncated (TRL `mask_truncated_completions`), truncated rows are zeroed entirely.
 */
export function completionMask(
  ids: ArrayLike<number>,
  B: number,
  T: number,
  eos: number | readonly number[],
  opts: { lengths?: ArrayLike<number>; maxLength?: number; maskTruncated?: boolean } = {},
): CompletionMask {
  if (ids.length !== B * T) throw new GRPOInputError(`completion ids have ${ids.length} entries, expected B·T = ${B}·${T}`);
  const eosSet = new Set(typeof eos === "number" ? [eos] : eos);
  const mask = new Uint8Array(B * T);
  const lengths = new Int32Array(B);
  const truncated = new Uint8Array(B);
  const maxLength = opts.maxLength ?? T;
  for (let b = 0; b < B; b++) {
    const len = opts.lengths ? Math.min(T, opts.lengths[b]) : T;
    let n = len;
    let sawEos = false;
    for (let t = 0; t < len; t++) {
      if (eosSet.has(ids[b * T + t])) { n = t + 1; sawEos = true; break; }
    }
    lengths[b] = n;
    truncated[b] = !sawEos && len >= maxLength ? 1 : 0;
    if (opts.maskTruncated && truncated[b]) continue;
    mask.fill(1, b * T, b * T + n);
  }
  return { mask, lengths, truncated };
}
