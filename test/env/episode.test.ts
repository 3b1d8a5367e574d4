import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { promptFormat, PromptConfigSchema } from "../../src/sample/prompt-format.js";
import type { Generation } from "../../src/sample/generate.js";
import type { Example } from "../../src/tasks/types.js";
import { defineTool } from "../../src/env/tools.js";
import { calculatorTool } from "../../src/env/calculator.js";
import { EnvironmentConfigSchema, problemEnvironment, type Environment } from "../../src/env/environment.js";
import { pythonTool } from "../../src/env/python.js";
import { familyTokenizer, TEMPLATES } from "./family.js";
import { readFileSync } from "node:fs";
import { runEpisodes, episodeMetrics, type EpisodeOptions, type EpisodeSampling } from "../../src/env/episode.js";

const tok = new ByteTokenizer();
const fmt = promptFormat(PromptConfigSchema.parse({}), tok);
const rows = (qs: string[]): Example[] => qs.map((q, i) => ({ id: `r${i}`, question: q, answer: "" }) as Example);

/**
 * A scripted model: for the prompt whose question is q, turn t writes script[q][t] (or the last entry again). It stops
 * at a stop string (ids keep it, text is cut before it, as the sampler does) or ends with EOS.
 */
function scripted(script: Record<string, string[]>, onTurn?: (q: string, turn: number) => void) {
  const calls: number[] = [];
  const generate = async (prompts: number[][], s: EpisodeSampling): Promise<Generation[]> => {
    calls.push(prompts.length);
    return prompts.map((p, k) => {
      const context = tok.decode(p);
      const q = Object.keys(script).find(x => context.includes(`User: ${x} Assistant:`))!;
      const turn = context.split("<result>").length - 1;
      onTurn?.(q, turn);
      const out = script[q][Math.min(turn, script[q].length - 1)];
      const cut = s.stop.map(x => [out.indexOf(x), x] as const).filter(([i]) => i >= 0).sort((a, b) => a[0] - b[0])[0];
      let ids: number[], text: string, finishReason: Generation["finishReason"];
      if (cut) { text = out.slice(0, cut[0]); ids = tok.encode(text + cut[1]); finishReason = "stop"; }
      else { text = out; ids = [...tok.encode(out), tok.eosId!]; finishReason = "eos"; }
      if (ids.length > s.maxNewTokens) { ids = ids.slice(0, s.maxNewTokens); text = tok.decode(ids, { skipSpecialTokens: true }); finishReason = "length"; }
      return { prompt: k, sample: 0, ids, text, logprobs: ids.map(() => -1), finishReason };
    });
  };
  return { generate, calls };
}

function options(generate: EpisodeOptions["generate"], over: Record<string, unknown> = {}): EpisodeOptions {
  const cfg = EnvironmentConfigSchema.parse({ type: "test", format: "tags", max_turns: 4, tool_timeout_ms: 200, max_result_chars: 100, ...over });
  return { cfg, maxTokens: cfg.max_tokens ?? 400, format: "tags", tokenizer: tok, fmt, generate, seed: 1 };
}

test("an episode interleaves model turns and tool results; the mask covers only what the model wrote", async () => {
  const { generate } = scripted({ "12*34": ["I use the tool <call>calculator 12*34</call>", "so 408</think><answer>408</answer>"] });
  const { episodes } = await runEpisodes(() => problemEnvironment([calculatorTool]), rows(["12*34"]), 1, options(generate));
  const [e] = episodes;
  assert.equal(tok.decode(e.promptIds), "User: 12*34 Assistant: <think>");
  assert.deepEqual(e.segments.map(s => [s.role, s.text]), [
    ["assistant", "I use the tool <call>calculator 12*34</call>"], ["tool", "<result>408</result>"], ["assistant", "so 408</think><answer>408</answer>"],
  ]);
  assert.equal(tok.decode(e.ids), "I use the tool <call>calculator 12*34</call><result>408</result>so 408</think><answer>408</answer>");
  // model tokens 1, tool tokens 0, in place
  const first = "I use the tool <call>calculator 12*34</call>".length, tool = "<result>408</result>".length;
  assert.deepEqual(e.mask, [...Array(first).fill(1), ...Array(tool).fill(0), ...Array(e.ids.length - first - tool).fill(1)]);
  assert.deepEqual(e.logprobs.map(x => x !== 0), e.mask.map(m => m === 1));
  // the rewards read the whole transcript, with the prefilled <think> and the final stop put back
  assert.equal(fmt.completion(e), "<think>I use the tool <call>calculator 12*34</call><result>408</result>so 408</think><answer>408</answer>");
  assert.equal(e.stats.turns, 2);
  assert.deepEqual(e.stats.calls, { calculator: 1 });
  assert.equal(e.stats.stoppedBy, "answer");
});

