/**
 * Linear layer, Hugging Face layout: W[out, in], y = x·Wᵀ + b.
 *
 * Shapes: R rows (B·T tokens), I = in features, O = out features.
 *   x [R, I]   W [O, I]   b [O] or null   y [R, O]
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray } from "./params.js";
import { loraBackward, loraForward, type LoraHook } from "./lora.js";

/** y[R,O] = (accumulate ? y : 0) + x·Wᵀ (+ b) (+ the LoRA update of `lora`, src/model/lora.ts) */
export function linearForward(be: Backend, y: FloatArray, x: FloatArray, W: FloatArray, b: FloatArray | null, R: number, O: number, I: number, accumulate = false,
  lora?: LoraHook): void {
  be.matmul(y, x, W, R, O, I, false, true, accumulate);
  if (b) be.addBias(y, b, R, O);
  loraForward(be, lora, y, x, R);
}

/** dx[R,I] (= or +=) dy·W; dW[O,I] += dyᵀ·x; db[O] += Σ_r dy. With a frozen base (LoRA) dW and db are skipped and the adapter's grads accumulate. */
export function linearBackward(be: Backend, dx: FloatArray, dW: FloatArray, db: FloatArray | null, dy: FloatArray, x: FloatArray, W: FloatArray,
  R: number, O: number, I: number, accumulateDx: boolean, lora?: LoraHook): void {
  be.matmul(dx, dy, W, R, I, O, false, false, accumulateDx);
  loraBackward(be, lora, dx, dy, x, R);
  if (lora?.frozen) return;
  be.matmul(dW, dy, x, O, I, R, true, false, true);
  if (db) be.biasBackward(db, dy, R, O);
}
