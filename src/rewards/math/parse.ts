// Parses a normalised answer string into a typed value: expression, text, set/tuple, interval,
// union, matrix, equation or inequality. Structure (lists, brackets, relations) is split here with
// depth-aware scans; single expressions go to @cortex-js/compute-engine's LaTeX parser.
import { normalizeAnswer } from "./normalize.js";
import type { MathJson } from "./evaluate.js";
import { parseLatexJson } from "./latex.js";

export type MathValue =
  | { kind: "expr"; json: MathJson; raw: string; float: boolean }
  | { kind: "text"; text: string }
  | { kind: "list"; items: MathValue[]; ordered: boolean; pair?: boolean }
  | { kind: "interval"; lo: MathValue; hi: MathValue; loOpen: boolean; hiOpen: boolean; fromRelation?: boolean }
  | { kind: "union"; parts: MathValue[]; fromRelation?: boolean }
  | { kind: "matrix"; json: MathJson; float: boolean }
  | { kind: "equation"; lhs: MathValue; rhs: MathValue; nameLike: boolean }
  | { kind: "relation"; op: "<" | "<=" | "!="; f: MathJson; raw: string };

const MAX_PARSE_CHARS = 400;

const OPEN = new Set(["(", "[", "{"]);
const CLOSE = new Set([")", "]", "}"]);

/** Splits at top-level occurrences of any separator (outside all brackets and \begin…\end). */
export function splitTop(s: string, seps: string[]): string[] {
  const out: string[] = [];
  let depth = 0, env = 0, last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && (s[i + 1] === "{" || s[i + 1] === "}")) {
      depth += s[i + 1] === "{" ? 1 : -1;
      i++;
      continue;
    }
    if (c === "\\") {
      if (s.startsWith("\\begin", i)) env++;
      else if (s.startsWith("\\end", i)) env--;
      else if (depth === 0 && env === 0) {
        const sep = seps.find(x => x.startsWith("\\") && s.startsWith(x, i) && !/[a-zA-Z]/.test(s[i + x.length] ?? ""));
        if (sep) { out.push(s.slice(last, i)); last = i + sep.length; i += sep.length - 1; continue; }
      }
      i++;
      continue;
    }
    if (OPEN.has(c)) depth++;
    else if (CLOSE.has(c)) depth--;
    else if (depth === 0 && env === 0) {
      const sep = seps.find(x => !x.startsWith("\\") && s.startsWith(x, i));
      if (sep) { out.push(s.slice(last, i)); last = i + sep.length; i += sep.length - 1; }
    }
  }
  out.push(s.slice(last));
  return out;
}

/** True when `s` is one bracket group from its first to its last character. */
function wraps(s: string): boolean {
  let depth = 0, c2: string;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && s[i + 1] !== "{" && s[i + 1] !== "}") { i++; continue; }
    if (c === "\\") { c2 = s[++i]; } else c2 = c;
    if (OPEN.has(c2)) depth++;
    else if (CLOSE.has(c2) && --depth === 0 && i < s.length - 1) return false;
  }
  return depth === 0;
}

/** A left-hand side that names the answer (x, f(x), (p,q), |AB|, V_1:V_2) rather than computing it. */
export function isNameLike(lhs: string): boolean {
  const t = lhs.replace(/_\s*\{[^{}]*\}|_\s*\w/g, "").replace(/\\(?:frac|overline|mathbf|mathrm|text|angle|triangle|vec|hat|bar)/g, "");
  return t.trim() !== "" && !/[\d+\-^=]/.test(t) && !/\\(?:sqrt|sum|int)/.test(t);
}

let deadline = Infinity;

/** Bounds the parsing of everything until `clearParseDeadline` (one verification): later parses fail. */
export function setParseDeadline(ms: number): void {
  deadline = Date.now() + ms;
}

export function clearParseDeadline(): void {
  deadline = Infinity;
}

function parseLatex(s: string): MathJson | undefined {
  if (Date.now() > deadline) return undefined;
  const json = parseLatexJson(s, deadline === Infinity);
  if (json === undefined) return undefined;
  const text = JSON.stringify(json);
  if (text.includes("\"Error\"") || text.includes("'missing'") || text.includes("\"Nothing\"")) return undefined;
  return json;
}

const RELATION_SEPS = ["\\ge", "\\le", "\\ne", "\\approx", "\\in", "\\to", "<", ">", "="];

