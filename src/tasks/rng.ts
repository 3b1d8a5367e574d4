/**
 * Small seeded PRNG (mulberry32) so generators are deterministic from a seed, independent of Math.random.
 * Not for cryptography; 2^32 period is plenty for problem generation.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  /** Index drawn with probability proportional to weights. */
  weighted(weights: readonly number[]): number;
}

export function makeRng(seed: number): Rng {
  let s = (seed >>> 0) ^ 0x9e3779b9;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    pick: xs => xs[Math.floor(next() * xs.length)],
    weighted: ws => {
      const total = ws.reduce((a, b) => a + b, 0);
      let u = next() * total;
      for (let i = 0; i < ws.length; i++) if ((u -= ws[i]) < 0) return i;
      return ws.length - 1;
    },
  };
}

/** 32-bit hash of integers (splitmix-style finaliser): one independent RNG seed per (seed, index, …). */
export function mixSeed(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h >>> 0;
}
