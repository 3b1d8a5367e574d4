// Every bad input fails in loadDataset, before any work, with a DatasetError naming the file, the row and
// the column, and saying what to do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetError, loadDataset } from "../../src/data/dataset.js";
import { tempDir, writeJsonl, writeParquet, writeText, writeVerlParquet } from "./write.js";

function fails(cfg: Parameters<typeof loadDataset>[0], ...patterns: (RegExp | string)[]) {
  assert.throws(() => loadDataset(cfg), (e: unknown) => {
    assert.ok(e instanceof DatasetError, `not a DatasetError: ${e}`);
    for (const p of patterns) assert.ok(typeof p === "string" ? e.message.includes(p) : p.test(e.message), `"${e.message}" lacks ${p}`);
    return true;
  });
}

test("a missing prompt column names the row, the columns looked for and the ones the row has", () => {
  const f = writeJsonl(join(tempDir(), "d.jsonl"), [{ question: "a?", answer: "1" }, { query: "b?", answer: "2" }]);
  fails(f, `${f}: line 2: no prompt column`, `"prompt", "messages", "question", "problem"`, `the row has "query", "answer"`, "columns: {prompt: <column>}");
  fails({ path: f, columns: { question: "query" } }, `${f}: line 1: no prompt column (looked for "query"; the row has "question", "answer")`);
});

test("a missing answer column in Parquet names the row (1-based) and the fix", () => {
  const dir = tempDir();
  const f = writeParquet(join(dir, "d.parquet"), { question: ["a?", "b?", "c?"], answer: ["1", null, "3"] });
  fails(f, `${f}: row 2: no answer column`, `"answer", "reward_model.ground_truth", "ground_truth", "solution"`, "columns: {answer: <column>}");
});

test("an empty file, an empty JSON array, an empty Parquet file", () => {
  const dir = tempDir();
  fails(writeText(join(dir, "e.jsonl"), "\n\n"), "e.jsonl: no rows");
  fails(writeText(join(dir, "e.json"), "[]"), "e.json: no rows");
  fails(writeText(join(dir, "e.parquet"), ""), "e.parquet: not a readable Parquet file");
});

test("a row of the wrong type: a JSONL line that is a list, a JSON array item that is a string, invalid JSON", () => {
  const dir = tempDir();
  fails(writeText(join(dir, "a.jsonl"), '{"question": "a?", "answer": 1}\n["b?", 2]\n'), "a.jsonl: line 2: a list where a JSON object {…} was expected");
  fails(writeText(join(dir, "b.json"), '[{"question": "a?", "answer": 1}, "b?"]'), "b.json: row 2: a string where a row object {…} was expected");
  fails(writeText(join(dir, "c.jsonl"), '{"question": "a?", "answer": 1}\n{"question": "b?",\n'), "c.jsonl: line 2: not valid JSON");
  fails(writeText(join(dir, "d.json"), '{"question": "a?"'), "d.json: not valid JSON", "array of row objects");
  fails(writeText(join(dir, "e.jsonl"), '[{"question": "a?", "answer": 1}]'), "e.jsonl: line 1: a list where a JSON object {…} was expected", "belongs in a .json file");
  fails(writeText(join(dir, "f.jsonl"), '[\n  {"question": "a?", "answer": 1}\n]'), "f.jsonl: line 1: not valid JSON", "belongs in a .json file");
});

test("a column of the wrong type names the column", () => {
  const dir = tempDir();
  fails(writeJsonl(join(dir, "p.jsonl"), [{ prompt: 42, answer: "1" }]), `line 1, column "prompt": a number where a prompt string or a chat list`);
  fails(writeJsonl(join(dir, "a.jsonl"), [{ prompt: "x", answer: ["1", "2"] }]), `line 1, column "answer": a list where the answer was expected`);
  fails(writeJsonl(join(dir, "n.jsonl"), [{ prompt: "x", answer: "1", numbers: "1 2 3", target: 6 }]), `column "numbers": a string where a list of numbers was expected`);
  fails(writeJsonl(join(dir, "g.jsonl"), [{ prompt: "x", reward_model: { ground_truth: { expr: "x" } } }]), `column "reward_model.ground_truth": an object with keys expr`);
  fails(writeJsonl(join(dir, "t.jsonl"), [{ prompt: "x", tests: [] }]), `column "tests": tests must be a non-empty list`);
  fails(writeJsonl(join(dir, "c.jsonl"), [{ prompt: "x", reward_model: { ground_truth: JSON.stringify({ fn_name: "solve", inputs: [[1]], outputs: [2] }) } }]),
    `column "reward_model.ground_truth": call-based tests (fn_name "solve"), which the code reward does not run`);
});