test("a hanging tool times out, a throwing tool and a megabyte result become what the model reads; the episode goes on", async () => {
  const tools = [
    defineTool({ name: "hang", description: "never returns", parameters: z.object({}), run: () => new Promise<string>(() => {}) }),
    defineTool({ name: "boom", description: "throws", parameters: z.object({}), run: () => { throw new RangeError("out of range"); } }),
    defineTool({ name: "big", description: "a megabyte", parameters: z.object({}), run: async () => "x".repeat(1 << 20) }),
  ];
  const { generate } = scripted({
    a: ["<call>hang {}</call>", "done"], b: ["<call>boom {}</call>", "done"], c: ["<call>big {}</call>", "done"], d: ["<call>nope {}</call>", "<call>big</call", "done"],
  });
  const { episodes } = await runEpisodes(() => problemEnvironment(tools), rows(["a", "b", "c", "d"]), 1, options(generate, { max_tokens: 1000 }));
  const toolText = (i: number) => episodes[i].segments.filter(s => s.role === "tool").map(s => s.text);
  assert.deepEqual(toolText(0), ["<result>Error: hang took longer than 200 ms and was stopped</result>"]);
  assert.deepEqual(toolText(1), ["<result>Error: boom failed: RangeError: out of range</result>"]);
  assert.equal(toolText(2)[0], `<result>${"x".repeat(100)}\n[output truncated: ${(1 << 20) - 100} more characters]</result>`);
  assert.match(toolText(3)[0], /unknown tool "nope"; the tools are: hang, boom, big/);
  for (const e of episodes.slice(0, 3)) assert.equal(e.segments.at(-1)!.text, "done");
  // "<call>big</call" never closes: a malformed call, answered with an error the model reads
  assert.deepEqual(episodes[3].segments.map(s => s.role), ["assistant", "tool", "assistant", "tool", "assistant"]);
  assert.equal(episodes[3].segments[3].text, "<result>Error: <call> is not closed with </call></result>");
  const m = episodeMetrics(episodes);
  assert.equal(m["tools/calls_per_episode"], 5 / 4);
  assert.equal(m["tools/error_rate"], 4 / 5);
  assert.equal(m["tools/errors/bad_json"], 1 / 4);
  assert.equal(m["tools/calls/(malformed)"], 1 / 4);
  assert.equal(m["tools/errors/timeout"], 1 / 4);
  assert.equal(m["tools/errors/threw"], 1 / 4);
  assert.equal(m["tools/errors/unknown_tool"], 1 / 4);
  assert.equal(m["tools/truncated_results"], 1 / 4);
  assert.equal(m["tools/calls/big"], 1 / 4);
});

test("an episode that never stops calling is ended by max_turns, one that never stops writing by max_tokens", async () => {
  const { generate } = scripted({ loop: ["<call>calculator 1+1</call>"], long: ["y".repeat(1000)] });
  const { episodes } = await runEpisodes(() => problemEnvironment([calculatorTool]), rows(["loop", "long"]), 1, options(generate, { max_turns: 3, max_tokens: 300 }));
  const [loop, long] = episodes;
  assert.equal(loop.stats.turns, 3);
  assert.equal(loop.stats.stoppedBy, "max_turns");
  assert.deepEqual(loop.stats.calls, { calculator: 2 }, "the last turn's call is not run: no turn is left to read it");
  assert.equal(long.stats.stoppedBy, "max_tokens");
  assert.equal(long.ids.length, 300);
  // tool results count against the token budget too, and are cut to it
  const { episodes: [cut] } = await runEpisodes(() => problemEnvironment([calculatorTool]), rows(["loop"]), 1, options(generate, { max_turns: 50, max_tokens: 100 }));
  assert.equal(cut.ids.length, 100);
  assert.equal(cut.stats.stoppedBy, "max_tokens");
  assert.ok(cut.stats.turns < 50);
});

