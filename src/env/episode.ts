/**
 * Episodes: rollouts that interleave generation and tool execution.
 *
 *   reset(row) → prompt ids ─┬─ generate a turn (all ready episodes in one batch, each with its own seed stream)
 *                            ├─ calls? run them (async, under their timeouts; episodes waiting on tools do not hold
 *                            │  up the others, which generate meanwhile), append the results → generate again
 *                            ├─ no calls: step() feedback → generate again, or the episode ends
 *                            └─ limits: max_turns model turns, max_tokens completion tokens (model + environment)
 *
 * An episode is one completion for training: prompt ids, then the completion ids (model and environment tokens in
 * order), with `mask` 1 only on the tokens the model wrote (so tool and environment tokens carry no loss and no KL)
 * and the sampler's log-probs on them (0 elsewhere). Each episode samples from seeds mixSeed(seed, episode, turn),
 * so its tokens do not depend on which other episodes shared its batches or on how long tools took.
 */
import type { Example } from "../tasks/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { FinishReason, Generation } from "../sample/generate.js";
import type { PromptFormat } from "../sample/prompt-format.js";
import { mixSeed } from "../rng.js";
import { callTool, toolSchemas, type ToolErrorKind, type ToolResult } from "./tools.js";
import { assistantMessage, callStopStrings, parseToolCalls, renderFollowUp, renderToolPrompt, toolsPreamble, type FollowUp, type ToolFormat, type ToolMessage } from "./formats.js";
import type { Environment, EnvironmentConfig, EpisodeContext, ModelTurn, StepResult } from "./environment.js";

export class EnvironmentError extends Error {
  constructor(message: string) { super(message); this.name = "EnvironmentError"; }
}

/** One piece of an episode's transcript. */
export interface Segment {
  role: "assistant" | "tool" | "user";
  /** The text as the model saw or wrote it (a tool segment as the template rendered it). */
  text: string;
  /** Tokens of this segment. */
  tokens: number;
  /** Tool segments: each call's tool and error (null = it ran). */
  calls?: { name: string; error: ToolErrorKind | null }[];
  /** Tool and user segments: what each result or feedback said (the text before the format rendered it). */
  contents?: string[];
}

export type StopReason = "answer" | "done" | "max_turns" | "max_tokens";

export interface EpisodeStats {
  turns: number;
  /** Calls by tool name; malformed ones under "(malformed)", calls of unknown tools under "(unknown)". */
  calls: Record<string, number>;
  errors: Partial<Record<ToolErrorKind, number>>;
  truncatedResults: number;
  /** Seconds the environment spent on this episode (tools, step, reward). */
  envSeconds: number;
  stoppedBy: StopReason;
}

/** An episode as a Generation (prompt-major: episode i is row ⌊i/G⌋, sample i mod G) plus what training and logs need. */
export interface Episode extends Generation {
  promptIds: number[];
  /** The conversation the prompt was rendered from (chat formats), or one user turn holding the prompt text (tags, raw prompts). */
  messages: ToolMessage[];
  /** [ids.length] 1 = written by the model (trained on), 0 = from a tool or the environment. */
  mask: number[];
  segments: Segment[];
  stats: EpisodeStats;
  /** It hit max_tokens (mask_truncated_completions drops such episodes from the loss). */
  truncated: boolean;
  /** The environment's reward(), when it has one. */
  envReward?: number | null;
}

export interface EpisodeSampling { seeds: number[]; maxNewTokens: number; stop: string[] }

export interface EpisodeOptions {
  cfg: EnvironmentConfig;
  /** Completion tokens per episode (the config's max_tokens, resolved). */
  maxTokens: number;
  /**
   * The model's context (max_position_embeddings), when known: an episode's budget is cut to what its prompt leaves
   * of it, and a round's episodes are generated in as many batches as keep every one inside it.
   */
  maxContext?: number;
  format: ToolFormat;
  tokenizer: Tokenizer;
  /** The recipe's prompt format: the tags format's prompt text and stop strings come from it. */
  fmt: PromptFormat;
  /** Chat template variables (prompt.chat_template_kwargs) and the system prompt, for chat formats. */
  chatExtra?: Record<string, unknown>;
  systemPrompt?: string;
  /** Samples one turn of each prompt (numReturnSequences 1), prompt i from the stream seeds[i]. */
  generate(prompts: number[][], s: EpisodeSampling): Promise<Generation[]>;
  seed: number;
}

interface State {
  i: number; env: Environment; row: Example; promptIds: number[]; messages: ToolMessage[];
  ids: number[]; mask: number[]; logprobs: number[]; segments: Segment[];
  /** Completion tokens this episode may hold: maxTokens, or less when the prompt leaves less of the model's context. */
  budget: number;
  turns: number; stats: EpisodeStats; lastText: string; finish: FinishReason; status: "ready" | "busy" | "done";
}

