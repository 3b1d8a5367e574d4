/**
 * Verifications per second of the rewards: math with numeric answers and with symbolic answers,
 * countdown, format, and sandboxed code executions (Python and JavaScript), plus a big fuzz run
 * (every fuzz string through every reward, slowest call reported).
 *
 * Peers, in the same run: countdown against a TinyZero-style Python checker (regex + eval,
 * bench/peers/countdown_tinyzero.py); Python code against the same program run by plain python3
 * with no sandbox (the price of isolation). Math has no peer: Math-Verify is a PyPI package and only
 * the npm registry and Debian packages are reachable here (Debian does not package it); sympy alone
 * is not a verifier. Those lines print peer, peer_value and ratio as null.
 *
 *   npm run bench -- rewards            (FUZZ strings default 20000: `npm run bench -- rewards 5000`)
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mathReward } from "../src/rewards/math.js";
import { countdownReward } from "../src/rewards/countdown.js";
import { r1FormatReward } from "../src/rewards/format.js";
import { codeReward } from "../src/rewards/code.js";
import { listRewards } from "../src/rewards/registry.js";
import { fuzzString, FUZZ_EXAMPLES } from "../test/rewards/fuzz-gen.js";
import type { RewardExample, RewardFn } from "../src/rewards/types.js";

interface Line { bench: "rewards"; figure: string; unit: string; value: number; peer: string | null; peer_value: number | null; ratio: number | null }
const lines: Line[] = [];
const add = (figure: string, unit: string, value: number, peer: string | null = null, peerValue: number | null = null) =>
  lines.push({ bench: "rewards", figure, unit, value, peer, peer_value: peerValue, ratio: peerValue ? value / peerValue : null });

/** Calls per second of a sync reward over the cases, repeated for at least `ms`. */
function rate(fn: RewardFn, cases: [string, RewardExample][], ms = 3000): number {
  for (const [c, e] of cases) fn(c, e); // warm-up (and the LaTeX parser's start-up)
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < ms) for (const [c, e] of cases) { fn(c, e); n++; }
  return n / ((performance.now() - t) / 1000);
}

const numeric: [string, RewardExample][] = [
  ["The total is \\boxed{42}.", { answer: "42" }], ["so $x = \\frac{3}{4}$", { answer: "0.75" }], ["Final Answer: The final answer is 1,234.5", { answer: "1234.5" }],
  ["<think>...</think><answer>17</answer>", { answer: "18" }], ["\\boxed{2\\sqrt{2}}", { answer: "\\sqrt{8}" }], ["answer: 3.14159", { answer: "\\pi" }],
].map(([c, e]) => [c as string, e as RewardExample]);
const symbolic: [string, RewardExample][] = [
  ["\\boxed{(x+1)^2}", { answer: "x^2+2x+1" }], ["\\boxed{y = 2x + 1}", { answer: "2x - y + 1 = 0" }], ["\\boxed{\\tan^2 y + 1}", { answer: "\\sec^2 y" }],
  ["\\boxed{[0, 1) \\cup \\{2\\}}", { answer: "\\{2\\} \\cup [0,1)" }], ["\\boxed{\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}", { answer: "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}" }], ["\\boxed{x \\ge 3}", { answer: "3 \\le x" }],
];
const countdown: [string, RewardExample][] = [
  ["<think>try</think><answer>(25 - 1) * 3</answer>", { nums: [25, 3, 1], target: 72 }], ["<answer>25 * 3</answer>", { nums: [25, 3, 1], target: 72 }],
  ["<answer>(100 - 4) / (8 - 6)</answer>", { nums: [100, 4, 8, 6], target: 48 }], ["no answer", { nums: [1, 2], target: 3 }],
];

/** Like `rate`, but every call gets fresh answers (k varies), so the LaTeX parse cache cannot serve them. */
function freshRate(fn: RewardFn, make: (k: number) => [string, RewardExample][], ms = 3000): number {
  for (const [c, e] of make(0)) fn(c, e);
  let n = 0, k = 1;
  const t = performance.now();
  while (performance.now() - t < ms) for (const [c, e] of make(k++)) { fn(c, e); n++; }
  return n / ((performance.now() - t) / 1000);
}
const freshNumeric = (k: number): [string, RewardExample][] => [
  [`The total is \\boxed{${k + 1000}}.`, { answer: String(k + 1000) }], [`so $x = \\frac{${k}}{7}$`, { answer: `${k}/7` }], [`Final Answer: The final answer is ${k},234.5`, { answer: `${k}234.5` }],
  [`<think>...</think><answer>${k}</answer>`, { answer: String(k + 1) }], [`\\boxed{${k}\\sqrt{2}}`, { answer: `\\sqrt{${2 * k * k}}` }], [`answer: ${k}.1415927`, { answer: `${k} - 3 + \\pi` }],
];
const freshSymbolic = (k: number): [string, RewardExample][] => [
  [`\\boxed{(x+${k})^2}`, { answer: `x^2+${2 * k}x+${k * k}` }], [`\\boxed{y = ${k}x + 1}`, { answer: `${k}x - y + 1 = 0` }], [`\\boxed{\\tan^2 y + ${k}}`, { answer: `\\sec^2 y + ${k - 1}` }],
  [`\\boxed{[0, ${k}) \\cup \\{${k + 1}\\}}`, { answer: `\\{${k + 1}\\} \\cup [0,${k})` }], [`\\boxed{\\begin{pmatrix}${k}&2\\\\3&4\\end{pmatrix}}`, { answer: `\\begin{bmatrix}${k}&2\\\\3&4\\end{bmatrix}` }], [`\\boxed{x \\ge ${k}}`, { answer: `${k} \\le x` }],
];
for (const [c, e] of [...freshNumeric(3), ...freshSymbolic(3)]) if (mathReward(c, e) !== (c.includes("<answer>") ? 0 : 1)) console.error(`bench case misjudged: ${c} vs ${e.answer}`);
add("math numeric answers (fresh, parse cache cold)", "verifications/s", freshRate(mathReward, freshNumeric));
add("math symbolic answers (fresh, parse cache cold)", "verifications/s", freshRate(mathReward, freshSymbolic));
add("math numeric answers (repeated, parse cache warm)", "verifications/s", rate(mathReward, numeric));
add("math symbolic answers (repeated, parse cache warm)", "verifications/s", rate(mathReward, symbolic));
add("format (R1 lenient)", "verifications/s", rate(r1FormatReward, [["<think>\n2+2\n</think>\n<answer>\n4\n</answer>", {}], ["<think>a</think>x<answer></answer>", {}]]));

