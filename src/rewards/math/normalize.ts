// String normalisation of an extracted answer before parsing: strips presentation
// (\left/\right, spacing, \$, %, degrees, units in \text{}), unifies notation
// (\dfrac → \frac, >= → \ge, decimal commas, thousands separators) and keeps meaning.
// Every regex here is linear (no nested quantifiers over the same characters).

/** Words that mean "per cent" after a number. */
const PERCENT = /\\?%|\s*\b(?:percentage|percent|pct)\b/g;

/** Replaces `\cmd{arg}` by `arg` for simple one-group styling commands. */
function unwrap(s: string, cmds: string[]): string {
  for (const cmd of cmds) {
    const re = new RegExp(`\\\\${cmd}\\s*\\{([^{}]*)\\}`, "g");
    for (let k = 0; k < 4 && re.test(s); k++) s = s.replace(re, "$1");
  }
  return s;
}

/** Normalises one answer string. */
export function normalizeAnswer(input: string): string {
  let s = input;
  // doubly escaped LaTeX (\\frac) from JSON-in-JSON; matrices use \\ as a row break, so only outside them
  if (!s.includes("\\begin")) s = s.replace(/\\\\(?=[a-zA-Z{}])/g, "\\");
  // protect matrix row breaks (\\) from the spacing rules below
  s = s.replace(/\\\\/g, "\u0001");
  s = s.replace(/\\n(?![a-z])/g, " ").replace(/[\n\r\t]/g, " ");
  s = s.replace(/\\(?:boxed|fbox)\s*\{/g, "{");
  s = s.replace(/\\[dtc]frac/g, "\\frac");
  s = s.replace(/\\(?:displaystyle|textstyle|scriptstyle|limits)\b/g, "");
  s = s.replace(/\\left\s*\\\{/g, "\\{").replace(/\\right\s*\\\}/g, "\\}");
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)\s*([()[\]|.]|\\[|{}])/g, (_m, d: string) => (d === "." ? "" : d));
  s = s.replace(/\\[lr]vert/g, "|");
  // thousands separators written for typesetting: 12{,}000 and 11,\!111
  s = s.replace(/(\d)\s*\{\s*,\s*\}\s*(?=\d)/g, "$1").replace(/(\d),\\!\s*(?=\d{3})/g, "$1");
  s = s.replace(/\\q?quad(?![a-zA-Z])|\\q?quad(?=[a-zA-Z])/g, " ");
  s = s.replace(/\\[,;:! ]/g, " ").replace(/~/g, " ");
  s = s.replace(/\\\$|\$/g, "");
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree/g, "");
  s = s.replace(PERCENT, "");
  s = s.replace(/\\(?:text|textbf|textit|textnormal|mathrm|mbox|operatorname)\s*\{\s*(?:and|or)\s*\}/g, ",");
  s = s.replace(/(?<=[\d)}\]])\s*\b(?:and|or)\b\s*(?=[-\d(\\{[a-zA-Z])/g, ",").replace(/(?<=[\d)}\]])(?:and|or)(?=[-\d(\\{A-Z])/g, ",");
  s = s.replace(/,\s*(?:and|or)\b/g, ",");
  s = unwrap(s, ["mathbf", "boldsymbol", "mathit", "mathsf", "bm", "mathrm"]);
  // units: \text{…} after a number or closing group is a unit (with its exponent, e.g. cm^2)
  s = s.replace(/([\d}).])\s*\\(?:text|textbf|textnormal|textit|mbox|mathrm)\s*\{[^{}]*\}(?:\s*\^\s*\{?\d\}?)?/g, "$1");
  s = s.replace(/\\lt\b/g, "<").replace(/\\gt\b/g, ">");
  s = s.replace(/>=|≥|\\geqslant|\\geq/g, "\\ge ").replace(/<=|≤|\\leqslant|\\leq/g, "\\le ").replace(/!=|≠|\\neq/g, "\\ne ");
  s = s.replace(/\\(?:emptyset|varnothing)/g, "\\{\\}");
  s = s.replace(/\\(?:ldots|cdots|dots)/g, "...");
  s = s.replace(/\\begin\{(?:array)\}\{[^{}]*\}/g, "\\begin{pmatrix}").replace(/\\end\{array\}/g, "\\end{pmatrix}");
  s = s.replace(/\\(begin|end)\{[bBvV]?matrix\}/g, "\\$1{pmatrix}");
  s = s.replace(/\\hline|\\cline\{[^{}]*\}/g, "");
  s = s.replace(/\s+/g, " ").trim();
  // trailing sentence punctuation (an ellipsis is content, not punctuation)
  while (/(?<!\.)[.,;]$|\\\.$/.test(s)) s = s.replace(/\\?[.,;]$/, "").trim();
  // a lone number with thousands separators ("7,425,000", "1 000")
  if (/^-?\d{1,3}([, ]\d{3})+(\.\d+)?$/.test(s) && !/^-?0,/.test(s)) s = s.replace(/[, ]/g, "");
  // mixed number: 3\frac{1}{2} means 3 + 1/2
  const mixed = /^(-?)(\d+)\s*\\frac\s*\{(\d+)\}\s*\{(\d+)\}$/.exec(s);
  if (mixed && Number(mixed[3]) < Number(mixed[4])) s = `${mixed[1]}(${mixed[2]}+\\frac{${mixed[3]}}{${mixed[4]}})`;
  return s.replace(/\u0001/g, "\\\\");
}

/** A plain-text number as written in prose: thousands separators dropped, a decimal comma made a point. */
export function plainNumber(text: string): string {
  const t = text.replace(/\s+/g, "");
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t) && !/^-?0,/.test(t)) return t.replace(/,/g, "");
  if (/^-?\d+,\d+$/.test(t)) return t.replace(",", ".");
  return t;
}
