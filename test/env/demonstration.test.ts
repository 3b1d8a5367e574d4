// The tool-use demonstration's recipes (docs/tools.md "Demonstration") run as episodes: their prompt lists the tool,
// a call and its result earn the `math` reward only through the answer, the control's calls fail as unknown tools, and
// the Python variant's sandbox limits (recipes/experiments/tools-python.yaml) are in force. A scripted model writes
// the turns, so no trained base is needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { promptFormat, PromptConfigSchema } from "../../src/sample/prompt-format.js";
import type { Generation } from "../../src/sample/generate.js";
import { EnvironmentConfigSchema, environmentSpec } from "../../src/env/environment.js";
import { runEpisodes, type EpisodeSampling } from "../../src/env/episode.js";
import { episodeRollout, evaluateEpisodes, scoreEpisodes } from "../../src/env/grpo.js";
import { readRecipe } from "../../src/recipes/load.js";
import { distinctExamples, makeTask, makeRng, type Example } from "../../src/tasks/index.js";
import { environmentOf } from "../../src/cli/eval.js";
import type { SamplingJob } from "../../src/eval/problems.js";

const tok = new ByteTokenizer();

/** Turn t (the number of results in the context so far) writes turns[t]; stops at a stop string as the sampler does. */
function scripted(turns: (row: string) => string[]) {
  return async (prompts: number[][], s: EpisodeSampling): Promise<Generation[]> => prompts.map((p, k) => {
    const context = tok.decode(p);
    const script = turns(context);
    const out = script[Math.min(context.split("<result>").length - 1, script.length - 1)];
    const cut = s.stop.map(x => [out.indexOf(x), x] as const).filter(([i]) => i >= 0).sort((a, b) => a[0] - b[0])[0];
    const [text, ids, finishReason] = cut ? [out.slice(0, cut[0]), tok.encode(out.slice(0, cut[0]) + cut[1]), "stop" as const] : [out, [...tok.encode(out), tok.eosId!], "eos" as const];
    return { prompt: k, sample: 0, ids, text, logprobs: ids.map(() => -1), finishReason };
  });
}

async function episodesOf(recipePath: string, rows: Example[], turns: (context: string) => string[], envOver: Record<string, unknown> = {}) {
  const r = readRecipe(recipePath) as Record<string, any>;
  const cfg = EnvironmentConfigSchema.parse({ ...r.environment, ...envOver });
  const fmt = promptFormat(PromptConfigSchema.parse(r.prompt), tok);
  const { episodes } = await runEpisodes(ep => environmentSpec(cfg.type).create(cfg, ep), rows, 1, {
    cfg, maxTokens: cfg.max_tokens!, format: cfg.format === "auto" ? "tags" : cfg.format, tokenizer: tok, fmt, generate: scripted(turns), seed: 1 });
  const scored = await scoreEpisodes(r.grpo.reward_funcs, episodes.map(e => fmt.completion(e)), episodes.map(e => rows[e.prompt]), episodes);
  return { episodes, rewards: scored.table.map(row => row[0]) };
}

test("tools-calculator: the prompt lists the calculator; a call, its result and the answer earn the reward; the control's call fails", async () => {
  const rows = [makeTask({ type: "multiplication" }).sample(makeRng(5))];
  const [a, b] = rows[0].question.replace("=?", "").split("*");
  const turns = () => [`${a} times ${b}? <call>calculator ${a}*${b}</call>`, `</think><answer>${rows[0].answer}</answer>`];
  const calc = await episodesOf("recipes/experiments/tools-calculator.yaml", rows, turns);
  const e = calc.episodes[0];
  assert.match(tok.decode(e.promptIds), /^Tools:\n<call>calculator EXPRESSION<\/call> Works out an arithmetic expression\.\nUser: \d+\*\d+=\? Reason in <think> <\/think>, then answer in <answer> <\/answer>\. Assistant: <think>$/);
  assert.deepEqual(e.segments.map(s => s.role), ["assistant", "tool", "assistant"]);
  assert.equal(e.segments[1].text, `<result>${rows[0].answer}</result>`);
  assert.deepEqual(calc.rewards, [1]);
  // a wrong answer after the same call earns nothing: the reward is correctness alone, not calling
  const wrong = await episodesOf("recipes/experiments/tools-calculator.yaml", rows, () => [turns()[0], "</think><answer>7</answer>"]);
  assert.deepEqual(wrong.rewards, [0]);
  // the control: no tool listed, the same call is an unknown tool, and the answer copied from nowhere is wrong
  const none = await episodesOf("recipes/experiments/tools-none.yaml", rows, () => [turns()[0], "</think><answer>7</answer>"]);
  assert.doesNotMatch(tok.decode(none.episodes[0].promptIds), /Tools:|calculator/);
  assert.deepEqual(none.episodes[0].stats.errors, { unknown_tool: 1 });
  assert.deepEqual(none.rewards, [0]);
});

