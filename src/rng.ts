/**
 * Every seeded random stream of the project, in one place (llm.c keeps its one generator in llmc/rand.h). Held-out
 * sets, initial weights, shipped models and the figures in the README and the recipes depend on these streams, so
 * each is kept bit for bit as it was when it shipped; test/rng/streams.test.ts holds them to recorded values.
 *
 *   task generator       makeRng(seed): TaskRng        mulberry32 from seed ^ 0x9e3779b9: problem generation, corpus
 *                        mixSeed(...xs)                 one independent seed per (seed, index, …): the example stream,
 *                                                       sampling seeds per step
 *                        shuffle(xs, rng)               Fisher–Yates from the end (dataset splits, SFT epochs, pairs)
 *   sampling generator   new Rng(seed), Rng.forStream   xoshiro128** seeded through splitmix32: token sampling,
 *                                                       self-play; exact state for resume (state / fromState)
 *                        randInt, normal, gamma,        distributions over it (self-play: moves, Dirichlet noise,
 *                        dirichlet                      network initialisation)
 *   initialisation       uniformRng(seed), normalRng    mulberry32 from seed itself, and Box–Muller with its spare:
 *                                                       the transformer's weights and the reward model's head
 *
 * Not for cryptography.
 */

/** The mulberry32 generator from a 32-bit state: uniform in [0, 1). */
function mulberry32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- The task generator ----------------------------------------------------------------------------------------

/** The task generator: problem generation and data shuffles. A 2^32 period is plenty for that. */
export interface TaskRng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  /** Index drawn with probability proportional to weights. */
  weighted(weights: readonly number[]): number;
}

export function makeRng(seed: number): TaskRng {
  const next = mulberry32((seed >>> 0) ^ 0x9e3779b9);
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

/** Shuffles `xs` in place (Fisher–Yates from the last element, j = rng.int(0, i)) and returns it. */
export function shuffle<T>(xs: T[], rng: TaskRng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

// ---- The sampling generator ------------------------------------------------------------------------------------

/**
 * xoshiro128** (Blackman & Vigna): a small, fast, well-tested 32-bit generator, seeded through splitmix32 so that
 * nearby seeds give unrelated streams. Each generated sequence gets its own stream (`Rng.forStream(seed, i)`), so a
 * sequence's samples do not depend on which other sequences share its batch.
 */
export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => { x = (x + 0x9e3779b9) >>> 0; return splitmix32(x); };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
  }

  /** A generator at an exact state (four uint32, not all zero), e.g. one saved with `state()` to resume a run. */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map(x => x >>> 0);
    return r;
  }

  state(): [number, number, number, number] { return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0]; }

  /** The stream of sequence `index` under `seed`. */
  static forStream(seed: number, index: number): Rng {
    return new Rng(splitmix32((seed >>> 0) ^ splitmix32(index + 0x632be5ab)));
  }

  /** Uniform uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

function splitmix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

// ---- Distributions over the sampling generator (self-play) ---------------------------------------------------

export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng.nextFloat() * n);
}

/** Standard normal (Box–Muller, one draw per call: the cosine half). */
export function normal(rng: Rng): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/** Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 through Gamma(shape + 1)·U^(1/shape). */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng.nextFloat(), 1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do { x = normal(rng); v = 1 + c * x; } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.nextFloat();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Dirichlet(alpha, …, alpha) sample of length n. */
export function dirichlet(rng: Rng, alpha: number, n: number): Float64Array {
  const x = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) { x[i] = gamma(rng, alpha); sum += x[i]; }
  for (let i = 0; i < n; i++) x[i] = sum > 0 ? x[i] / sum : 1 / n;
  return x;
}

// ---- The initialisation generator ------------------------------------------------------------------------------

/** Seeded uniform [0, 1) generator for weight initialisation (mulberry32 from the seed itself). */
export function uniformRng(seed: number): () => number {
  return mulberry32(seed);
}

/** Seeded standard normals (Box–Muller over uniformRng, the sine half kept as the next draw). */
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
