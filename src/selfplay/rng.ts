/** Distributions self-play needs, on the project's seeded generator (src/sample/rng.ts). */
import { Rng } from "../sample/rng.js";
export { Rng };

export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng.nextFloat() * n);
}

/** Standard normal (Box-Muller). */
export function normal(rng: Rng): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/** Gamma(shape, 1) by Marsaglia-Tsang; shape < 1 through Gamma(shape + 1)·U^(1/shape). */
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