test("tools of different episodes run concurrently, and episodes generate while others wait on tools", async () => {
  // "pair" only returns once both episodes' calls are running: run one at a time, it would time out
  let waiting = 0, release: () => void = () => {};
  const both = new Promise<void>(r => { release = r; });
  const pair = defineTool({ name: "pair", description: "waits for its twin", parameters: z.object({}), run: async () => { if (++waiting === 2) release(); await both; return "ok"; } });
  // "gate" returns only after episode "free" has generated its second turn, which needs its own tool call done first
  let freeSecondTurn: () => void = () => {};
  const freeWent = new Promise<void>(r => { freeSecondTurn = r; });
  const gate = defineTool({ name: "gate", description: "waits for the other episode", parameters: z.object({}), run: async () => { await freeWent; return "open"; } });
  const { generate } = scripted({
    p1: ["<call>pair {}</call>", "end"], p2: ["<call>pair {}</call>", "end"],
    blocked: ["<call>gate {}</call>", "end"], free: ["<call>calculator 2+2</call>", "end"],
  }, (q, turn) => { if (q === "free" && turn === 1) freeSecondTurn(); });
  const { episodes } = await runEpisodes(() => problemEnvironment([pair, gate, calculatorTool]), rows(["p1", "p2", "blocked", "free"]), 1, options(generate, { tool_timeout_ms: 5000 }));
  for (const e of episodes) assert.equal(e.stats.errors.timeout, undefined, e.segments.map(s => s.text).join(" | "));
  assert.deepEqual(episodes.map(e => e.segments.find(s => s.role === "tool")!.text), ["<result>ok</result>", "<result>ok</result>", "<result>open</result>", "<result>4</result>"]);
});

test("episodes are reproducible: each samples from its own seed stream whatever its batch", async () => {
  const seen: number[][] = [];
  const generate = async (prompts: number[][], s: EpisodeSampling) => { seen.push(s.seeds); return scripted({ a: ["<call>calculator 1</call>", "x"], b: ["y"] }).generate(prompts, s); };
  await runEpisodes(() => problemEnvironment([calculatorTool]), rows(["a", "b"]), 2, options(generate));
  // 4 episodes' first turns, then the two "a" episodes' second turns: seeds per (episode, turn), distinct
  assert.equal(seen[0].length, 4);
  assert.equal(new Set(seen.flat()).size, 6);
});

test("step() feedback continues an episode; reward() scores it; a throwing step ends it", async () => {
  let steps = 0;
  const env = (): Environment => {
    let said = "";
    return {
      reset: row => ({ messages: [{ role: "user", content: row.question }] }),
      step: turn => { steps++; said = turn.text; if (turn.text === "boom") throw new Error("bad"); return turn.index === 0 ? { feedback: "try again" } : { done: true }; },
      reward: () => (said === "second" ? 1 : 0),
    };
  };
  const { generate } = scripted({ q: ["first", "second"], z: ["boom"] });
  // the scripted model counts <result> for its turn; feedback is " User: try again Assistant:", so map by feedback count
  const gen: EpisodeOptions["generate"] = async (p, s) => {
    const out = await generate(p, s);
    return out.map((g, k) => (tok.decode(p[k]).includes("try again") ? { ...g, ids: [...tok.encode("second"), tok.eosId!], text: "second", logprobs: [...Array(7).fill(-1)] } : g));
  };
  const { episodes } = await runEpisodes(env, rows(["q", "z"]), 1, options(gen));
  assert.deepEqual(episodes[0].segments.map(s => s.text), ["first", " User: try again Assistant:", "second"]);
  assert.equal(episodes[0].envReward, 1);
  assert.equal(episodes[0].stats.stoppedBy, "done");
  assert.equal(episodes[1].stats.stoppedBy, "done");
  assert.equal(episodes[1].envReward, 0);
  assert.equal(steps, 3);
});

