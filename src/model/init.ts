/**
 * Initialisation (GPT-2 / Llama practice): Linear and embedding weights ~ N(0, 0.02²), the two projections
 * that write into the residual stream (o_proj, down_proj) scaled by 1/√(2·layers) so the stream's variance
 * does not grow with depth; norm weights 1 (0 for Gemma, whose norms scale by 1 + w), biases 0. Seeded, so the same
 * seed gives the same model.
 */
import type { FloatArray, ParamStore } from "./params.js";

/** Seeded uniform [0, 1) generator (mulberry32). */
export function uniformRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded standard normals (Box-Muller over uniformRng). */
export function normalRng(seed: number): () => number {
  const uniform = uniformRng(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    const u = 1 - uniform(), v = uniform(), r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

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
