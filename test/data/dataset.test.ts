import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { completionRow, DatasetConfigSchema, DatasetError, loadDataset } from "../../src/data/dataset.js";
import { mathReward } from "../../src/rewards/math.js";
import { parseSftJsonl } from "../../src/train/sft-data.js";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { GSM8K_ROWS, MATH_ROWS, tempDir, writeJsonl, writeParquet, writeText, writeVerlParquet } from "./write.js";

test("config: a bare string is {path}; keys are strict; defaults", () => {
  assert.deepEqual(DatasetConfigSchema.parse("data/x.jsonl"), { path: "data/x.jsonl", split: "train", answer: "auto", seed: 42 });
  assert.throws(() => DatasetConfigSchema.parse({ path: "x", eval_fracton: 0.1 }), /eval_fracton/);
  assert.throws(() => loadDataset({ path: "x", columns: { questoin: "q" } } as never), /DatasetError|columns/);
  assert.throws(() => loadDataset({ path: "x", answer: "latex" } as never), e => e instanceof DatasetError && /answer/.test(e.message));
});

test("GSM8K-format Parquet (question, answer with #### n): gold answers the math reward compares", () => {
  const dir = tempDir();
  const file = writeParquet(join(dir, "gsm8k.parquet"), { question: GSM8K_ROWS.map(r => r.question), answer: GSM8K_ROWS.map(r => r.answer) });
  const { train, eval: ev } = loadDataset(file);
  assert.equal(ev.length, 0);
  assert.deepEqual(train.map(e => e.answer), ["72", "10", "5", "1600"]);
  assert.equal(train[0].question, GSM8K_ROWS[0].question);
  assert.equal(train[0].messages, undefined);
  assert.equal(mathReward("<think>48+24</think><answer>72</answer>", train[0]), 1);
  assert.equal(mathReward("<think>…</think><answer>1,600</answer>", train[3]), 1);
  assert.equal(mathReward("<think>…</think><answer>71</answer>", train[0]), 0);
});

test("MATH-format JSONL (problem, solution with \\boxed{}): the boxed content is the gold", () => {
  const dir = tempDir();
  const { train } = loadDataset(writeJsonl(join(dir, "math.jsonl"), MATH_ROWS.map(({ reference: _, ...r }) => r)));
  assert.deepEqual(train.map(e => e.answer), MATH_ROWS.map(r => r.reference));
  assert.equal(train[1].question, MATH_ROWS[1].problem);
  assert.equal(mathReward("so it is \\boxed{\\dfrac{2}{3}}", train[1]), 1);
  assert.equal(mathReward("so it is \\boxed{\\frac{3}{2}}", train[1]), 0);
  assert.equal(mathReward("y = \\boxed{600}", train[3]), 1);
  assert.equal(mathReward("\\boxed{(-\\infty,-2)\\cup(-2,3)\\cup(3,\\infty)}", train[2]), 1);
});

test("verl-format Parquet: nested prompt list<struct>, reward_model struct, extra_info struct read back as objects", () => {
  const dir = tempDir();
  const rows = GSM8K_ROWS.slice(0, 2).map((r, i) => ({
    data_source: "openai/gsm8k",
    prompt: [{ role: "user", content: `${r.question} Let's think step by step and output the final answer after "####".` }],
    ability: "math",
    reward_model: { style: "rule", ground_truth: r.answer.split("#### ")[1] },
    extra_info: { split: "train", index: BigInt(i) },
  }));
  const { train } = loadDataset(writeVerlParquet(join(dir, "train.parquet"), rows));
  assert.equal(train.length, 2);
  assert.deepEqual(train[0].messages, rows[0].prompt);
  assert.equal(train[0].question, rows[0].prompt[0].content);
  assert.equal(train[0].answer, "72");
  assert.equal(train[0].data_source, "openai/gsm8k");
  assert.equal(train[0].ability, "math");
  assert.deepEqual(train[1].extra_info, { split: "train", index: 1 });
  assert.equal(mathReward("<answer>10</answer>", train[1]), 1);
});