test("a hermes episode with Qwen3's real template and the calculator is the template's own text of the conversation", async () => {
  const qwen = familyTokenizer("qwen3");
  const c = (JSON.parse(readFileSync(new URL("tools_expected.json", TEMPLATES), "utf8")) as { cases: { family: string; label: string; text: string }[] })
    .cases.find(x => x.family === "qwen3" && x.label === "a call, its result, the answer")!;
  // the model's two turns, each ended by EOS (<|im_end|>)
  const turns = ['<tool_call>\n{"name": "calculator", "arguments": {"expression": "12345 * 6789"}}\n</tool_call>', "<think>\n\n</think>\n\n12345 * 6789 = 83810205."];
  let turn = 0;
  const generate = async (prompts: number[][]): Promise<Generation[]> => prompts.map((_, k) => {
    const text = turns[turn++];
    const ids = [...qwen.encode(text, { addSpecialTokens: false }), qwen.eosId!];
    return { prompt: k, sample: 0, ids, text: qwen.decode(ids, { skipSpecialTokens: true }), logprobs: ids.map(() => -1), finishReason: "eos" };
  });
  const chatFmt = promptFormat(PromptConfigSchema.parse({ template: "chat", system_prompt: "You are a careful math tutor." }), qwen);
  const cfg = EnvironmentConfigSchema.parse({ type: "calculator", format: "hermes" });
  const { episodes: [e] } = await runEpisodes(() => problemEnvironment([calculatorTool, pythonTool()]),
    rows(["What is 12345 * 6789?"]), 1, { cfg, maxTokens: 4000, format: "hermes", tokenizer: qwen, fmt: chatFmt, generate, seed: 1, systemPrompt: "You are a careful math tutor." });
  assert.equal(qwen.decode([...e.promptIds, ...e.ids]), c.text.slice(0, -1), "prompt ‖ episode = the template's rendering (less the newline after the final EOS)");
  assert.deepEqual(e.segments.map(s => s.role), ["assistant", "tool", "assistant"]);
  assert.equal(e.segments[1].text, "\n<|im_start|>user\n<tool_response>\n83810205\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
  // the mask: both model turns with their EOS, none of the tool turn
  const n1 = qwen.encode(turns[0], { addSpecialTokens: false }).length + 1, nTool = e.segments[1].tokens;
  assert.deepEqual(e.mask, [...Array(n1).fill(1), ...Array(nTool).fill(0), ...Array(e.ids.length - n1 - nTool).fill(1)]);
  assert.equal(e.stats.stoppedBy, "answer");
});

test("calls of made-up tools are counted under (unknown), not under names the model invented", async () => {
  const { generate } = scripted({ a: ["<call>zzq {}</call>", "<call>xkcd 1</call>", "end"] });
  const { episodes } = await runEpisodes(() => problemEnvironment([calculatorTool]), rows(["a"]), 1, options(generate));
  assert.deepEqual(episodes[0].stats.calls, { "(unknown)": 2 });
  assert.deepEqual(Object.keys(episodeMetrics(episodes)).filter(k => k.startsWith("tools/calls/")), ["tools/calls/(unknown)"]);
});

test("a recipe's environment is checked: unknown keys by name, unknown environments listing the known ones", async () => {
  const { GRPORecipeSchema } = await import("../../src/train/grpo-trainer.js");
  const { environmentSpec, UnknownEnvironmentError } = await import("../../src/env/environment.js");
  const recipe = (environment: unknown) => ({ model: "m", task: { type: "arithmetic" }, accuracy_reward: "math", format_reward: "format", grpo: { reward_funcs: ["math"] }, environment });
  assert.equal(GRPORecipeSchema.parse(recipe({ type: "calculator" })).environment!.max_turns, 4);
  const bad = GRPORecipeSchema.safeParse(recipe({ type: "calculator", max_turn: 3 }));
  assert.ok(!bad.success && JSON.stringify(bad.error.issues).includes("max_turn"));
  assert.throws(() => environmentSpec("calculater"), (e: Error) => e instanceof UnknownEnvironmentError && /problems, calculator, python/.test(e.message));
});

test("environment bugs fail the rollout by name: a throwing reset names the row, an unrenderable result the format", async () => {
  const { generate } = scripted({ q: ["x"] });
  const broken = (): Environment => ({ reset: () => { throw new Error("no such file"); } });
  await assert.rejects(runEpisodes(broken, rows(["q"]), 1, options(generate)), /reset\(\) failed on row r0: no such file/);
  // hermes results need the template's EOS: a tokenizer without one fails once the first call needs its result rendered
  const { HfTokenizer } = await import("../../src/tokenizer/hf.js");
  const noEos = new HfTokenizer(new ByteTokenizer(["<|im_start|>", "<|im_end|>"]).toTokenizerJson(), { eos_token: null, chat_template: readFileSync(new URL("qwen3.jinja", TEMPLATES), "utf8") });
  const call = async (prompts: number[][]): Promise<Generation[]> => prompts.map((_, k) => {
    const text = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "1+1"}}\n</tool_call>';
    const ids = noEos.encode(text);
    return { prompt: k, sample: 0, ids, text, logprobs: ids.map(() => -1), finishReason: "stop" };
  });
  const cfg = EnvironmentConfigSchema.parse({ type: "calculator", format: "hermes" });
  await assert.rejects(runEpisodes(() => problemEnvironment([calculatorTool]), rows(["q", "r"]), 2, { cfg, maxTokens: 2000, format: "hermes", tokenizer: noEos, fmt: promptFormat(PromptConfigSchema.parse({ template: "chat" }), noEos), generate: call, seed: 1 }),
    /hermes format renders tool results with the model's chat template and EOS token, and this tokenizer has no EOS token/);
});

