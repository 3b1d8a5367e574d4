/**
 * Initialisation (GPT-2 / Llama practice): Linear and embedding weights ~ N(0, 0.02²), the two projections
 * that write into the residual stream (o_proj, down_proj) scaled by 1/√(2·layers) so the stream's variance
 * does not grow with depth; norm weights 1 (0 for Gemma, whose norms scale by 1 + w), biases 0. Seeded, so the same
 * seed gives the same model.
 */
import { normalRng } from "../rng.js";
import type { FloatArray, ParamStore } from "./params.js";

export { normalRng, uniformRng } from "../rng.js"; // the initialisation generator, with every other stream in src/rng.ts

export function initParams(store: ParamStore<FloatArray>, numLayers: number, seed = 0, std = 0.02, normInit = 1): void {
  const randn = normalRng(seed);
  const residualStd = std / Math.sqrt(2 * numLayers);
  for (const p of store.views) {
    if (/norm\.weight$/.test(p.name)) p.data.fill(normInit);
    else if (/bias$/.test(p.name)) p.data.fill(0);
    else {
      const s = /(o_proj|down_proj)\.weight$/.test(p.name) ? residualStd : std;
      for (let i = 0; i < p.data.length; i++) p.data[i] = randn() * s;
    }
  }
}
