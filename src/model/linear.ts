/**
 * Linear layer, Hugging Face layout: W[out, in], y = x·Wᵀ + b.
 *
 * Shapes: R rows (B·T tokens), I = in features, O = out features.
 *   x [R, I]   W [O, I]   b [O] or null   y [R, O]
 */
import type { Backend } from "../engine/backend.js";
import { FrozenWeightsError, type FloatArray, type Weight } from "./params.js";
import { loraBackward, loraForward, type LoraHook } from "./lora.js";

/**
 * y[R,O] = (accumulate ? y : 0) + x·Wᵀ (+ b) (+ the LoRA update of `lora`, src/model/lora.ts); W may be BF16 (a
 * Uint16Array: frozen weights).
 */
export function linearForward(be: Backend, y: FloatArray, x: FloatArray, W: Weight, b: FloatArray | null, R: number, O: number, I: number, accumulate = false,
  lora?: LoraHook): void {
  if (W instanceof Uint16Array) be.matmulBf16(y, x, W, R, O, I, accumulate);
  else be.matmul(y, x, W, R, O, I, false, true, accumulate);
  if (b) be.addBias(y, b, R, O);
  loraForward(be, lora, y, x, R);
}

/**
 * dx[R,I] (= or +=) dy·W; dW[O,I] += dyᵀ·x; db[O] += Σ_r dy. With a frozen base (LoRA) dW and db are skipped and the
 * adapter's grads accumulate. A BF16 weight (frozen) passes dx through it (matmulBf16NN) only under a frozen base; its
 * own gradient cannot be taken (FrozenWeightsError: full fine-tuning needs float32 weights).
 */
export function linearBackward(be: Backend, dx: FloatArray, dW: Weight, db: FloatArray | null, dy: FloatArray, x: FloatArray, W: Weight,
  R: number, O: number, I: number, accumulateDx: boolean, lora?: LoraHook): void {
  if ((W instanceof Uint16Array || dW instanceof Uint16Array) && !lora?.frozen) throw new FrozenWeightsError("linearBackward: the gradient of a BF16 weight");
  if (W instanceof Uint16Array) be.matmulBf16NN(dx, dy, W, R, O, I, accumulateDx);
  else be.matmul(dx, dy, W, R, I, O, false, false, accumulateDx);
  loraBackward(be, lora, dx, dy, x, R);
  if (lora?.frozen || dW instanceof Uint16Array) return;
  be.matmul(dW, dy, x, O, I, R, true, false, true);
  if (db) be.biasBackward(db, dy, R, O);
}
