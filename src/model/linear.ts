/**
 * Linear layer, Hugging Face layout: W[out, in], y = x·Wᵀ + b.
 *
 * Shapes: R rows (B·T tokens), I = in features, O = out features.
 *   x [R, I]   W [O, I]   b [O] or null   y [R, O]
 */
import type { Backend } from "../engine/backend.js";
import { FrozenWeightsError, type FloatArray, type Weight } from "./params.js";

/** y[R,O] = (accumulate ? y : 0) + x·Wᵀ (+ b); W may be BF16 (a Uint16Array: frozen weights). */
export function linearForward(be: Backend, y: FloatArray, x: FloatArray, W: Weight, b: FloatArray | null, R: number, O: number, I: number, accumulate = false): void {
  if (W instanceof Uint16Array) be.matmulBf16(y, x, W, R, O, I, accumulate);
  else be.matmul(y, x, W, R, O, I, false, true, accumulate);
  if (b) be.addBias(y, b, R, O);
}

/** dx[R,I] (= or +=) dy·W; dW[O,I] += dyᵀ·x; db[O] += Σ_r dy. */
export function linearBackward(be: Backend, dx: FloatArray, dW: Weight, db: FloatArray | null, dy: FloatArray, x: FloatArray, W: Weight,
  R: number, O: number, I: number, accumulateDx: boolean): void {
  if (W instanceof Uint16Array || dW instanceof Uint16Array) throw new FrozenWeightsError("linearBackward");
  be.matmul(dx, dy, W, R, I, O, false, false, accumulateDx);
  be.matmul(dW, dy, x, O, I, R, true, false, true);
  if (db) be.biasBackward(db, dy, R, O);
}