/** Runs G episodes of each row, one environment instance each (create(), with the episode's own seed); returns them prompt-major. */
export async function runEpisodes(create: (episode: EpisodeContext) => Environment, rows: readonly Example[], G: number, o: EpisodeOptions): Promise<{ episodes: Episode[]; seconds: { generation: number; environment: number } }> {
  const t0 = performance.now();
  let genSeconds = 0;
  const tok = o.tokenizer;
  const stop = [...new Set([...o.fmt.stop, ...callStopStrings(o.format)])];
  const states: State[] = [];
  for (let i = 0; i < rows.length * G; i++) {
    const row = rows[Math.floor(i / G)], env = create({ seed: mixSeed(o.seed, i, 0x5eed) });
    const start = await promptText(env, row, o);
    const promptIds = tok.encode(start.text, { addSpecialTokens: false });
    const budget = Math.min(o.maxTokens, (o.maxContext ?? Infinity) - promptIds.length);
    if (budget < 1) throw new EnvironmentError(`the prompt of row ${row.id ?? Math.floor(i / G)} is ${promptIds.length} tokens, which leaves no room in the model's context of ${o.maxContext}: shorten the prompt (or the tool descriptions) or use a model with a longer context`);
    states.push({ i, env, row, promptIds, messages: start.messages, ids: [], mask: [], logprobs: [], segments: [], budget, turns: 0, lastText: "", finish: "length", status: "ready",
      stats: { turns: 0, calls: {}, errors: {}, truncatedResults: 0, envSeconds: 0, stoppedBy: "answer" } });
  }
  const inflight = new Set<Promise<void>>();
  let fatal: Error | null = null;
  for (;;) {
    if (fatal) { await Promise.allSettled(inflight); throw fatal; }
    const ready = states.filter(s => s.status === "ready");
    if (ready.length) {
      for (const batch of contextBatches(ready, o.maxContext)) {
        const g0 = performance.now();
        const gens = await o.generate(batch.map(s => [...s.promptIds, ...s.ids]), {
          seeds: batch.map(s => mixSeed(o.seed, s.i, s.turns)), maxNewTokens: Math.max(...batch.map(room)), stop,
        });
        genSeconds += (performance.now() - g0) / 1000;
        batch.forEach((s, k) => {
          s.status = "busy";
          // afterTurn never rejects: an environment bug is kept and thrown here, once every call has settled
          const p: Promise<void> = afterTurn(s, gens[k], o, stop).catch(e => { fatal ??= e as Error; s.status = "done"; }).finally(() => inflight.delete(p));
          inflight.add(p);
        });
      }
      await new Promise(r => setImmediate(r)); // lets the tools' processes start before the next generation
      continue;
    }
    if (inflight.size === 0) break;
    await Promise.race(inflight);
  }
  const episodes: Episode[] = [];
  for (const s of states) {
    let envReward: number | null | undefined;
    if (s.env.reward) {
      const r0 = performance.now();
      try { const r = await s.env.reward(); envReward = typeof r === "number" && Number.isFinite(r) ? r : null; } catch { envReward = null; }
      s.stats.envSeconds += (performance.now() - r0) / 1000;
    }
    const text = s.segments.map((seg, k) => (k === s.segments.length - 1 && seg.role === "assistant" ? s.lastText : tok.decode(tok.encode(seg.text, { addSpecialTokens: false }), { skipSpecialTokens: true }))).join("");
    episodes.push({
      prompt: Math.floor(s.i / G), sample: s.i % G, ids: s.ids, text, logprobs: s.logprobs, finishReason: s.finish,
      promptIds: s.promptIds, messages: s.messages, mask: s.mask, segments: s.segments, stats: s.stats, truncated: s.stats.stoppedBy === "max_tokens", ...(s.env.reward ? { envReward } : {}),
    });
  }
  return { episodes, seconds: { generation: genSeconds, environment: (performance.now() - t0) / 1000 - genSeconds } };
}

