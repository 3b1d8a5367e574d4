import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Readable } from "node:stream";
import { Command } from "commander";
import { register, verifyStream } from "../../src/cli/verify.js";
import { output } from "../../src/cli/output.js";
import { verifyMath } from "../../src/rewards/math.js";
import { caseSettings, casesSkip, KNOWN_DISAGREEMENTS, rows } from "./math-verify-cases.js";

const ROOT = new URL("../..", import.meta.url).pathname;

async function run(lines: string[]): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const saved = output.out;
  output.out = (t: string) => { chunks.push(t); };
  try {
    await verifyStream(Readable.from([lines.join("\n") + "\n"]));
  } finally {
    output.out = saved;
  }
  return chunks.join("").trim().split("\n").map(l => JSON.parse(l));
}

test("verify: one verdict line per input line, in order, with details", async () => {
  const out = await run([
    JSON.stringify({ task: "math", completion: "so \\boxed{\\frac{1}{2}}", answer: "0.5" }),
    JSON.stringify({ task: "math", completion: "so \\boxed{3}", answer: "" }),
    JSON.stringify({ task: "format", completion: "<think>a</think><answer>1</answer>" }),
    JSON.stringify({ task: "countdown", completion: "<answer>25*3</answer>", nums: [25, 3, 1], target: 72 }),
    JSON.stringify({ task: "language", completion: "<think>hello world</think>", language: "en" }),
    JSON.stringify({ task: "code", completion: "def f(): return 1", tests: ["assert f() == 1"] }),
    JSON.stringify({ reward: "repetition", completion: "a b a b a b" }),
    "not json",
    JSON.stringify({ task: "poetry", completion: "x" }),
  ]);
  assert.equal(out.length, 9);
  assert.deepEqual(out[0], { reward: 1, extracted_gold: "0.5", extracted_answer: "\\frac{1}{2}" });
  assert.equal(out[1].reward, null);
  assert.equal(out[2].reward, 1);
  assert.deepEqual(out[3], { reward: 0.1, verdict: "wrong" });
  assert.equal(out[4].reward, 1);
  assert.equal(out[5].reward, 1);
  assert.equal(out[6].reward, -0.5);
  assert.equal(out[7].reward, null);
  assert.match(String(out[7].error), /not JSON/);
  assert.match(String(out[8].error), /unknown task/);
});

test("verify registers a verb with help and examples", () => {
  const program = new Command();
  register(program);
  const cmd = program.commands.find(c => c.name() === "verify");
  assert.ok(cmd);
  assert.match(cmd.helpInformation() + "", /JSON lines/);
});

test("verify reads stdin through the real CLI entry point when main wires it", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `
    import { Command } from "commander";
    import { register } from "./src/cli/verify.ts";
    const p = new Command(); register(p); await p.parseAsync(["node", "move37", "verify"]);
  `], { input: JSON.stringify({ task: "math", completion: "\\boxed{4}", answer: "4" }) + "\n", encoding: "utf8", cwd: new URL("../..", import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { reward: 1, extracted_gold: "4", extracted_answer: "4" });
});

test("math lines take Math-Verify's settings under its names; the defaults are Math-Verify's; bad settings are named", async () => {
  const matrix = { task: "math", completion: "$\\begin{pmatrix}0.33\\\\0.2 \\end{pmatrix}$", answer: "$(\\begin{pmatrix}\\frac{1}{3}\\\\ \\frac{1}{5} \\end{pmatrix})$" };
  const split = { task: "math", completion: "Answer $ \n 9 \n $", answer: "$9$" };
  const relation = { task: "math", completion: "$-2 \\le x \\le 7$", answer: "$x \\in [-2,7]$" };
  const out = await run([matrix, { ...matrix, float_rounding: 2 }, split, { ...split, extraction_config: ["latex"] }, relation, { ...relation, allow_set_relation_comp: true },
    { task: "math", completion: "$f(y)$", answer: "$f(x)$", strict: false }, { ...matrix, float_rounding: 2.5 }, { ...split, extraction_config: ["expr"] }].map(l => JSON.stringify(l)));
  // float_rounding 6 (Math-Verify's default) refuses 0.33 for 1/3; 2 places accept it
  assert.deepEqual(out.slice(0, 2).map(o => o.reward), [0, 1]);
  // the plain 9 is read with the "expr" target (default), not with LaTeX alone (the span crosses lines)
  assert.deepEqual(out.slice(2, 4).map(o => o.reward), [1, 0]);
  assert.deepEqual(out.slice(4, 6).map(o => o.reward), [0, 1]);
  assert.equal(out[6].reward, 1);
  assert.equal(out[7].reward, null);
  assert.match(String(out[7].error), /field float_rounding/);
  assert.match(String(out[8].error), /field extraction_config: must include "latex"/);
});

test("`move37 verify` agrees with Math-Verify's cases as the library test does: one process, every case on stdin", { skip: casesSkip, timeout: 120_000 }, () => {
  const settings = caseSettings(rows);
  const lines = rows.map((r, i) => JSON.stringify({
    task: "math", completion: r.pred, answer: r.gold, float_rounding: settings[i].precision,
    extraction_config: settings[i].latexOnly ? ["latex"] : ["latex", "expr"], allow_set_relation_comp: settings[i].allowSetRelation,
  }));
  const r = spawnSync(process.execPath, [ROOT + "bin/move37.js", "verify"], { input: lines.join("\n") + "\n", encoding: "utf8", cwd: ROOT, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const verdicts = r.stdout.trim().split("\n").map(l => JSON.parse(l) as { reward: number | null });
  assert.equal(verdicts.length, rows.length);
  const disagree = rows.flatMap((row, i) => ((verdicts[i].reward ?? 0) === row.expected ? [] : [i]));
  console.log(`Math-Verify agreement through the CLI: ${rows.length - disagree.length}/${rows.length}`);
  // the same count and the same cases as test/rewards/math-verify-agreement.test.ts
  assert.deepEqual(disagree, Object.keys(KNOWN_DISAGREEMENTS).map(Number));
  // and the same verdict as the library on every case, not only the same total
  rows.forEach((row, i) => {
    const s = settings[i];
    const lib = verifyMath(row.pred, row.gold, { precision: s.precision, allowSetRelation: s.allowSetRelation, extract: { numberFallback: !s.latexOnly } });
    assert.equal(verdicts[i].reward, lib.reward, `case ${i}`);
  });
});
