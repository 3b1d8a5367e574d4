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