test("JSON array and TRL columns: prompt string, prompt chat list, messages, completion", () => {
  const dir = tempDir();
  const file = writeText(join(dir, "trl.json"), JSON.stringify([
    { prompt: "2+2?", answer: 4 },
    { prompt: [{ role: "system", content: "be brief" }, { role: "user", content: "3+3?" }], answer: "6" },
    { prompt: "Say hi.", completion: "hi" },
    { messages: [{ role: "user", content: "5*5?" }, { role: "assistant", content: "25" }] },
    { prompt: [{ role: "user", content: "7-1?" }], completion: [{ role: "assistant", content: "6" }], answer: "6" },
  ]));
  const { train } = loadDataset(file);
  assert.equal(train[0].answer, "4");
  assert.deepEqual(train[1].messages, [{ role: "system", content: "be brief" }, { role: "user", content: "3+3?" }]);
  assert.equal(train[1].question, "3+3?");
  assert.equal(train[2].completion, "hi");
  assert.equal(train[2].answer, "");
  assert.deepEqual(train[3].messages, [{ role: "user", content: "5*5?" }]);
  assert.deepEqual(train[3].completion, [{ role: "assistant", content: "25" }]);
  assert.deepEqual(train[4].completion, [{ role: "assistant", content: "6" }]);
  // back to TRL's SFT rows: a plain pair stays a pair; chat rows rebuild the whole conversation
  assert.equal(completionRow(train[0]), undefined);
  assert.deepEqual(completionRow(train[2]), { prompt: "Say hi.", completion: "hi" });
  assert.deepEqual(completionRow(train[3]), { messages: [{ role: "user", content: "5*5?" }, { role: "assistant", content: "25" }] });
  assert.deepEqual(completionRow(train[4]), { messages: [{ role: "user", content: "7-1?" }, { role: "assistant", content: "6" }] });
  const sys = loadDataset({ path: file, system_prompt: "S" }).train[2];
  assert.deepEqual(completionRow(sys), { messages: [{ role: "system", content: "S" }, { role: "user", content: "Say hi." }, { role: "assistant", content: "hi" }] });
  // … which the SFT reader accepts as they are
  const sft = [2, 3, 4].map(i => completionRow(train[i]));
  assert.deepEqual(parseSftJsonl(sft.map(r => JSON.stringify(r)).join("\n")), sft);
  // a JSON object with one array member ({"data": [...]}, as some hub JSON files are)
  const wrapped = writeText(join(dir, "wrapped.json"), JSON.stringify({ version: "1", data: [{ question: "q?", answer: "2" }] }));
  assert.deepEqual(loadDataset(wrapped).train.map(e => e.answer), ["2"]);
});

test("gzip-compressed JSONL/JSON (.jsonl.gz, .json.gz) and a byte-order mark are read", () => {
  const dir = tempDir();
  const gz = join(dir, "train.jsonl.gz");
  writeFileSync(gz, gzipSync(GSM8K_ROWS.map(r => JSON.stringify(r)).join("\n")));
  assert.deepEqual(loadDataset(gz).train.map(e => e.answer), ["72", "10", "5", "1600"]);
  writeFileSync(join(dir, "test.json.gz"), gzipSync(JSON.stringify([{ question: "q?", answer: "#### 9" }])));
  assert.deepEqual(loadDataset({ path: dir, eval_split: "test" }).eval.map(e => e.answer), ["9"]);
  const bom = writeText(join(dir, "bom.jsonl"), "\uFEFF" + JSON.stringify({ question: "a?", answer: "1" }) + "\n");
  assert.equal(loadDataset(bom).train[0].question, "a?");
});

test("CSV (quoted multi-line cells, \"\" escapes, CRLF) and TSV; cells stay text; ragged rows and open quotes are refused", () => {
  const dir = tempDir();
  const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
  const csv = ["question,answer", ...GSM8K_ROWS.map(r => `${q(r.question)},${q(r.answer)}`), `${q('He said "hi". Say it, 3 times?')},007`].join("\r\n") + "\r\n";
  const { train } = loadDataset(writeText(join(dir, "train.csv"), csv));
  assert.deepEqual(train.map(e => e.answer), ["72", "10", "5", "1600", "007"]);
  assert.equal(train[0].question, GSM8K_ROWS[0].question);
  assert.equal(train[4].question, 'He said "hi". Say it, 3 times?');
  assert.equal(loadDataset({ path: join(dir, "train.csv"), limit: 2 }).train.length, 2);
  // TSV with countdown columns: numbers in text cells
  const tsv = "target\tnums\tdata_source\n16\t[3, 5, 2]\tcountdown\n24\t[4, 6]\tcountdown\n";
  const cd = loadDataset({ path: writeText(join(dir, "cd.tsv"), tsv), template: "Make {target} from {nums}." }).train;
  assert.deepEqual(cd.map(e => [e.question, e.numbers, e.target]), [["Make 16 from [3, 5, 2].", [3, 5, 2], 16], ["Make 24 from [4, 6].", [4, 6], 24]]);
  assert.throws(() => loadDataset(writeText(join(dir, "bad.csv"), "question,answer\na?,1\nb?,2,extra\n")), /bad\.csv: row 2 \(line 3\) has 3 cells and the header 2/);
  assert.throws(() => loadDataset(writeText(join(dir, "open.csv"), 'question,answer\n"a?,1\n')), /open\.csv: a quoted field opened on line 2 is never closed/);
});