const cdRate = rate(countdownReward, countdown);
const peerDir = fileURLToPath(new URL("./peers/", import.meta.url));
const peerInput = countdown.map(([c, e]) => JSON.stringify({ completion: c, ...e })).join("\n");
const peer = spawnSync("/usr/bin/python3", [peerDir + "countdown_tinyzero.py", "50000"], { input: peerInput, encoding: "utf8" });
const peerOut = peer.status === 0 ? JSON.parse(peer.stdout.trim().split("\n").at(-1)!) as { per_s: number; rewards: number[] } : undefined;
const ours = countdown.map(([c, e]) => countdownReward(c, e));
if (peerOut && JSON.stringify(peerOut.rewards) !== JSON.stringify(ours)) console.error(`countdown peer disagrees: ${JSON.stringify(peerOut.rewards)} vs ${JSON.stringify(ours)}`);
add("countdown", "verifications/s", cdRate, "TinyZero-style Python checker (regex + eval)", peerOut?.per_s ?? null);

async function codeRate(completion: string, example: RewardExample, n: number): Promise<number> {
  await codeReward(completion, example);
  const t = performance.now();
  for (let i = 0; i < n; i++) await codeReward(completion, example);
  return n / ((performance.now() - t) / 1000);
}
const pyProgram = "def add(a, b):\n    return a + b";
const pyTests = ["assert add(1, 2) == 3", "assert add(2, 2) == 4"];
const pyRate = await codeRate("```python\n" + pyProgram + "\n```", { tests: pyTests }, 20);
const plainRate = await new Promise<number>(resolve => {
  // the same program and tests run by python3 with no isolation at all
  const script = pyProgram + "\n" + pyTests.join("\n") + "\n";
  let n = 0;
  const t = performance.now();
  const next = () => {
    if (n === 20) return resolve(20 / ((performance.now() - t) / 1000));
    const p = spawn("/usr/bin/python3", ["-I", "-S", "-c", script], { stdio: "ignore" });
    p.on("close", () => { n++; next(); });
  };
  next();
});
add("code executions (Python, sandboxed)", "executions/s", pyRate, "python3 without any sandbox", plainRate);
add("code executions (JavaScript, QuickJS)", "executions/s", await codeRate("```js\nfunction sq(x) { return x * x }\n```", { language: "javascript", tests: ["if (sq(3) !== 9) throw 0"] }, 50));

// big fuzz run: every string through every sync reward
const N = Number(process.argv[2] ?? 20_000);
const specs = listRewards().filter(s => s.sync);
let worst = 0, worstName = "", calls = 0;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const s = fuzzString(i);
  for (const spec of specs) {
    const t = performance.now();
    spec.sync!(s, FUZZ_EXAMPLES[i % FUZZ_EXAMPLES.length]);
    const dt = performance.now() - t;
    calls++;
    if (dt > worst) { worst = dt; worstName = spec.name; }
  }
}
add(`fuzz: ${N} strings x ${specs.length} rewards`, "calls/s", calls / ((performance.now() - t0) / 1000));
add(`fuzz: slowest single call (${worstName})`, "ms", worst);

const fmt = (v: number | null) => (v === null ? "-" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
const head = ["figure", "unit", "move37", "peer", "peer value", "ratio"];
const rows = lines.map(l => [l.figure, l.unit, fmt(l.value), l.peer ?? "none (see header)", fmt(l.peer_value), fmt(l.ratio)]);
const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
for (const r of [head, ...rows]) console.log(r.map((x, i) => x.padEnd(w[i])).join("  "));
console.log("Math has no peer here: Math-Verify (PyPI) is unreachable and not packaged by Debian; peer and ratio are null.");
for (const l of lines) console.log(JSON.stringify(l));
process.exit(0);
