import { GRPOInputError } from "./errors.js";

export interface PackedBatch {
  B: number;
  /** Slots per row: longest prompt + completion, minus one (the last token is never an input). */
  T: number;
  /** [B*T] input tokens, right-padded with 0. */
  tokens: Int32Array;
  /** [B*T] 1 = real input token. */
  attention: Uint8Array;
  /** [B*T] token to score at each slot (the next one), −1 where nothing is scored. */
  targets: Int32Array;
  /** [B*T] completion loss mask moved onto the slots that predict those completion tokens. */
  lossMask: Uint8Array;
}

/**
 * Lays rollouts out for model.forward(tokens, attention, targets, B, T): row b is prompt ‖ completion,
 * slot t scores token t+1, so completion token j (at sequence position P_b + j) is scored at slot P_b + j − 1.
 * completionMask[b][j] (from completionMask) selects which completion tokens count in the loss; the
 * result's lossMask, and the forward's logp/entropy, are then in the [B*T] layout grpoLoss expects.
 */
export function packBatch(
  prompts: readonly (readonly number[])[],
  completions: readonly (readonly number[])[],
  completionMask: readonly (ArrayLike<number>)[],
): PackedBatch {
  const B = prompts.length;
  if (completions.length !== B || completionMask.length !== B)
    throw new GRPOInputError(`packBatch got ${B} prompts, ${completions.length} completions and ${completionMask.length} masks; pass one of each per row`);
  let T = 1;
  for (let b = 0; b < B; b++) {
    if (prompts[b].length === 0) throw new GRPOInputError(`row ${b} has an empty prompt; the first completion token needs a token to condition on`);
    T = Math.max(T, prompts[b].length + completions[b].length - 1);
  }
  const tokens = new Int32Array(B * T);
  const attention = new Uint8Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  const lossMask = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    const seq = [...prompts[b], ...completions[b]];
    const P = prompts[b].length;
    for (let t = 0; t < seq.length - 1; t++) {
      tokens[b * T + t] = seq[t];
      attention[b * T + t] = 1;
      if (t >= P - 1) {
        targets[b * T + t] = seq[t + 1];
        lossMask[b * T + t] = completionMask[b][t - P + 1] ? 1 : 0;
      }
    }
  }
  return { B, T, tokens, attention, targets, lossMask };
}