function scalarExpr(s: string): MathValue | undefined {
  const json = parseLatex(s);
  if (json === undefined) return undefined;
  return { kind: "expr", json, raw: s.replace(/\s+/g, ""), float: /\d\.\d|(^|[^\d])\.\d/.test(s) };
}

/** Value of a relation side: for a name-like equation, its right-hand side. */
export function valueOf(v: MathValue): MathValue {
  return v.kind === "equation" && v.nameLike ? valueOf(v.rhs) : v;
}

function parseRelation(s: string, opts: ParseOptions): MathValue | undefined {
  const ops: string[] = [];
  const parts: string[] = [];
  // collect operators in order with a second scan (splitTop drops them)
  let rest = s;
  for (;;) {
    const [head, ...tail] = splitTop(rest, RELATION_SEPS);
    if (tail.length === 0) { parts.push(head); break; }
    parts.push(head);
    const after = rest.slice(head.length);
    const op = RELATION_SEPS.find(x => after.startsWith(x))!;
    ops.push(op);
    rest = after.slice(op.length);
  }
  if (parts.length < 2 || parts.some(p => p.trim() === "")) return undefined;
  if (ops.length === 1 && ops[0] === "\\in") return parseItem(parts[1], opts);
  if (ops.length === 1 && ops[0] === "\\to") return undefined;
  const eqLike = ops.every(o => o === "=" || o === "\\approx");
  if (eqLike) {
    // value = the last part written with "=" (x = 1/3 \approx 0.33 means 1/3)
    let k = parts.length - 1;
    for (let i = ops.length - 1; i >= 0; i--) if (ops[i] === "=") { k = i + 1; break; }
    const lhsText = isNameLike(parts[0]) || parts.length === 2 ? parts[0] : parts[k - 1];
    const lhs = parseItem(lhsText, opts);
    const rhs = parseItem(parts[k], opts);
    if (!rhs || !lhs) return rhs;
    if (ops.every(o => o === "\\approx")) return rhs;
    return { kind: "equation", lhs, rhs, nameLike: isNameLike(lhsText) };
  }
  const norm = (o: string) => (o === "\\le" ? "<=" : o === "\\ge" ? ">=" : o === "\\ne" ? "!=" : o);
  const nops = ops.map(norm);
  if (nops.length === 2 && nops[0] === nops[1] && (nops[0] === "<" || nops[0] === "<=" || nops[0] === ">" || nops[0] === ">=")) {
    // a < x < b: an interval when the middle names a quantity; other chains compare literally
    if (!isNameLike(parts[1])) return { kind: "text", text: s.replace(/\s+/g, "") };
    const ascending = nops[0].startsWith("<");
    const strict = nops[0].length === 1;
    const lo = parseItem(ascending ? parts[0] : parts[2], opts), hi = parseItem(ascending ? parts[2] : parts[0], opts);
    if (!lo || !hi) return undefined;
    const mid = parts[1].trim();
    const interval: MathValue = { kind: "interval", lo, hi, loOpen: strict, hiOpen: strict, fromRelation: true };
    if (/^\|.*\|$/.test(mid) && lo.kind === "expr" && hi.kind === "expr") {
      // lo <= |z| <= hi is the union of [-hi, -lo] and [lo, hi]
      const neg = (v: MathValue & { kind: "expr" }): MathValue => ({ ...v, json: ["Negate", v.json] });
      return { kind: "union", fromRelation: true, parts: [{ kind: "interval", lo: neg(hi), hi: neg(lo), loOpen: strict, hiOpen: strict }, interval] };
    }
    return interval;
  }
  if (nops.length !== 1) return undefined;
  const l = parseLatex(parts[0]), r = parseLatex(parts[1]);
  if (l === undefined || r === undefined) return undefined;
  const op = nops[0];
  if (op === "<" || op === "<=") return { kind: "relation", op, f: ["Subtract", l, r], raw: s };
  if (op === ">" || op === ">=") return { kind: "relation", op: op === ">" ? "<" : "<=", f: ["Subtract", r, l], raw: s };
  if (op === "!=") return { kind: "relation", op, f: ["Subtract", l, r], raw: s };
  return undefined;
}

export interface ParseOptions {
  /** Internal recursion guard. */
  depth?: number;
}

const MAX_ITEMS = 64;

