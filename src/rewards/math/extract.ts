// Answer extraction: which substring of a completion is the model's final answer.
// Priority (first that parses wins, mirroring Math-Verify's ordering): a "final answer is" sentence,
// the last \boxed{}/\fbox{} group, the last LaTeX span or plain number (whichever comes later),
// and for short texts the whole text. Every scan here is a linear loop: no backtracking regex
// runs over model text, so a megabyte of braces costs one pass.

import { plainNumber } from "./normalize.js";

export interface ExtractOptions {
  /** Read only the text after </think> (an unclosed <think> yields nothing). Default true. */
  thinkAware?: boolean;
  /** Allow the last plain number / whole plain text as a candidate (Math-Verify's "expr" target). Default true. */
  numberFallback?: boolean;
}

/** Longest extracted answer handed to the parser (characters). */
export const MAX_ANSWER_CHARS = 600;

/** Drops the chain of thought: keeps what follows the last </think>; "" when <think> never closes. */
export function stripThink(text: string): string {
  const close = text.lastIndexOf("</think>");
  if (close >= 0) return text.slice(close + 8);
  return text.includes("<think>") ? "" : text;
}

/** Content of the last <answer>…</answer> (an unclosed <answer> runs to the end), or undefined. */
export function answerTag(text: string): string | undefined {
  const open = text.lastIndexOf("<answer>");
  if (open < 0) return undefined;
  const end = text.indexOf("</answer>", open + 8);
  return text.slice(open + 8, end < 0 ? undefined : end);
}

/** Index just past the brace group opening at `open` (text[open] === "{"), or -1 if unclosed. */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") { i++; continue; }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

interface Span { start: number; end: number; text: string }

/** All \boxed{…} / \fbox{…} groups, nesting-aware; an unclosed one runs to the end of the text. */
export function boxedSpans(text: string): Span[] {
  const out: Span[] = [];
  let i = 0;
  while (i < text.length) {
    const b = text.indexOf("\\boxed", i), f = text.indexOf("\\fbox", i);
    const at = b < 0 ? f : f < 0 ? b : Math.min(b, f);
    if (at < 0) break;
    let j = at + (text.startsWith("\\boxed", at) ? 6 : 5);
    while (text[j] === " ") j++;
    if (text[j] === "{") {
      const end = matchBrace(text, j);
      const stop = end < 0 ? text.length : end;
      out.push({ start: at, end: stop, text: text.slice(j + 1, end < 0 ? stop : end - 1) });
      i = stop;
    } else {
      let k = j;
      while (k < text.length && /[0-9A-Za-z.\-]/.test(text[k])) k++;
      if (k > j) out.push({ start: at, end: k, text: text.slice(j, k) });
      i = Math.max(k, at + 1);
    }
  }
  return out;
}

/** Text between two boxes that still joins them into one answer ("\boxed{1} and \boxed{2}"). */
function joinsBoxes(gap: string): boolean {
  const g = gap.replace(/\\\\/g, "\\").replace(/\\text\{([^{}]*)\}/g, " $1 ").replace(/\\q?quad|\\[,;:! ]|\$|\\\(|\\\)|\\\[|\\\]/g, " ").trim();
  if (g.length === 0 || /^[\s,;.+&\\]*$/.test(g)) return true;
  return g.length <= 40 && /(^|[^A-Za-z])(and|or)([^A-Za-z]|$)|,/.test(g);
}

/** The last group of boxed answers, joined with commas. */
export function lastBoxed(text: string): string | undefined {
  const spans = boxedSpans(text);
  if (spans.length === 0) return undefined;
  let k = spans.length - 1;
  while (k > 0 && joinsBoxes(text.slice(spans[k - 1].end, spans[k].start))) k--;
  return spans.slice(k).map(s => s.text).join(",");
}

/** Math spans: $$…$$, $…$ (single line), \[…\], \(…\) (single line); \$ is an escaped dollar. */
export function latexSpans(text: string): Span[] {
  const out: Span[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === "\\" && (text[i + 1] === "[" || text[i + 1] === "(")) {
      const close = text[i + 1] === "[" ? "\\]" : "\\)";
      const end = text.indexOf(close, i + 2);
      if (end < 0) { i += 2; continue; }
      const body = text.slice(i + 2, end);
      if (close === "\\)" && body.includes("\n")) { i += 2; continue; }
      out.push({ start: i, end: end + 2, text: body });
      i = end + 2;
    } else if (c === "\\") {
      i += 2;
    } else if (c === "$") {
      const dbl = text[i + 1] === "$";
      const from = i + (dbl ? 2 : 1);
      let j = from, found = -1;
      while (j < n) {
        if (text[j] === "\\") { j += 2; continue; }
        if (text[j] === "$") { found = j; break; }
        if (!dbl && text[j] === "\n") break;
        j++;
      }
      if (found < 0) { i = dbl ? i + 2 : i + 1; continue; }
      if (dbl && text[found + 1] !== "$") { i = found; continue; }
      out.push({ start: i, end: found + (dbl ? 2 : 1), text: text.slice(from, found) });
      i = found + (dbl ? 2 : 1);
    } else i++;
  }
  return out;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isWordChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** Plain numbers (thousands separators, decimal comma or point, optional "/d" fraction), by a linear scan. */