/** The prompt of an episode: reset(row) through the chat template with the tools (hermes, llama3), or the recipe's prompt (tags). */
async function promptText(env: Environment, row: Example, o: EpisodeOptions): Promise<{ text: string; messages: ToolMessage[] }> {
  let start;
  try { start = await env.reset(row); } catch (e) { throw new EnvironmentError(`the environment's reset() failed on row ${row.id ?? "?"}: ${(e as Error).message}`); }
  const raw = (text: string) => ({ text, messages: [{ role: "user", content: text }] });
  if ("prompt" in start) return raw(start.prompt);
  const tools = env.tools ?? [];
  if (o.format === "tags") {
    const user = [...start.messages].reverse().find(m => m.role === "user");
    if (!user) throw new EnvironmentError(`reset() on row ${row.id ?? "?"} returned no user message: the tags format's prompt is the recipe's prompt of the last user message`);
    const pre = o.cfg.describe_tools && tools.length ? toolsPreamble(toolSchemas(tools)) : "";
    return raw(pre + o.fmt.text({ ...row, question: user.content, messages: undefined }));
  }
  const messages = o.systemPrompt !== undefined && start.messages[0]?.role !== "system" ? [{ role: "system", content: o.systemPrompt }, ...start.messages] : start.messages;
  return { text: renderToolPrompt(o.format, o.tokenizer, messages, tools, { extra: o.chatExtra }), messages };
}

/** Completion tokens an episode has left, and the tokens its context holds. */
const room = (s: State) => s.budget - s.ids.length;
const contextOf = (s: State) => s.promptIds.length + s.ids.length;

/**
 * A round's ready episodes in batches whose longest context plus largest room fits the model's context (one batch
 * unless their prompts differ enough): a batch generates up to its largest room, and each episode is cut to its own.
 */
function contextBatches(ready: State[], maxContext: number | undefined): State[][] {
  if (maxContext === undefined) return [ready];
  const left = [...ready].sort((a, b) => contextOf(b) - contextOf(a));
  const batches: State[][] = [];
  while (left.length) {
    const head = left.shift()!, longest = contextOf(head), batch = [head];
    let most = room(head);
    for (let k = 0; k < left.length;) {
      if (longest + Math.max(most, room(left[k])) <= maxContext) { most = Math.max(most, room(left[k])); batch.push(...left.splice(k, 1)); } else k++;
    }
    batches.push(batch);
  }
  return batches;
}

/** Appends environment tokens (no loss), cut to the episode's token budget; false when the budget ran out. */
function appendEnv(s: State, o: EpisodeOptions, role: "tool" | "user", text: string, contents: string[], calls?: Segment["calls"]): boolean {
  const left = room(s);
  let ids = o.tokenizer.encode(text, { addSpecialTokens: false });
  const fits = ids.length < left; // the model must have room to write at least one token
  if (!fits) ids = ids.slice(0, Math.max(0, left));
  s.ids.push(...ids); s.mask.push(...ids.map(() => 0)); s.logprobs.push(...ids.map(() => 0));
  s.segments.push({ role, text: fits ? text : o.tokenizer.decode(ids), tokens: ids.length, contents, ...(calls ? { calls } : {}) });
  return fits;
}

/** The name a call is counted under: its tool, or "(malformed)" / "(unknown)" (names a model made up must not become metric keys). */
const callName = (r: ToolResult) => (r.error === "bad_json" ? "(malformed)" : r.error === "unknown_tool" ? "(unknown)" : r.name);

function end(s: State, why: StopReason) { s.status = "done"; s.stats.stoppedBy = why; }