function listOf(parts: string[], opts: ParseOptions, ordered: boolean): MathValue | undefined {
  if (parts.length > MAX_ITEMS) return undefined;
  const items: MathValue[] = [];
  for (const p of parts) {
    if (p.trim() === "") continue;
    const v = parseItem(p, opts);
    if (!v) return undefined;
    if (!ordered && v.kind === "list" && !v.ordered) items.push(...v.items);
    else items.push(ordered ? valueOf(v) : v);
  }
  return { kind: "list", items, ordered };
}

/** Parses one item (no top-level list separators expected, but handles them). */
export function parseItem(input: string, opts: ParseOptions = {}): MathValue | undefined {
  const depth = (opts.depth ?? 0) + 1;
  if (depth > 12) return undefined;
  const o = { depth };
  const s = input.trim();
  if (s === "" || s.length > MAX_PARSE_CHARS * 2) return undefined;
  // whole answer in \text{…}: a word answer ("Evelyn", "(C)"), compared as text
  const text = /^\\(?:text|textbf|textit|textnormal|mbox|mathrm)\s*\{([^{}]*)\}$/.exec(s);
  if (text) return { kind: "text", text: text[1].trim().replace(/^\((.*)\)$/, "$1").trim() };
  if (/^[A-Za-z]{2,}$/.test(s)) return { kind: "text", text: s };
  // ± makes two answers
  const pm = s.indexOf("\\pm");
  if (pm >= 0 && s.indexOf("\\pm", pm + 3) < 0 && !s.startsWith("\\{")) {
    const a = parseItem(s.slice(0, pm) + "+" + s.slice(pm + 3), o), b = parseItem(s.slice(0, pm) + "-" + s.slice(pm + 3), o);
    return a && b ? { kind: "list", items: [a, b], ordered: false } : undefined;
  }
  const groups = splitTop(s, [";"]);
  if (groups.length > 1) {
    const items = groups.filter(g => g.trim() !== "").map(g => {
      const parts = splitTop(g, [","]);
      return parts.length > 1 ? listOf(parts, o, true) : parseItem(g, o);
    });
    return items.every(Boolean) ? { kind: "list", items: items as MathValue[], ordered: false } : undefined;
  }
  const commas = splitTop(s, [","]);
  if (commas.length > 1) return listOf(commas, o, false);
  const unions = splitTop(s, ["\\cup"]);
  if (unions.length > 1) {
    const parts = unions.map(u => parseItem(u, o));
    return parts.every(Boolean) ? { kind: "union", parts: parts as MathValue[] } : undefined;
  }
  const rel = splitTop(s, RELATION_SEPS);
  if (rel.length > 1) return parseRelation(s, o);
  if (s.startsWith("\\{") && s.endsWith("\\}")) {
    const inner = s.slice(2, -2).trim();
    if (inner === "") return { kind: "list", items: [], ordered: false };
    return listOf(splitTop(inner, [",", ";"]), o, false);
  }
  if (s.length >= 2 && OPEN.has(s[0]) && CLOSE.has(s[s.length - 1]) && wraps(s)) {
    const inner = s.slice(1, -1);
    const parts = splitTop(inner, [",", ";"]);
    if (s[0] === "{" && s.endsWith("}")) return parts.length > 1 ? listOf(parts, o, false) : parseItem(inner, o);
    if (parts.length === 2 && (s[0] !== "(" || s[s.length - 1] !== ")")) {
      const lo = parseItem(parts[0], o), hi = parseItem(parts[1], o);
      if (!lo || !hi) return undefined;
      return { kind: "interval", lo, hi, loOpen: s[0] === "(", hiOpen: s[s.length - 1] === ")" };
    }
    if (parts.length > 1) {
      const list = listOf(parts, o, true);
      return list && list.kind === "list" ? { ...list, pair: parts.length === 2 } : undefined;
    }
    if (s[0] === "(" || s[0] === "[") return parseItem(inner, o);
  }
  if (/^[^:]+:[^:]+$/.test(s) && splitTop(s, [":"]).length === 2 && !s.includes("\\")) {
    // ratios and clock times: 7:32, 12:00 (compared part by part)
    return listOf(splitTop(s, [":"]), o, true);
  }
  if (s.includes("\\begin{pmatrix}")) {
    const json = parseLatex(s);
    return json === undefined ? undefined : { kind: "matrix", json, float: /\d\.\d/.test(s) };
  }
  return scalarExpr(s);
}

/** Normalises then parses an answer string; undefined when it cannot be parsed. */
export function parseAnswer(answer: string): MathValue | undefined {
  return parseItem(normalizeAnswer(answer));
}