export function numberSpans(text: string): Span[] {
  const out: Span[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startsNum = isDigit(text[i]) || (text[i] === "." && isDigit(text[i + 1]));
    if (!startsNum || isWordChar(text[i - 1]) || (text[i - 1] === "." && isDigit(text[i - 2])) || text[i - 1] === "^" || text[i - 1] === "_") { i++; continue; }
    let j = i;
    while (j < n && (isDigit(text[j]) || ((text[j] === "," || text[j] === "." || text[j] === " ") && isDigit(text[j + 1])))) {
      // a space joins digit groups only as a thousands separator ("1 000")
      if (text[j] === " " && !(isDigit(text[j + 1]) && isDigit(text[j + 2]) && isDigit(text[j + 3]) && !isDigit(text[j + 4]))) break;
      j++;
    }
    let k = j;
    while (text[k] === " ") k++;
    if (text[k] === "/") {
      let m = k + 1;
      while (text[m] === " ") m++;
      let e = m;
      while (isDigit(text[e])) e++;
      if (e > m) j = e;
    }
    let start = i;
    if (text[i - 1] === "-" && !isWordChar(text[i - 2])) start = i - 1;
    out.push({ start, end: j, text: plainNumber(text.slice(start, j)) });
    i = j + 1;
  }
  return out;
}

/** The text after the last "final answer" phrase (else the last "answer is"/"answer:"), up to the end of that sentence. */
export function finalAnswerSegment(text: string): string | undefined {
  const lower = text.toLowerCase();
  let at = lower.lastIndexOf("final answer"), skip = 12;
  if (at < 0) {
    const is = lower.lastIndexOf("answer is"), colon = lower.lastIndexOf("answer:");
    at = Math.max(is, colon);
    skip = at === is ? 9 : 7;
  }
  if (at < 0) return undefined;
  let seg = text.slice(at + skip, at + skip + 2 * MAX_ANSWER_CHARS);
  seg = seg.replace(/^[\s*:]*(?:is\b)?[\s*:]*/i, "");
  const hope = seg.search(/I hope|\n\n/);
  if (hope >= 0) seg = seg.slice(0, hope);
  // cut at the end of the sentence (". " then a capital), keeping decimals such as 12,000.5
  const stop = seg.search(/\.\s+[A-Z<]/);
  if (stop >= 0) seg = seg.slice(0, stop);
  const isAt = seg.toLowerCase().lastIndexOf(" is ");
  if (isAt >= 0) seg = seg.slice(isAt + 4);
  return seg.replace(/["“”]/g, " ").trim();
}

/** The last math span, extended backwards over spans joined by "and", "or" or commas. */
function lastSpanGroup(text: string, spans: Span[]): Span | undefined {
  if (spans.length === 0) return undefined;
  let k = spans.length - 1;
  while (k > 0 && joinsBoxes(text.slice(spans[k - 1].end, spans[k].start)) && /\S/.test(text.slice(spans[k - 1].end, spans[k].start))) k--;
  const last = spans[spans.length - 1];
  return { start: spans[k].start, end: last.end, text: spans.slice(k).map(s => s.text).join(",") };
}

function lastOf(text: string, numberFallback: boolean): string[] {
  const spans = latexSpans(text);
  const nums = numberFallback ? numberSpans(text) : [];
  const lastSpan = lastSpanGroup(text, spans);
  // numbers inside a math span belong to that span
  const freeNums = nums.filter(n => !spans.some(s => n.start >= s.start && n.end <= s.end));
  const lastNum = freeNums[freeNums.length - 1];
  const out: string[] = [];
  if (lastSpan && lastNum && lastNum.start > lastSpan.end) out.push(lastNum.text, lastSpan.text);
  else {
    if (lastSpan) out.push(lastSpan.text);
    if (lastNum) out.push(lastNum.text);
  }
  return out;
}

/**
 * Candidates from a "final answer is …" segment: its box; the whole segment when it holds no prose
 * ("(C)", "$12$ and $13$"); else its first math span or number (what follows "is" comes first).
 */
function segmentCandidates(seg: string, numberFallback: boolean): string[] {
  const out: string[] = [];
  const boxed = lastBoxed(seg);
  if (boxed !== undefined) out.push(boxed);
  const prose = seg.replace(/\\text\s*\{[^{}]*\}|\\[a-zA-Z]+/g, " ").replace(/\b(?:and|or)\b/gi, " ");
  if (seg.length <= 120 && !/[A-Za-z]{3,}/.test(prose)) out.push(seg);
  const spans = latexSpans(seg);
  const nums = numberFallback ? numberSpans(seg).filter(n => !spans.some(s => n.start >= s.start && n.end <= s.end)) : [];
  const first = [...spans, ...nums].sort((a, b) => a.start - b.start)[0];
  if (first) out.push(first.text);
  return out;
}

/** Candidate answer strings, best first. */
export function answerCandidates(completion: string, opts: ExtractOptions = {}): string[] {
  const numberFallback = opts.numberFallback ?? true;
  let text = opts.thinkAware === false ? completion : stripThink(completion);
  const tagged = answerTag(text);
  if (tagged !== undefined) text = tagged;
  const out: string[] = [];
  const fa = finalAnswerSegment(text);
  if (fa) out.push(...segmentCandidates(fa, numberFallback));
  const boxed = lastBoxed(text);
  if (boxed !== undefined) out.push(boxed);
  // a short bare formula ("\frac{10}{9}", "W(x)=1orW(x)=-1") is read whole before its last number
  const trimmed = text.trim();
  const bare = trimmed.length > 0 && trimmed.length <= 200 && latexSpans(trimmed).length === 0;
  const formula = bare && /[=\\]/.test(trimmed) && !/[A-Za-z]{3,}\s+[A-Za-z]{2,}/.test(trimmed);
  if (formula) out.push(trimmed);
  out.push(...lastOf(text, numberFallback));
  if (numberFallback && bare && !formula) out.push(trimmed);
  const seen = new Set<string>();
  return out.map(s => s.slice(0, MAX_ANSWER_CHARS)).filter(s => s.trim() !== "" && !seen.has(s) && (seen.add(s), true));
}
