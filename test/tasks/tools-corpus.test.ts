// The tools genre of the pretraining corpus (src/corpus/tools.ts, recipes/base-tools.yaml): tool-call markup in the
// wild under made-up names, every result right, never the RL template; off by default.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { z } from "zod";
import assert from "node:assert/strict";
import { takeDocuments, genreShares } from "../../src/corpus/corpus.js";
import { distinctExamples, makeTask, tinyR1Prompt, TINY_R1_INSTRUCTION, TINY_R1_SUFFIX } from "../../src/tasks/index.js";
import { PROGRAM_QUESTION } from "../../src/tasks/program-output.js";
import { calculate, calculatorTool } from "../../src/env/calculator.js";
import { pythonTool } from "../../src/env/python.js";
import { callTool, toolSchemas } from "../../src/env/tools.js";
import { toolsPreamble } from "../../src/env/formats.js";
import { readRecipe } from "../../src/recipes/load.js";
import { runCli } from "../cli/run-cli.js";
import { CALC_NAMES, PROGRAM_NAMES, usableName } from "../../src/corpus/tools.js";
import { DEFAULT_STREAM_SHA256, defaultStream } from "./default-stream.js";

const ONLY = { direct: 0, prose: 0, steps: 0, dialog: 0, markup: 0, bridge: 0, format: 0, copy: 0, text: 0, tools: 1 };
const N = 4000;
const docs = takeDocuments({ seed: 31, weights: ONLY }, N);

test("the default corpus is the stream it was before the tools genre existed (its weight is 0)", () => {
  const { docs: first, sha256 } = defaultStream();
  assert.ok(first.every(d => d.genre !== "tools" && d.tools === undefined));
  assert.equal(sha256, DEFAULT_STREAM_SHA256);
});

test("tools genre: deterministic by seed", () => {
  assert.deepEqual(takeDocuments({ seed: 31, weights: ONLY }, 300), docs.slice(0, 300));
  assert.notDeepEqual(takeDocuments({ seed: 32, weights: ONLY }, 300).map(d => d.text), docs.slice(0, 300).map(d => d.text));
});

test("tools genre: never the RL template, its tags, its tool list or its tool names", () => {
  const rlList = toolsPreamble(toolSchemas([calculatorTool, pythonTool()]));
  const forbidden = ["<think", "</think", "<answer", "</answer", "<call", "</call", "<result", "</result", TINY_R1_SUFFIX, TINY_R1_INSTRUCTION,
    "Reason in <", tinyR1Prompt("").trim(), PROGRAM_QUESTION, "calculator", ...rlList.split("\n").filter(Boolean).slice(1)];
  for (const d of docs) {
    for (const f of forbidden) assert.ok(!d.text.includes(f), `document contains ${JSON.stringify(f)}: ${d.text}`);
    assert.ok(!/\bpython\b/.test(d.text), `a tool named python: ${d.text}`);
    // nor a name that is a prefix of "calculator", which a base would stop copying at
    assert.ok(!/\bcalc(?:u|ul|ula|ulat|ulato)?\b/.test(d.text), `a tool named like a clipped calculator: ${d.text}`);
  }
});

test("tools genre: calls and results, every result right and used; easy sums without a call; tools listed or not", () => {
  const kinds: Record<string, number> = {};
  let called = 0, hard = 0, listedNoCall = 0, twoCalls = 0, errors = 0;
  const names = new Set<string>();
  for (const d of docs) {
    const m = d.tools!;
    kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
    if (m.kind === "easy") assert.equal(m.calls.length, 0, d.text);
    else hard++;
    if (m.calls.length) called++;
    else if (m.listed) listedNoCall++;
    if (m.calls.filter(c => !c.result.startsWith("Error:")).length === 2) twoCalls++;
    // each call's argument and result appear in the text in order, and the result is the tool's own
    let at = 0;
    for (const c of m.calls) {
      const i = d.text.indexOf(c.arg, at);
      assert.ok(i >= 0, `call ${c.arg} not found after ${at}: ${d.text}`);
      const j = d.text.indexOf(c.result, i + c.arg.length);
      assert.ok(j >= 0, `result ${c.result} not after its call: ${d.text}`);
      at = j + c.result.length;
      assert.equal(c.wrongName, undefined, "name_error_rate is 0 by default");
      if (c.result.startsWith("Error:")) { errors++; assert.throws(() => calculate(c.arg)); continue; }
      if (c.tool === "calc") assert.equal(c.result, calculate(c.arg), c.arg);
      else assert.equal(c.result.trim(), m.value, d.text);
    }
    // the document ends with the value, which (after a call) is the last call's result, copied
    assert.ok(d.text.includes(m.value, at), `the value ${m.value} does not follow the calls: ${d.text}`);
    if (m.calls.length) assert.equal(m.calls.at(-1)!.result.trim(), m.value, d.text);
    for (const t of d.text.matchAll(/<(\w+)>\S/g)) names.add(t[1]);
  }
  // the mistyped first calls are a tenth of the calculator ones; long chains are sometimes handed over in two calls
  assert.ok(errors > 40, `calls answered with an error: ${errors}`);
  assert.ok(twoCalls > 100, `documents with two calls: ${twoCalls}`);
  assert.ok(called / hard > 0.5 && called / hard < 0.7, `hard problems handed to a tool: ${called / hard}`);
  assert.ok(kinds.easy > 0.15 * N && kinds.multiplication > 0.3 * N && kinds.chain > 0.2 * N && kinds.program > 0.1 * N, JSON.stringify(kinds));
  assert.ok(listedNoCall > 0.1 * N, `tools listed, no call made: ${listedNoCall}`);
  assert.ok(names.size > 300, `distinct tag names: ${names.size}`);
});

