/**
 * Search behaviour in countdown completions, counted by rules a script applies without judgment (issue 19): how many
 * distinct lines of search a completion tries, how often it backtracks to an earlier state, checks a result against
 * the target out loud, or abandons a line half way. Logged per 100 completions: per GRPO step (metrics.jsonl
 * `search/*`), before and after RL (report.json), and as curves in the dashboard.
 *
 * The rules. Only the reasoning counts: the text before "</think>" when there is one, with any <answer>…</answer>
 * removed. A **step** is "a op b = c" with op one of + - * / (or × x ÷ −), not part of a longer expression ("3+5*2 = 13"
 * is no step; "5*2 = 10" is). Steps are replayed on the numbers: the writer stands at a state (the numbers still to
 * use), starting from the given ones; a step takes a and b from the deepest state of the current line that holds both
 * (the current one if it can) and puts c in their place.
 *   attempts    distinct lines of search: a line starts at the first step and again whenever a step starts from an
 *               earlier state (a restart from the given numbers, or a backtrack); lines with the same steps count once
 *   backtracks  steps that start from an earlier state of the current line other than the given numbers (the line
 *               is cut back to it: "3+5 = 8, 8*2 = 16, too big. Back to 8: 8+2 = 10")
 *   checks      a result compared with the target in words or symbols: a number followed by a comparison (vs, not,
 *               !=, ≠, ==, =, <, >, less/more than, under, over, below, above, short of, instead of, compared to,
 *               equals, matches) and then the target's value or the word "target" ("74, not 72", "16 = 16",
 *               "75 is over the target"); a step's own "= c" is no check
 *   abandoned   lines left for another one while two or more numbers were still unused (a search given up half way)
 *   dead_ends   lines that used every number and missed the target
 * Steps that no state of the line can take (numbers not available) are counted as `unanchored` and otherwise ignored.
 *
 * Worked example, numbers [3, 5, 2], target 16:
 *   "3*5 = 15, 15+2 = 17, not 16. 3+5 = 8, 8+2 = 10 hmm. Back: 8*2 = 16 = 16"
 *   → attempts 3 (3*5…, 3+5 8+2, 3+5 8*2), backtracks 1 (8*2 from the state [2, 8]), checks 2 ("17, not 16",
 *     "16 = 16"), abandoned 0, dead_ends 2 (17 and 10)
 */

export interface SearchCounts {
  attempts: number;
  backtracks: number;
  checks: number;
  abandoned: number;
  dead_ends: number;
  unanchored: number;
}

export const SEARCH_BEHAVIOURS = ["attempts", "backtracks", "checks", "abandoned", "dead_ends"] as const;

const OP = "[-+*/×x÷−]";
// a step: a op b = c, not preceded by another operator (so not the tail of a longer expression)
const STEP = new RegExp(`(?<![\\d)]\\s*${OP}\\s*)(?<![\\d)])(\\d+)\\s*(${OP})\\s*(\\d+)\\s*=\\s*(\\d+)`, "g");
const CMP = "vs\\.?|versus|!=|≠|==|=|<|>|≤|≥|not|isn't|less than|more than|under|over|below|above|short of|instead of|compared to|compared with|equals|equal to|matches";
const CHECK = new RegExp(`(?<![\\d)]\\s*${OP}\\s*)(?<![\\d)])(\\d+)\\s*,?\\s*(?:which\\s+|that\\s+|and\\s+)?(?:is\\s+|it's\\s+)?(?:${CMP})\\s*(?:the\\s+)?(target\\b)?\\s*(?:of\\s+)?(\\d+)?`, "g");

/** The reasoning part of a completion: before "</think>" if present, answers removed. */
export function reasoningText(completion: string): string {
  const end = completion.indexOf("</think>");
  return (end >= 0 ? completion.slice(0, end) : completion).replace(/<answer>[\s\S]*?(<\/answer>|$)/g, " ");
}

const norm = (op: string) => (op === "×" || op === "x" ? "*" : op === "÷" ? "/" : op === "−" ? "-" : op);

/** Removes a and b from a state (a multiset), or null when it does not hold both. */
function take(state: readonly number[], a: number, b: number): number[] | null {
  const rest = [...state];
  const i = rest.indexOf(a);
  if (i < 0) return null;
  rest.splice(i, 1);
  const j = rest.indexOf(b);
  if (j < 0) return null;
  rest.splice(j, 1);
  return rest;
}

/** The counts of one completion (see the rules above). */
export function searchBehaviour(completion: string, numbers: readonly number[], target: number): SearchCounts {
  const text = reasoningText(completion);
  const counts: SearchCounts = { attempts: 0, backtracks: 0, checks: 0, abandoned: 0, dead_ends: 0, unanchored: 0 };
  // the current line: its states (path[0] = the given numbers) and the steps between them
  let path: number[][] = [[...numbers]];
  let steps: string[] = [];
  const lines = new Set<string>();
  const leave = () => {
    if (steps.length === 0) return;
    lines.add(steps.join(" "));
    if (path[path.length - 1].length >= 2) counts.abandoned++;
  };
  for (const m of text.matchAll(STEP)) {
    const a = Number(m[1]), op = norm(m[2]), b = Number(m[3]), c = Number(m[4]);
    let j = path.length - 1;
    let rest: number[] | null = null;
    for (; j >= 0; j--) if ((rest = take(path[j], a, b))) break;
    if (!rest) { counts.unanchored++; continue; }
    if (j < path.length - 1) {
      leave();
      if (j > 0) counts.backtracks++;
      path = path.slice(0, j + 1);
      steps = steps.slice(0, j);
    }
    const key = op === "+" || op === "*" ? `${Math.min(a, b)}${op}${Math.max(a, b)}=${c}` : `${a}${op}${b}=${c}`;
    path.push([...rest, c]);
    steps.push(key);
    if (path[path.length - 1].length === 1 && c !== target) counts.dead_ends++;
  }
  if (steps.length > 0) lines.add(steps.join(" "));
  counts.attempts = lines.size;
  for (const m of text.matchAll(CHECK)) if (m[2] !== undefined || (m[3] !== undefined && Number(m[3]) === target)) counts.checks++;
  return counts;
}

/** One completion to count: its text and its problem's numbers and target. */
export interface SearchSample { completion: string; numbers: readonly number[]; target: number }

/** Counts per 100 completions, under the metric names `search/<behaviour>` (empty when there are none). */
export function searchMetrics(samples: readonly SearchSample[]): Record<string, number> {
  if (samples.length === 0) return {};
  const total: Record<string, number> = Object.fromEntries(SEARCH_BEHAVIOURS.map(k => [k, 0]));
  for (const s of samples) {
    const c = searchBehaviour(s.completion, s.numbers, s.target);
    for (const k of SEARCH_BEHAVIOURS) total[k] += c[k];
  }
  return Object.fromEntries(SEARCH_BEHAVIOURS.map(k => [`search/${k}`, (100 * total[k]) / samples.length]));
}

/** The countdown problems among examples paired with their completions (rows without numbers and target are skipped). */
export function countdownSamples(completions: readonly string[], examples: readonly { numbers?: number[]; target?: number }[]): SearchSample[] {
  const out: SearchSample[] = [];
  completions.forEach((completion, i) => {
    const ex = examples[i];
    if (ex?.numbers && typeof ex.target === "number") out.push({ completion, numbers: ex.numbers, target: ex.target });
  });
  return out;
}