test("the python environment runs each call in the sandbox with the recipe's limits", async () => {
  const { environmentSpec } = await import("../../src/env/environment.js");
  const { generate } = scripted({
    ok: ["<call>python print(2**10)</call>", "done"],
    slow: ["<call>python while True: pass</call>", "done"],
    big: ["<call>python x = bytearray(300 * 2**20); print('allocated')</call>", "done"],
  });
  const o = options(generate, { type: "python", python_timeout_ms: 1500, python_memory_mb: 128, tool_timeout_ms: 10_000, max_result_chars: 1000, max_tokens: 2000 });
  const { episodes } = await runEpisodes(ep => environmentSpec("python").create(o.cfg, ep), rows(["ok", "slow", "big"]), 1, o);
  const result = (i: number) => episodes[i].segments[1].text;
  assert.equal(result(0), "<result>1024\n</result>");
  assert.match(result(1), /stopped: the program ran longer than 1500 ms/);
  assert.match(result(2), /^<result>Traceback \(most recent call last\):\n  File "program.py", line 1, in <module>\n[\s\S]*MemoryError/);
  for (const e of episodes) assert.equal(e.segments.at(-1)!.text, "done");
});

test("the model's context bounds every episode: a budget its prompt cuts, and batches that keep each row inside it", async () => {
  const long = "9".repeat(150), maxContext = 240;
  const { generate } = scripted({ a: ["<call>calculator 2*3</call>", "x".repeat(300)], [long]: ["y".repeat(300)] });
  // the engine refuses a batch whose longest prompt plus maxNewTokens passes the context (src/sample/engine.ts)
  const engine: EpisodeOptions["generate"] = async (prompts, s) => {
    const longest = Math.max(...prompts.map(p => p.length));
    if (longest + s.maxNewTokens > maxContext) throw new Error(`prompt (${longest} tokens) + maxNewTokens (${s.maxNewTokens}) exceeds ${maxContext}`);
    return generate(prompts, s);
  };
  const o = options(engine, { max_tokens: 200 });
  await assert.rejects(runEpisodes(() => problemEnvironment([calculatorTool]), rows(["a", long, "a"]), 1, o), /exceeds 240/);
  const { episodes } = await runEpisodes(() => problemEnvironment([calculatorTool]), rows(["a", long, "a"]), 1, { ...o, maxContext });
  for (const e of episodes) assert.ok(e.promptIds.length + e.ids.length <= maxContext, `${e.promptIds.length} + ${e.ids.length}`);
  const [short, cut] = episodes;
  // the long prompt leaves 240 - its length for the completion: cut there, truncated
  assert.equal(cut.ids.length, maxContext - cut.promptIds.length);
  assert.ok(cut.truncated && cut.ids.length < 200);
  // the short one keeps max_tokens: the call, its result, then the rest cut at 200
  assert.equal(short.ids.length, 200);
  assert.ok(short.truncated && short.stats.calls.calculator === 1);
  // a prompt that leaves no room is a clear error naming its row
  await assert.rejects(runEpisodes(() => problemEnvironment([calculatorTool]), rows(["a", "8".repeat(300)]), 1, { ...o, maxContext }),
    /prompt of row r1 is \d+ tokens, which leaves no room in the model's context of 240/);
});
