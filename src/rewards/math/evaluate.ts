// Numeric evaluation of MathJSON (the tree @cortex-js/compute-engine produces) with a node budget,
// plus exact rational evaluation with fraction.js where the tree is pure arithmetic.
// Symbolic equality is then decided by evaluating both sides at seeded random points
// (a polynomial-identity style test): it needs no simplifier, so its time is bounded by the budget.
import Fraction from "fraction.js";

export type MathJson = number | string | { num: string } | MathJson[] | { [k: string]: unknown };

/** A value: a scalar or a matrix (rows of scalars). */
export type Num = number | number[][];

/** Most tree nodes one evaluation may visit. */
const NODE_BUDGET = 20_000;

const CONSTANTS: Record<string, number> = {
  Pi: Math.PI, ExponentialE: Math.E, PositiveInfinity: Infinity, NegativeInfinity: -Infinity,
  Half: 0.5, Zero: 0, One: 1, NegativeOne: -1, Two: 2,
};

export function isConstantSymbol(s: string): boolean {
  return s in CONSTANTS;
}

/** Free symbols of a tree (function names are not symbols; quoted strings are text). */
export function freeSymbols(json: MathJson, out = new Set<string>(), depth = 0): Set<string> {
  if (depth > 200) return out;
  if (typeof json === "string") {
    if (!json.startsWith("'") && !(json in CONSTANTS) && json !== "Nothing") out.add(json);
  } else if (Array.isArray(json)) {
    for (let i = 1; i < json.length; i++) freeSymbols(json[i], out, depth + 1);
  }
  return out;
}

/** Deterministic pseudo-random number in [0,1) from a string and an integer. */
export function hash01(s: string, k: number): number {
  let h = 2166136261 ^ k;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

type Env = (name: string) => number;

class Budget { left = NODE_BUDGET; }

function factorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) return NaN;
  if (n > 170) return Infinity;
  let r = 1;
  for (let i = 2; i <= n; i++) r *= i;
  return r;
}

function isMatrix(v: Num): v is number[][] { return Array.isArray(v); }

function mapM(a: Num, f: (x: number) => number): Num {
  return isMatrix(a) ? a.map(r => r.map(f)) : f(a);
}

function add(a: Num, b: Num): Num {
  if (isMatrix(a) && isMatrix(b)) {
    if (a.length !== b.length || a[0]?.length !== b[0]?.length) return NaN;
    return a.map((r, i) => r.map((x, j) => x + b[i][j]));
  }
  if (isMatrix(a) || isMatrix(b)) return NaN;
  return a + b;
}

function mul(a: Num, b: Num): Num {
  if (isMatrix(a) && isMatrix(b)) {
    if (a[0]?.length !== b.length) return NaN;
    return a.map(r => b[0].map((_, j) => r.reduce((s, x, k) => s + x * b[k][j], 0)));
  }
  if (isMatrix(a)) return mapM(a, x => x * (b as number));
  if (isMatrix(b)) return mapM(b, x => x * a);
  return a * b;
}

function root(x: number, n: number): number {
  if (x < 0 && Number.isInteger(n) && n % 2 === 1) return -Math.pow(-x, 1 / n);
  return Math.pow(x, 1 / n);
}

const UNARY: Record<string, (x: number) => number> = {
  Negate: x => -x, Sqrt: Math.sqrt, Exp: Math.exp, Ln: Math.log, Abs: Math.abs, Square: x => x * x,
  Sin: Math.sin, Cos: Math.cos, Tan: Math.tan, Sec: x => 1 / Math.cos(x), Csc: x => 1 / Math.sin(x), Cot: x => 1 / Math.tan(x),
  Arcsin: Math.asin, Arccos: Math.acos, Arctan: Math.atan, Sinh: Math.sinh, Cosh: Math.cosh, Tanh: Math.tanh,
  Floor: Math.floor, Ceil: Math.ceil, Round: Math.round, Lb: Math.log2, Lg: Math.log10, Factorial: factorial,
  Conjugate: x => x, Delimiter: x => x,
};

function scalar(v: Num): number { return isMatrix(v) ? NaN : v; }