test("tools genre: tool names are made up per document (the fixed lists rare), so a name can only be copied, never recalled", () => {
  const fixed = new Set<string>([...CALC_NAMES, ...PROGRAM_NAMES]);
  const count = new Map<string, number>();
  let fromList = 0, long = 0, cal = 0;
  for (const d of docs) {
    const { name } = d.tools!;
    assert.ok(usableName(name), `an RL name or the start of "calculator": ${name}`);
    assert.ok(!name.startsWith("calcu") && !"calculator".startsWith(name), name);
    if (name.startsWith("cal")) cal++;
    count.set(name, (count.get(name) ?? 0) + 1);
    if (fixed.has(name)) fromList++;
    if (name.length >= 5 && name.length <= 12) long++;
  }
  // fixed_name_rate 0.05 by default: about one document in twenty (0.3 made bases that wrote the fixed names)
  assert.ok(fromList / N > 0.02 && fromList / N < 0.08, `names from the fixed lists: ${fromList / N}`);
  // cal_name_rate 0.1: a tenth start as "calculator" does and go on otherwise, so "cal" is followed by copying
  assert.ok(cal / N > 0.06 && cal / N < 0.14, `names starting "cal": ${cal / N}`);
  // no name is worth memorising: the commonest is in under 1% of the documents, and most are used once
  const top = Math.max(...count.values());
  assert.ok(top / N < 0.01, `the commonest name is in ${top} of ${N} documents`);
  const once = [...count.values()].filter(c => c === 1).length;
  assert.ok(once / N > 0.6, `names used in a single document: ${once / N}`);
  // most are 5-12 letters, as "calculator" is (familiar-looking and invented words; random letters are 1-8)
  assert.ok(long / N > 0.7, `names of 5-12 letters: ${long / N}`);
});

test("tools genre: a listed tool is called by its listed name; most lists hold that tool alone, as the RL prompt's does", () => {
  let listed = 0, single = 0, singleCalled = 0, copiedCalls = 0;
  for (const d of docs) {
    const m = d.tools!;
    if (!m.listed) { assert.deepEqual(m.listedNames, [], d.text); continue; }
    listed++;
    assert.ok(m.listedNames.includes(m.name), `the needed tool is not listed: ${d.text}`);
    assert.equal(new Set(m.listedNames).size, m.listedNames.length, `a name listed twice: ${d.text}`);
    const lines = d.text.split("\n");
    for (const x of m.listedNames) assert.ok(lines.slice(1, 1 + m.listedNames.length).some(l => l.includes(x)), `${x} is not on the list: ${d.text}`);
    if (m.listedNames.length === 1) { single++; if (m.calls.length) singleCalled++; }
    // every call a notation names its tool in is by the listed name, written after the list
    const listEnd = lines.slice(0, 1 + m.listedNames.length).join("\n").length;
    for (const c of m.calls) {
      if (c.wrongName || d.text.includes(`>>> ${c.arg}`)) continue;
      assert.ok([" ", ": ", "|", "("].some(sep => d.text.indexOf(`${m.name}${sep}${c.arg}`, listEnd) >= 0), `the call does not name ${m.name}: ${d.text}`);
      copiedCalls++;
    }
  }
  assert.ok(listed / N > 0.4 && listed / N < 0.6, `listed: ${listed / N}`);
  assert.ok(single / listed > 0.5 && single / listed < 0.7, `single-tool lists: ${single / listed}`);
  assert.ok(singleCalled > 0.15 * listed, `single-tool lists followed by a call: ${singleCalled}`);
  assert.ok(copiedCalls > 0.3 * listed, `calls by the listed name: ${copiedCalls}`);
});