test("tools-python: the program's output is the answer; the sandbox's limits (5 s, 256 MiB) hold during episodes", async () => {
  const recipe = readRecipe("recipes/experiments/tools-python.yaml") as Record<string, any>;
  const cfg = EnvironmentConfigSchema.parse(recipe.environment);
  const [tool] = environmentSpec("python").create(cfg, { seed: 0 }).tools!;
  assert.equal(tool.timeoutMs, Infinity, "no call timer (it would count the wait for a sandbox slot): the sandbox's own clock, python_timeout_ms, is the limit");
  const task = makeTask({ type: "program_output", digits: 2 });
  const rows = [task.sample(makeRng(1)), task.sample(makeRng(2)), task.sample(makeRng(3))];
  const code = (q: string) => q.slice(q.indexOf("\n") + 1);
  const calls = [(q: string) => `<call>python ${code(q)}</call>`, () => "<call>python try:\n    x = bytearray(400 * 2**20)\nexcept MemoryError:\n    print('MemoryError')</call>", () => "<call>python while True: pass</call>"];
  const turns = (context: string) => {
    const i = rows.findIndex(r => context.includes(r.question));
    return [calls[i](rows[i].question), `</think><answer>${rows[i].answer}</answer>`];
  };
  // the recipe's memory limit with a clock generous enough that a loaded machine's process start-up cannot pass it
  const roomy = await episodesOf("recipes/experiments/tools-python.yaml", rows.slice(0, 2), turns, { python_timeout_ms: 30_000 });
  assert.match(tok.decode(roomy.episodes[0].promptIds), /^Tools:\n<call>python CODE<\/call> Runs a Python 3 program/);
  assert.equal(roomy.episodes[0].segments[1].text.replace(/\s+<\/result>$/, "</result>"), `<result>${rows[0].answer}</result>`);
  assert.equal(roomy.episodes[1].segments[1].text, "<result>MemoryError\n</result>", "256 MiB of address space: 400 MiB cannot be allocated");
  assert.deepEqual(roomy.rewards, [1, 1]); // the answers were written out: the reward reads the answer only
  // the recipe's clock: a program that never ends is stopped by the sandbox, whose note the model reads; the episode
  // goes on and ends
  const { episodes, rewards } = await episodesOf("recipes/experiments/tools-python.yaml", rows.slice(2), turns);
  assert.match(episodes[0].segments[1].text, /\[stopped: the program ran longer than 5000 ms\]/);
  assert.equal(episodes[0].segments.length, 3);
  assert.deepEqual(rewards, [1]);
});

test("held-out evaluation of tools-calculator's mixture: accuracy and tool-call rate per part (product, chain)", async () => {
  const r = readRecipe("recipes/experiments/tools-calculator.yaml") as Record<string, any>;
  const cfg = EnvironmentConfigSchema.parse(r.environment);
  const prompt = PromptConfigSchema.parse(r.prompt);
  const fmt = promptFormat(prompt, tok);
  const examples = distinctExamples(makeTask(r.task), 2, 12, undefined, "eval");
  // a scripted model that calls the calculator on products only, and answers chains with a wrong guess
  const generate = () => scripted(context => {
    const ex = examples.find(e => context.includes(`User: ${e.question} `))!;
    const expr = ex.question.replace("=?", "");
    return ex.subset === "product" ? [`<call>calculator ${expr}</call>`, `</think><answer>${ex.answer}</answer>`] : ["</think><answer>1</answer>"];
  });
  const rollout = episodeRollout(cfg, { tok, fmt, prompt, maxCompletionLength: r.grpo.max_completion_length, generate: generate() });
  const e = await evaluateEpisodes(rollout, generate, fmt, examples, { accuracy: r.accuracy_reward, format: r.format_reward, sampled: false, seed: 1 });
  const n = (s: string) => examples.filter(x => x.subset === s).length;
  assert.ok(n("product") > 0 && n("chain") > 0);
  assert.deepEqual(e.subsets, { chain: { problems: n("chain"), accuracy: 0, accuracySampled: null }, product: { problems: n("product"), accuracy: 1, accuracySampled: null } });
  assert.deepEqual(e.toolCallRateBySubset, { chain: 0, product: 1 });
  assert.equal(e.toolCallRate, n("product") / examples.length);
  assert.equal(e.accuracy, n("product") / examples.length);
  assert.equal(e.traces.length, 2, "a trace of each part");
  assert.ok(e.traces.every(t => t.startsWith("Tools:\n<call>calculator")), "traces show the prompt as the model read it");
  assert.ok(e.traces.some(t => t.includes("⟦<result>")));
});

test("move37 eval --describe-tools lists the tools as the recipes' environment.describe_tools does", () => {
  const job = { maxNewTokens: 96 } as SamplingJob;
  const on = environmentOf({ environment: "calculator", maxTurns: 3, toolFormat: "tags", describeTools: true }, job)!;
  assert.deepEqual([on.describe_tools, on.max_tokens, on.max_turns], [true, 96, 3]);
  assert.equal(environmentOf({ environment: "calculator", maxTurns: 3, toolFormat: "tags" }, job)!.describe_tools, false);
});