test("a chat list without a user turn, a malformed turn, an empty chat list", () => {
  const dir = tempDir();
  fails(writeJsonl(join(dir, "s.jsonl"), [{ prompt: [{ role: "system", content: "s" }, { role: "assistant", content: "a" }], answer: "1" }]),
    `line 1, column "prompt": the chat list has no user turn (roles: system, assistant)`);
  fails(writeJsonl(join(dir, "m.jsonl"), [{ messages: [{ role: "user", text: "hi" }], answer: "1" }]), `column "messages": turn 1 is {"role":"user","text":"hi"}; each turn must be {role: string, content: string}`);
  fails(writeJsonl(join(dir, "e.jsonl"), [{ messages: [], answer: "1" }]), `column "messages": an empty chat list`);
  // verl Parquet: the nested prompt without a user turn, at row 3
  const rows = [0, 1, 2].map(i => ({
    data_source: "openai/gsm8k", ability: "math", reward_model: { style: "rule", ground_truth: "1" }, extra_info: { split: "train", index: BigInt(i) },
    prompt: [{ role: i === 2 ? "system" : "user", content: "q" }],
  }));
  const f = writeVerlParquet(join(dir, "v.parquet"), rows);
  fails(f, `${f}: row 3, column "prompt": the chat list has no user turn (roles: system)`);
});

test("a bad row at the end of a large Parquet file stops loading before any row is returned", () => {
  const dir = tempDir();
  const n = 3000;
  const f = writeParquet(join(dir, "big.parquet"), { question: Array.from({ length: n }, (_, i) => `q${i}`), answer: Array.from({ length: n }, (_, i) => (i === n - 1 ? "no marker here" : `#### ${i}`)) });
  fails({ path: f, answer: "gsm8k" }, `${f}: row ${n}, column "answer": a "#### <answer>" line was expected (answer: gsm8k)`, "set answer: none");
});

test("a solution without a #### or \\boxed{} answer (answer: auto), and answer: boxed on GSM8K rows", () => {
  const dir = tempDir();
  fails(writeJsonl(join(dir, "m.jsonl"), [{ problem: "p", solution: "It is 4." }]), `line 1, column "solution": a "#### <answer>" line or a \\boxed{…} answer was expected`);
  assert.equal(loadDataset({ path: join(dir, "m.jsonl"), answer: "none" }).train[0].answer, "It is 4.");
  fails({ path: writeJsonl(join(dir, "g.jsonl"), [{ question: "q", answer: "x\n#### 4" }]), answer: "boxed" }, `column "answer": a \\boxed{…} answer was expected (answer: boxed)`);
});

test("template placeholders that are not columns; unknown file types; configs", () => {
  const dir = tempDir();
  const f = writeJsonl(join(dir, "d.jsonl"), [{ question: "q", answer: "1" }]);
  fails({ path: f, template: "{question} in {unit}" }, `line 1, column "unit": the template's {unit} needs a string or number column`);
  fails({ path: f, template: "{question} (hint: {answer})" }, `line 1, column "answer": the template's {answer} would put the gold answer into the prompt`);
  fails({ path: writeJsonl(join(dir, "v.jsonl"), [{ prompt: "q", reward_model: { ground_truth: "1" } }]), template: "{question} {reward_model}" }, `the template's {reward_model} would put the gold answer into the prompt`);
  fails(writeText(join(dir, "d.txt"), "question,answer\nq,1\n"), "d.txt: unknown file type");
  fails({ path: f, eval_fraction: 1.5 } as never, "dataset: eval_fraction");
});

test("reward_by_source: an unknown reward, a source with no reward, a row with no data_source", () => {
  const dir = tempDir();
  const f = writeJsonl(join(dir, "d.jsonl"), [
    { data_source: "mine/arith", question: "1+1?", answer: "2" },
    { data_source: "mine/other", question: "2+2?", answer: "4" },
    { question: "3+3?", answer: "6" },
  ]);
  fails({ path: f, reward_by_source: { "mine/arith": "maths" } }, `reward_by_source: "mine/arith" → Unknown reward "maths"`);
  fails({ path: f, reward_by_source: { "mine/arith": "by_source" } }, "maps to by_source itself");
  fails({ path: f, reward_by_source: { "mine/arith": "math" } }, `line 2, column "data_source": data_source "mine/other" has no reward in reward_by_source`);
  fails({ path: f, reward_by_source: { "mine/arith": "math", "mine/other": "math" } }, `line 3, column "data_source": the row has no data_source`);
  assert.deepEqual(loadDataset({ path: f, reward_by_source: { "mine/arith": "math", "*": "r1_math" } }).train.map(e => e.verifier), ["math", "r1_math", "r1_math"]);
});