test("tools genre: most replies follow an instruction naming a working tag and a result tag, the calls inside the working tag (the RL prompt's frame, made-up tags)", () => {
  let framed = 0, framedCalls = 0, spaced = 0;
  for (const d of docs) {
    const m = d.tools!;
    if (m.workingTag === undefined) continue;
    framed++;
    const w = m.workingTag;
    const opened = d.text.lastIndexOf(`<${w}>`), closed = d.text.lastIndexOf(`</${w}>`);
    // the instruction names the tag before the reply opens it, and the reply ends the working tag before the result tag
    assert.ok(d.text.indexOf(`<${w}>`) < opened && opened < closed, `the instruction does not name <${w}>: ${d.text}`);
    assert.ok(d.text.indexOf(`</${w}><`, opened) === closed && d.text.endsWith(`>${m.value}</${d.text.slice(closed + w.length + 4, d.text.indexOf(">", closed + w.length + 4))}>`), d.text);
    if (d.text.includes(`<${w}> </${w}>, then`)) spaced++;
    if (m.calls.length) {
      const last = m.calls.at(-1)!;
      const at = d.text.lastIndexOf(last.result, closed);
      assert.ok(at > opened && at < closed, `the last call is not inside <${w}>: ${d.text}`);
      framedCalls++;
    }
  }
  assert.ok(framed / N > 0.45 && framed / N < 0.65, `documents in the working-tag frame: ${framed / N}`);
  assert.ok(framedCalls > 0.25 * N, `calls inside a working tag: ${framedCalls}`);
  // two of the five instructions are shaped like the RL one ("<a> </a>, then … <b> </b>"), in other words
  assert.ok(spaced / framed > 0.3 && spaced / framed < 0.5, `RL-shaped instructions: ${spaced / framed}`);
  const none = takeDocuments({ seed: 31, weights: ONLY, tools: { working_tag_rate: 0 } }, 500);
  assert.ok(none.every(d => d.tools!.workingTag === undefined));
});

test("tools genre: a misnamed first call reads the environment's own unknown-tool error, then calls by the listed name", async () => {
  const named = takeDocuments({ seed: 5, weights: ONLY, tools: { name_error_rate: 1, list_rate: 1, error_rate: 0, call_rate: 1 } }, 600);
  let misnamed = 0;
  for (const d of named) {
    const calls = d.tools!.calls;
    if (!calls.length) continue;
    const [first, second] = calls;
    assert.ok(first.wrongName, `the first call names the tool right: ${d.text}`);
    misnamed++;
    // the words are exactly what the environment answers for that name, with the document's listed tools
    const listed = /the tools are: (.*)$/.exec(first.result)![1].split(", ");
    const fake = listed.map(name => ({ name, description: "", parameters: z.object({}), run: () => "" }));
    assert.equal(first.result, (await callTool(fake, { name: first.wrongName, arguments: {} })).content, d.text);
    assert.ok(!listed.includes(first.wrongName), d.text);
    // the next call uses a listed name, and its argument is the first call's
    assert.ok(second && second.wrongName === undefined && second.arg.startsWith(first.arg.slice(0, 3)), d.text);
    assert.ok(d.text.indexOf(first.wrongName) < d.text.lastIndexOf(second.arg), d.text);
  }
  assert.ok(misnamed > 300, `misnamed documents: ${misnamed}`);
});

test("tools genre: the RL runs' held-out problems never appear, in any order, nor as a program", () => {
  // a small space (2-digit products) so that without exclusion the held-out products do appear
  const mult = { type: "multiplication", min_factors: 2, max_factors: 2, min_digits: 2, max_digits: 2 } as const;
  const held = distinctExamples(makeTask(mult), 2, 300, undefined, "eval");
  const products = held.map(e => e.question.replace("=?", "").split("*"));
  // a product standing alone (as a question, a call, a one-line program), in either order; "print(24*38+56)" does not show it
  const shows = (ds: typeof docs) => ds.filter(d => products.some(([a, b]) => new RegExp(`(?<![\\d*+-])(${a}\\*${b}|${b}\\*${a})(?![\\d*+-])`).test(d.text))).length;
  const cfg = { seed: 4, weights: ONLY, tools: { multiplication: mult, program_digits: 2 } };
  const open = takeDocuments(cfg, 3000);
  assert.ok(shows(open) > 20, `held-out products shown without exclusion: ${shows(open)}`);
  const clean = takeDocuments({ ...cfg, held_out: { task: mult, eval_seed: 2, eval_size: 300 } }, 3000);
  assert.equal(shows(clean), 0);
  assert.equal(genreShares(clean).byGenre.tools.docs, 1);
});