function ev(json: MathJson, env: Env, budget: Budget): Num {
  if (--budget.left < 0) return NaN;
  if (typeof json === "number") return json;
  if (typeof json === "string") {
    if (json in CONSTANTS) return CONSTANTS[json];
    if (json.startsWith("'")) return NaN;
    return env(json);
  }
  if (!Array.isArray(json)) {
    const num = (json as { num?: unknown }).num;
    return typeof num === "string" ? parseFloat(num.replace(/[()]/g, "")) : NaN;
  }
  const [head, ...args] = json;
  if (typeof head !== "string") return NaN;
  const a = (i: number): Num => ev(args[i], env, budget);
  switch (head) {
    case "Add": return args.slice(1).reduce<Num>((s, _x, i) => add(s, a(i + 1)), a(0));
    case "Subtract": return add(a(0), mapM(a(1), x => -x));
    case "Multiply": return args.slice(1).reduce<Num>((s, _x, i) => mul(s, a(i + 1)), a(0));
    case "Divide": { const d = scalar(a(1)); return mapM(a(0), x => x / d); }
    case "Rational": return scalar(a(0)) / scalar(a(1));
    case "Power": {
      const base = a(0), e = scalar(a(1));
      if (isMatrix(base)) {
        if (!Number.isInteger(e) || e < 1 || e > 16) return NaN;
        let r: Num = base;
        for (let i = 1; i < e; i++) r = mul(r, base);
        return r;
      }
      if (base < 0 && !Number.isInteger(e)) {
        // odd roots of negatives (x^{1/3}) stay real
        const inv = 1 / e;
        if (Math.abs(inv - Math.round(inv)) < 1e-12 && Math.round(inv) % 2 !== 0) return -Math.pow(-base, e);
      }
      return Math.pow(base, e);
    }
    case "Root": return root(scalar(a(0)), scalar(a(1)));
    case "Log": return args.length > 1 ? Math.log(scalar(a(0))) / Math.log(scalar(a(1))) : Math.log10(scalar(a(0)));
    case "Binomial": {
      const n = scalar(a(0)), k = scalar(a(1));
      if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || n < k || n > 1000) return NaN;
      let r = 1;
      for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
      return r;
    }
    case "Max": return Math.max(...args.map((_x, i) => scalar(a(i))));
    case "Min": return Math.min(...args.map((_x, i) => scalar(a(i))));
    case "Matrix": return a(0);
    case "List": {
      // a List of scalars is one row; a List of rows stacks them
      const items = args.map((_x, i) => a(i));
      if (items.every(r => !isMatrix(r))) return [items as number[]];
      if (items.every(r => isMatrix(r) && r.length === 1)) return items.map(r => (r as number[][])[0]);
      return NaN;
    }
  }
  if (head in UNARY && args.length === 1) return mapM(a(0), UNARY[head]);
  if (/^[A-Za-z]\w*$/.test(head) && args.length >= 1) {
    // an unknown function f(x): a fixed pseudo-random function of its name and arguments
    const xs = args.map((_x, i) => scalar(a(i)));
    if (xs.some(x => !Number.isFinite(x))) return NaN;
    return hash01(head + ":" + xs.map(x => x.toPrecision(12)).join(","), 7) * 4 - 2;
  }
  return NaN;
}

/** Numeric value of a tree under a variable assignment (NaN when undefined or over budget). */
export function evaluate(json: MathJson, env: Env): Num {
  return ev(json, env, new Budget());
}

const MAX_EXACT_DIGITS = 400;

/** Exact rational value of pure arithmetic (integers, +, −, ×, ÷, small integer powers), else undefined. */
export function exactRational(json: MathJson, depth = 0): Fraction | undefined {
  if (depth > 60) return undefined;
  if (typeof json === "number") return Number.isInteger(json) ? new Fraction(json) : undefined;
  if (!Array.isArray(json)) {
    const num = (json as { num?: unknown })?.num;
    if (typeof num === "string" && /^-?\d+$/.test(num) && num.length <= MAX_EXACT_DIGITS) return new Fraction(BigInt(num));
    return undefined;
  }
  const [head, ...args] = json;
  const parts = args.map(x => exactRational(x, depth + 1));
  if (parts.some(p => p === undefined)) return undefined;
  const ps = parts as Fraction[];
  const big = (f: Fraction) => f.n.toString().length + f.d.toString().length > MAX_EXACT_DIGITS;
  let r: Fraction | undefined;
  switch (head) {
    case "Add": r = ps.reduce((s, p) => s.add(p), new Fraction(0)); break;
    case "Subtract": r = ps[0].sub(ps[1]); break;
    case "Multiply": r = ps.reduce((s, p) => s.mul(p), new Fraction(1)); break;
    case "Negate": r = ps[0].neg(); break;
    case "Divide": case "Rational": r = ps[1].equals(0) ? undefined : ps[0].div(ps[1]); break;
    case "Power": {
      const e = ps[1];
      if (e.d !== 1n || e.n > 64n || e.n < -64n) return undefined;
      if (ps[0].equals(0) && e.s < 0) return undefined;
      r = ps[0].pow(e);
      break;
    }
    default: return undefined;
  }
  return r && !big(r) ? r : undefined;
}