/** After a model turn: record it, run its calls or the environment's step, and decide what comes next. Never throws. */
async function afterTurn(s: State, g: Generation, o: EpisodeOptions, stop: readonly string[]): Promise<void> {
  const tok = o.tokenizer;
  const left = room(s);
  let ids = g.ids, lps = g.logprobs, finish = g.finishReason, text = g.text;
  if (ids.length > left) { ids = ids.slice(0, left); lps = lps.slice(0, left); finish = "length"; text = tok.decode(ids, { skipSpecialTokens: true }); }
  // what the model wrote, with the stop string that ended it (a call's "</call>")
  const spelled = finish === "stop" ? tok.decode(ids, { skipSpecialTokens: true }) : text;
  const stopHit = finish === "stop" ? stop.find(x => spelled.startsWith(text + x)) ?? "" : "";
  const written = text + stopHit;
  s.ids.push(...ids); s.mask.push(...ids.map(() => 1)); s.logprobs.push(...lps);
  s.segments.push({ role: "assistant", text: written, tokens: ids.length });
  s.turns++; s.stats.turns = s.turns;
  s.lastText = text; s.finish = finish;
  const tools = s.env.tools ?? [];
  const parsed = parseToolCalls(o.format, written, tools);
  const called = parsed.calls.length + parsed.errors.length > 0;
  if (finish === "length") return end(s, "max_tokens");
  if (called && s.turns >= o.cfg.max_turns) return end(s, "max_turns");
  // a call's stop string ends the turn for the tools, not the episode: the final text keeps it
  if (called && stopHit) { s.lastText = written; s.finish = "eos"; }
  const t0 = performance.now();
  try {
    const results: ToolResult[] = [...parsed.errors, ...await Promise.all(parsed.calls.map(c => callTool(tools, c, { timeoutMs: o.cfg.tool_timeout_ms, maxResultChars: o.cfg.max_result_chars })))];
    for (const r of results) {
      const name = callName(r);
      s.stats.calls[name] = (s.stats.calls[name] ?? 0) + 1;
      if (r.error) s.stats.errors[r.error] = (s.stats.errors[r.error] ?? 0) + 1;
      if (r.truncated) s.stats.truncatedResults++;
    }
    let step: StepResult | null | undefined = null;
    if (s.env.step) {
      const turn: ModelTurn = { index: s.turns - 1, text: written, content: parsed.content, calls: parsed.calls, results };
      try { step = await s.env.step(turn); } catch (e) { step = { feedback: `Error: the environment failed: ${(e as Error).message}`, done: true }; }
    }
    if (step?.done) return end(s, "done");
    const follow: FollowUp[] = called ? results.map(r => ({ role: "tool", content: r.content })) : step?.feedback ? [{ role: "user", content: step.feedback }] : [];
    if (follow.length === 0) return end(s, "answer");
    if (s.turns >= o.cfg.max_turns) return end(s, "max_turns");
    const calls = called ? results.map(r => ({ name: callName(r), error: r.error })) : undefined;
    let rendered: string;
    try { rendered = renderFollowUp(o.format, tok, follow, { extra: o.chatExtra }); } catch (e) { throw new EnvironmentError((e as Error).message); }
    if (!appendEnv(s, o, called ? "tool" : "user", rendered, follow.map(f => f.content), calls)) return end(s, "max_tokens");
    s.status = "ready";
  } catch (e) {
    if (e instanceof EnvironmentError) throw e;
    s.stats.errors.threw = (s.stats.errors.threw ?? 0) + 1;
    end(s, "done");
  } finally {
    s.stats.envSeconds += (performance.now() - t0) / 1000;
  }
}

/** What the trainer logs about a batch of episodes (means per episode unless named a rate or fraction). */
export function episodeMetrics(episodes: readonly Episode[]): Record<string, number | null> {
  const n = episodes.length || 1;
  const sum = (f: (e: Episode) => number) => episodes.reduce((a, e) => a + f(e), 0);
  const calls = sum(e => Object.values(e.stats.calls).reduce((a, x) => a + x, 0));
  const errors = sum(e => Object.values(e.stats.errors).reduce((a, x) => a + (x ?? 0), 0));
  const out: Record<string, number | null> = {
    "episodes/turns": sum(e => e.stats.turns) / n,
    "tools/calls_per_episode": calls / n,
    "tools/error_rate": calls > 0 ? errors / calls : null,
    "tools/truncated_results": sum(e => e.stats.truncatedResults) / n,
    "completions/env_token_frac": sum(e => e.mask.length - e.mask.reduce((a, x) => a + x, 0)) / Math.max(1, sum(e => e.mask.length)),
    "time/environment_per_episode": sum(e => e.stats.envSeconds) / n,
  };
  for (const name of new Set(episodes.flatMap(e => Object.keys(e.stats.calls)))) out[`tools/calls/${name}`] = sum(e => e.stats.calls[name] ?? 0) / n;
  for (const kind of new Set(episodes.flatMap(e => Object.keys(e.stats.errors)))) out[`tools/errors/${kind}`] = sum(e => e.stats.errors[kind as ToolErrorKind] ?? 0) / n;
  for (const why of ["max_turns", "max_tokens", "done"] as const) out[`episodes/stopped_by_${why}`] = episodes.filter(e => e.stats.stoppedBy === why).length / n;
  return out;
}

/**
 * An episode as a conversation (SFT data from rejection sampling): its first messages, then its turns. Chat formats
 * give assistant turns as OpenAI messages (content and `tool_calls`, which the template renders again) and each tool
 * result as a `tool` message; the tags format, which has no template, keeps each assistant turn's text as written
 * (calls included) after one user turn holding the prompt text. A turn cut by a limit is kept as cut.
 */
export function episodeMessages(e: Episode, format: ToolFormat): ToolMessage[] {
  const out: ToolMessage[] = [...e.messages];
  e.segments.forEach((seg, k) => {
    if (seg.role === "assistant") {
      out.push(format === "tags" ? { role: "assistant", content: seg.text } : assistantMessage(parseToolCalls(format, seg.text), `call_${k}`));
    } else for (const c of seg.contents ?? [seg.text]) out.push({ role: seg.role === "tool" ? "tool" : "user", content: c });
  });
  return out;
}
