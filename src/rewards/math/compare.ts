// Equivalence of two parsed answers (gold first, prediction second).
// Numbers: exact rationals via fraction.js; a decimal on either side is compared to `precision`
// decimal places (relative to the gold's magnitude). Expressions with free symbols: equal values at
// seeded random points. Equations: proportional left-minus-right sides. Inequalities: same direction
// after normalising to f < 0 / f <= 0. Sets unordered, tuples ordered, intervals by ends and brackets.
import { evaluate, exactRational, freeSymbols, hash01, type MathJson, type Num } from "./evaluate.js";
import type { MathValue } from "./parse.js";

export interface CompareOptions {
  /** Significant decimal places when a decimal number is involved (Math-Verify's float_rounding). Default 6. */
  precision?: number;
  /** Variables must have the same names (f(x) ≠ f(y)). Default true. */
  strict?: boolean;
  /** Let a gold interval/set match a predicted inequality such as -2 ≤ x ≤ 7. Default false. */
  allowSetRelation?: boolean;
}

const POINTS = 6;
const SYMBOLIC_TOL = 1e-7;

function envFor(json: MathJson[], point: number, strict: boolean): (name: string) => number {
  const names = [...new Set(json.flatMap(j => [...freeSymbols(j)]))].sort();
  return (name: string) => {
    const key = strict ? name : String(names.indexOf(name));
    return 0.35 + 2.5 * hash01(key, point);
  };
}

function close(a: number, b: number, tol: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

function numsClose(a: Num, b: Num, tol: (x: number) => number): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((row, i) => row.length === b[i].length && row.every((x, j) => close(x, b[i][j], tol(x))));
  }
  return close(a, b, tol(a));
}

/** Scalar/matrix expression equality. */
function exprEqual(g: MathJson, p: MathJson, float: boolean, o: Required<CompareOptions>): boolean {
  const free = new Set([...freeSymbols(g), ...freeSymbols(p)]);
  if (free.size === 0) {
    const eg = exactRational(g), ep = exactRational(p);
    if (eg && ep) return eg.equals(ep);
    const a = evaluate(g, () => NaN), b = evaluate(p, () => NaN);
    const tol = float ? Math.pow(10, -o.precision) : 1e-9;
    if (typeof a === "number" && typeof b === "number" && float) {
      // agreement to `precision` places: half a unit in the last place, relative to the gold's size
      return a === b || Math.abs(a - b) <= 0.5 * tol * Math.max(1, Math.abs(a)) * (1 + 1e-9);
    }
    return numsClose(a, b, () => tol);
  }
  if (o.strict) {
    const fg = freeSymbols(g), fp = freeSymbols(p);
    if (fg.size !== fp.size || [...fg].some(x => !fp.has(x))) return false;
  } else if (freeSymbols(g).size !== freeSymbols(p).size) return false;
  let valid = 0;
  for (let k = 0; k < POINTS; k++) {
    const a = evaluate(g, envFor([g], k, o.strict)), b = evaluate(p, envFor([p], k, o.strict));
    const finite = (v: Num) => (Array.isArray(v) ? v.every(r => r.every(Number.isFinite)) : Number.isFinite(v));
    if (!finite(a) || !finite(b)) continue;
    if (!numsClose(a, b, () => (float ? Math.pow(10, -o.precision) : SYMBOLIC_TOL))) return false;
    valid++;
  }
  return valid >= 3;
}

/** f1 and f2 are non-zero constant multiples of each other; `sign` restricts the constant's sign. */
function proportional(f1: MathJson, f2: MathJson, sign: 0 | 1, o: Required<CompareOptions>): boolean {
  let ratio: number | undefined, valid = 0;
  for (let k = 0; k < POINTS; k++) {
    const env = envFor([f1, f2], k, o.strict);
    const a = evaluate(f1, env), b = evaluate(f2, env);
    if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    if (Math.abs(a) < 1e-12 && Math.abs(b) < 1e-12) continue;
    if (Math.abs(b) < 1e-12) return false;
    const r = a / b;
    if (ratio === undefined) ratio = r;
    else if (!close(r, ratio, 1e-6)) return false;
    valid++;
  }
  if (ratio === undefined || valid < 2 || Math.abs(ratio) < 1e-12) return false;
  return sign === 0 || ratio > 0;
}

function sortKey(v: MathValue): number {
  if (v.kind === "expr") {
    const x = evaluate(v.json, () => NaN);
    return typeof x === "number" && !Number.isNaN(x) ? x : Infinity;
  }
  return Infinity;
}

/** Set semantics: repeated elements count once. */
function dedupe(items: MathValue[], o: Required<CompareOptions>): MathValue[] {
  const out: MathValue[] = [];
  for (const x of items.slice(0, 64)) if (!out.some(y => equivalent(y, x, o))) out.push(x);
  return out;
}

