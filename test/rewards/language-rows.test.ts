// The language reward's target language comes from the row (a dataset's `language` column), in `move37 verify` and in
// the reward server, so one batch can hold Russian, English and Chinese rows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { verifyStream } from "../../src/cli/verify.js";
import { output } from "../../src/cli/output.js";
import { startRewardServer, type RewardServer } from "../../src/reward-server/server.js";
import { languageConsistencyReward, languageMix, targetScript } from "../../src/rewards/language.js";
import { parseJsonl } from "../../src/tasks/jsonl.js";

// One completion, mixed: 4 Cyrillic words ("плюс", "равно", "минус", "равно"), 2 Latin ("plus", "is").
const MIXED = "<think>3 плюс 7 равно 10, 10 минус 2 равно 8, 8 plus 1 is 9</think><answer>9</answer>";
const RU = "<think>3 плюс 7 равно 10</think><answer>10</answer>";
const ZH = "<think>三 加 七 等于 十</think><answer>10</answer>";
// A dataset with a `language` column, as `move37 eval`/GRPO read it (src/data), plus the completion to judge.
const ROWS = [
  { question: "Сколько будет 3 плюс 7 минус 2?", answer: "8", language: "ru", completion: MIXED },
  { question: "What is 3 plus 7 minus 2?", answer: "8", language: "en", completion: MIXED },
  { question: "Сколько будет 3 плюс 7?", answer: "10", language: "ru-RU", completion: RU },
  { question: "三加七?", answer: "10", language: "zh", completion: ZH },
  { question: "What is 3 plus 7?", answer: "10", completion: RU }, // no language column: English
  { question: "Сколько будет 3 плюс 7?", answer: "10", language: "Russian", completion: RU },
];
const WANT = [4 / 6, 2 / 6, 1, 1, 0, 1];

async function verifyLines(lines: string[]): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const saved = output.out;
  output.out = (t: string) => { chunks.push(t); };
  try { await verifyStream(Readable.from([lines.join("\n") + "\n"])); } finally { output.out = saved; }
  return chunks.join("").trim().split("\n").map(l => JSON.parse(l));
}

test("target language: codes, tagged codes and names; unknown languages are not judged", () => {
  assert.equal(targetScript({ language: "ru" }), "cyrillic");
  assert.equal(targetScript({ language: "RU" }), "cyrillic");
  assert.equal(targetScript({ language: "zh_Hans" }), "han");
  assert.equal(targetScript({ language: "Greek" }), "greek");
  assert.equal(targetScript({}), "latin");
  assert.equal(targetScript({ language: "python" }), undefined); // a code row's language
  assert.equal(languageConsistencyReward(RU, { language: "python" }), null);
  assert.deepEqual(languageMix(MIXED, { language: "ru" }), { words: 6, share: 4 / 6, switched: true });
  assert.deepEqual(languageMix(RU, { language: "ru" }), { words: 2, share: 1, switched: false });
  assert.deepEqual(languageMix(RU, { language: "en" }), { words: 2, share: 0, switched: false });
});

test("move37 verify: each row's language column is its target", async () => {
  // the dataset reader keeps the column
  const examples = parseJsonl(ROWS.map(r => JSON.stringify(r)).join("\n"), "rows.jsonl");
  assert.deepEqual(examples.map(e => e.language), ROWS.map(r => r.language));
  const out = await verifyLines(ROWS.map(r => JSON.stringify({ task: "language", ...r })));
  assert.deepEqual(out.map(o => o.reward), WANT);
});

let server: RewardServer;
before(async () => { server = await startRewardServer({ rewards: [{ name: "language", weight: 1 }], port: 0 }); });
after(() => server.close());

test("reward server: /score items and OpenRLHF JSON labels carry the row's language", async () => {
  const score = await (await fetch(server.url + "/score", { method: "POST", body: JSON.stringify({ items: ROWS }) })).json();
  assert.deepEqual(score.rewards, WANT);
  const prompt = "User: q Assistant: ";
  const labels = ROWS.map(({ completion: _c, ...row }) => JSON.stringify(row));
  const openrlhf = await (await fetch(server.url + "/get_reward", { method: "POST", body: JSON.stringify({ query: ROWS.map(r => prompt + r.completion), prompts: ROWS.map(() => prompt), labels }) })).json();
  assert.deepEqual(openrlhf.rewards, WANT);
  assert.deepEqual(openrlhf.extra_logs.language, WANT);
});