test("recipes/base-tools.yaml: the tools genre beside base-tiny's genres, base-tiny's held-out set and the demonstration's kept out", () => {
  const r = readRecipe("recipes/base-tools.yaml") as Record<string, any>;
  const tiny = readRecipe("recipes/base-tiny.yaml") as Record<string, any>;
  assert.equal(r.init_from, "models/base-tiny");
  assert.deepEqual(r.model, tiny.model);
  assert.ok(r.corpus.weights.tools > 0);
  const sets = r.corpus.held_out as { task: Record<string, unknown>; eval_seed: number; eval_size: number }[];
  assert.deepEqual(sets[0], tiny.corpus.held_out);
  for (const f of ["recipes/experiments/tools-calculator.yaml", "recipes/experiments/tools-none.yaml", "recipes/experiments/tools-python.yaml"]) {
    const rl = readRecipe(f) as Record<string, any>;
    assert.equal(rl.model, "models/base-tools", f);
    assert.ok(sets.some(h => JSON.stringify(h.task) === JSON.stringify(rl.task) && h.eval_seed === rl.eval_seed && h.eval_size >= rl.eval_size), `${f}: its held-out set is kept out of the corpus`);
  }
  const mixed = genreShares(takeDocuments(r.corpus, 3000));
  assert.ok(mixed.byGenre.tools.docs > 0.4 && mixed.byGenre.tools.docs < 0.6, `tools share ${mixed.byGenre.tools.docs}`);
  // the copy genre keeps base-tiny's quarter (the tools weight alone cut it to a tenth in bases 2-4)
  assert.ok(mixed.byGenre.copy.docs > 0.2, `copy share ${mixed.byGenre.copy.docs}`);
  // the names are made up (the fixed lists rare), most lists hold the needed tool alone, most replies are in the RL frame
  assert.ok(r.corpus.tools.fixed_name_rate <= 0.1 && r.corpus.tools.single_tool_rate >= 0.5 && r.corpus.tools.working_tag_rate >= 0.5, JSON.stringify(r.corpus.tools));
});

test("the demonstration's recipes validate (move37 train RECIPE --dry-run) and differ only where they should", async () => {
  for (const f of ["recipes/base-tools.yaml", "recipes/experiments/tools-calculator.yaml", "recipes/experiments/tools-none.yaml", "recipes/experiments/tools-python.yaml"]) {
    const r = await runCli(["train", f, "--dry-run"]);
    assert.equal(r.error, undefined, `${f}: ${r.error?.message}`);
  }
  // the base's two stages, as the recipe's header gives them: stage 1 without "cal" names, stage 2 from it with them
  const header = readFileSync("recipes/base-tools.yaml", "utf8").split("\n").filter(l => l.startsWith("#")).map(l => l.slice(1).split("  # ")[0].trim());
  const commands = header.join("\n").replace(/\\\n/g, " ").split("\n").filter(l => l.startsWith("move37 train ")).map(l => l.split(/\s+/).slice(1));
  const second = commands.find(c => c.some(a => a.startsWith("--init_from=")));
  assert.ok(second && commands.length === 3, header.join("\n")); // the first line's command, then stage 1 and stage 2
  assert.equal((readRecipe("recipes/base-tools.yaml") as Record<string, any>).corpus.tools.cal_name_rate, 0);
  const stage2 = await runCli([...second, "--dry-run"]);
  assert.equal(stage2.error, undefined, stage2.error?.message);
  assert.ok(second.includes("--corpus.tools.cal_name_rate=0.1") && second.includes("--init_from=models/base-tools-stage1") && second.includes("--output_dir=models/base-tools"), second.join(" "));
  const calc = readRecipe("recipes/experiments/tools-calculator.yaml") as Record<string, any>;
  const none = readRecipe("recipes/experiments/tools-none.yaml") as Record<string, any>;
  const py = readRecipe("recipes/experiments/tools-python.yaml") as Record<string, any>;
  // the control is the calculator run without the tool: same task, prompt, reward and budget
  assert.deepEqual({ ...none, environment: { ...none.environment, type: "calculator" } }, calc);
  for (const r of [calc, none, py]) {
    assert.deepEqual(r.grpo.reward_funcs, ["math"], "the answer's correctness alone");
    assert.equal(r.environment.format, "tags");
    assert.ok(r.max_minutes > 0 && r.max_minutes <= 15);
  }
  assert.equal(py.environment.type, "python");
  assert.ok(py.environment.python_timeout_ms <= 5000 && py.environment.python_memory_mb < 512, "the sandbox's limits are set (memory tighter than the default)");
});