function listsEqual(gi: MathValue[], pi: MathValue[], ordered: boolean, o: Required<CompareOptions>): boolean {
  const g = ordered ? gi : dedupe(gi, o), p = ordered ? pi : dedupe(pi, o);
  if (g.length !== p.length) return false;
  if (ordered) return g.every((x, i) => equivalent(x, p[i], o));
  // greedy matching is exact here: equivalence is transitive on the values we build
  const used = new Array<boolean>(p.length).fill(false);
  return g.every(x => {
    const j = p.findIndex((y, k) => !used[k] && equivalent(x, y, o));
    if (j < 0) return false;
    used[j] = true;
    return true;
  });
}

function textOf(v: MathValue): string | undefined {
  if (v.kind === "text") return v.text.replace(/\s+/g, "");
  if (v.kind === "expr" && /^[A-Za-z]+$/.test(v.raw)) return v.raw;
  return undefined;
}

/** Gold and prediction are the same answer. */
export function equivalent(gold: MathValue, pred: MathValue, options: CompareOptions = {}): boolean {
  const o: Required<CompareOptions> = { precision: options.precision ?? 6, strict: options.strict ?? true, allowSetRelation: options.allowSetRelation ?? false };
  const g = gold, p = pred;
  if (g.kind === "text" || p.kind === "text") {
    const a = textOf(g), b = textOf(p);
    return a !== undefined && b !== undefined && a.replace(/^\((.*)\)$/, "$1") === b.replace(/^\((.*)\)$/, "$1");
  }
  if (g.kind === "equation" && p.kind === "equation") {
    const f1: MathJson | undefined = g.lhs.kind === "expr" && g.rhs.kind === "expr" ? ["Subtract", g.lhs.json, g.rhs.json] : undefined;
    const f2: MathJson | undefined = p.lhs.kind === "expr" && p.rhs.kind === "expr" ? ["Subtract", p.lhs.json, p.rhs.json] : undefined;
    if (f1 && f2 && proportional(f1, f2, 0, o)) return true;
    return g.nameLike && p.nameLike && equivalent(g.rhs, p.rhs, o);
  }
  if (g.kind === "equation") return g.nameLike && equivalent(g.rhs, p, o);
  if (p.kind === "equation") return equivalent(g, p.rhs, o);
  if (g.kind === "relation" || p.kind === "relation") {
    if (g.kind !== "relation" || p.kind !== "relation" || g.op !== p.op) return false;
    return proportional(g.f, p.f, g.op === "!=" ? 0 : 1, o);
  }
  if ((p.kind === "interval" || p.kind === "union") && p.fromRelation && !("fromRelation" in g && g.fromRelation) && !o.allowSetRelation) return false;
  if (g.kind === "interval" || p.kind === "interval") {
    const asInterval = (v: MathValue): MathValue | undefined =>
      v.kind === "interval" ? v : v.kind === "list" && v.pair && v.items.length === 2 ? { kind: "interval", lo: v.items[0], hi: v.items[1], loOpen: true, hiOpen: true } : v.kind === "union" && v.parts.length === 1 ? v.parts[0] : undefined;
    const a = asInterval(g), b = asInterval(p);
    if (!a || !b || a.kind !== "interval" || b.kind !== "interval") return false;
    return a.loOpen === b.loOpen && a.hiOpen === b.hiOpen && equivalent(a.lo, b.lo, o) && equivalent(a.hi, b.hi, o);
  }
  if (g.kind === "union" || p.kind === "union") {
    if (g.kind !== "union" || p.kind !== "union") return false;
    return listsEqual(g.parts, p.parts, false, o);
  }
  if (g.kind === "list" || p.kind === "list") {
    if (g.kind !== "list" || p.kind !== "list") {
      const one = g.kind === "list" ? g : (p as MathValue & { kind: "list" });
      return one.items.length === 1 && (g.kind === "list" ? equivalent(one.items[0], p, o) : equivalent(g, one.items[0], o));
    }
    if (g.ordered === p.ordered) return listsEqual(g.items, p.items, g.ordered, o);
    // a tuple against a set: the set's elements in increasing order (as sympy orders a FiniteSet)
    const set = g.ordered ? p : g, tuple = g.ordered ? g : p;
    const sorted = [...set.items].sort((x, y) => sortKey(x) - sortKey(y));
    return g.ordered ? listsEqual(tuple.items, sorted, true, o) : listsEqual(sorted, tuple.items, true, o);
  }
  const float = (v: MathValue) => (v.kind === "expr" || v.kind === "matrix") && v.float;
  if ((g.kind === "expr" || g.kind === "matrix") && (p.kind === "expr" || p.kind === "matrix")) {
    return exprEqual(g.json, p.json, float(g) || float(p), o);
  }
  return false;
}
