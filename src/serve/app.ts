/**
 * The OpenAI-compatible routes of `move37 serve`: /v1/models, /v1/completions, /v1/chat/completions (whole or
 * streamed as SSE `data:` chunks ending with `data: [DONE]`), weight reloads, /health and Prometheus /metrics.
 * Requests are validated and tokenized here; decoding happens in batches on the generator thread.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { BackendKind } from "../engine/index.js";
import type { ModelConfig } from "../model/config.js";
import { readHfConfig } from "../model/io/hf.js";
import { loadTokenizer } from "../tokenizer/load.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatMessage } from "../tokenizer/chat-template.js";
import type { Generation, TokenEvent } from "../sample/generate.js";
import { ApiError } from "./errors.js";
import { ChatRequestSchema, CompletionRequestSchema, ReloadRequestSchema, type ChatRequest, type CompletionRequest } from "./protocol.js";
import { planTools, readToolTurn, templateMessages, ToolStream } from "./tools.js";
import { Batcher, type BatchOptions } from "./batcher.js";
import { dumpServed, receiveWeights, POLICY_VERSION_HEADER } from "./weights-http.js";
import type { Generator, VersionedGenerations } from "./generator.js";
import { chatLogprobs, completionLogprobs, finishReason, stopReason, usage } from "./responses.js";

/** What the routes read of the served model; replaced whole on reload. */
export interface Served { dir: string; name: string; config: ModelConfig; tokenizer: Tokenizer; created: number }

export function readServed(dir: string, name: string): Served {
  return { dir, name, config: readHfConfig(dir), tokenizer: loadTokenizer(dir), created: Math.floor(Date.now() / 1000) };
}

export interface AppDeps { served: Served; generator: Generator; batcher: Batcher; backend: BackendKind }

interface Prepared {
  prompts: number[][]; n: number; options: BatchOptions; seed?: number; promptTokens: number;
  logprobs: boolean; topLogprobs: number; stream: boolean; includeUsage: boolean; stop: string[]; skipSpecial: boolean; returnIds: boolean; asIds: boolean;
}

type Common = CompletionRequest | ChatRequest;

export function createApp(deps: AppDeps) {
  const counts = { completions: 0, chat: 0, errors: 0, reloads: 0, promptTokens: 0, generationTokens: 0, pushes: 0, pushesRefused: 0 };
  /** The policy version served (what the last reload or push named) and the checksum of the last push. */
  const weights = { version: 0, sha256: null as string | null };
  const app = new Hono();

  app.onError((e, c) => {
    counts.errors++;
    const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${e.message}`);
    return c.json(err.body(), err.status);
  });
  app.notFound(c => c.json(new ApiError(404, `no route ${c.req.method} ${c.req.path}: see GET /v1/models, POST /v1/completions, POST /v1/chat/completions`).body(), 404));

  app.get("/health", c => c.text("ok"));
  app.get("/v1/models", c => {
    const s = deps.served;
    return c.json({ object: "list", data: [{ id: s.name, object: "model", created: s.created, owned_by: "move37", max_model_len: s.config.max_position_embeddings }] });
  });

  app.post("/v1/completions", async c => {
    counts.completions++;
    const req = parse(CompletionRequestSchema, await body(c));
    const s = deps.served;
    const prompts = completionPrompts(req.prompt, s.tokenizer);
    const p = prepare(req, prompts, req.max_tokens ?? 16, req.logprobs != null, req.logprobs ?? 0, s);
    const id = `cmpl-${randomUUID()}`, created = Math.floor(Date.now() / 1000);
    const head = { id, object: "text_completion", created, model: s.name };
    const naming = { tokenizer: s.tokenizer, asIds: p.asIds };
    if (p.stream) {
      const offsets = new Map<number, number>();   // each choice's text offset so far, for text_offset
      return streamed(c, p, (choice, e) => {
        let logprobs = null;
        if (p.logprobs) {
          const at = offsets.get(choice) ?? 0;
          logprobs = completionLogprobs([e.token], [e.logprob], naming, at, e.top && [e.top]);
          offsets.set(choice, at + (p.asIds ? 0 : logprobs.tokens[0].length));
        }
        if (!p.logprobs && !e.text && !e.finishReason) return [];
        return [{ ...head, choices: [{ index: choice, text: e.text, logprobs, finish_reason: finishReason(e.finishReason) }] }];
      }, head);
    }
    const gens = await run(p);
    c.header(POLICY_VERSION_HEADER, String(gens.policyVersion));
    return c.json({
      ...head, policy_version: gens.policyVersion,
      choices: gens.map((g, i) => ({
        index: i, text: g.text, logprobs: p.logprobs ? completionLogprobs(g.ids, g.logprobs, naming, 0, g.topLogprobs) : null, finish_reason: finishReason(g.finishReason),
        stop_reason: stopReason(g, s.tokenizer, p.stop, p.skipSpecial),
        ...(p.returnIds ? { prompt_token_ids: p.prompts[g.prompt], token_ids: g.ids } : {}),
      })),
      usage: usage(p.promptTokens, gens),
    });
  });

  app.post("/v1/chat/completions", async c => {
    counts.chat++;
    const req = parse(ChatRequestSchema, await body(c));
    const s = deps.served;
    const plan = planTools(req, s.tokenizer);
    const messages = templateMessages(req.messages) as unknown as ChatMessage[];
    let text: string;
    try {
      text = renderChat(s.tokenizer, messages, { addGenerationPrompt: req.add_generation_prompt ?? true, ...(plan ? { extra: { tools: plan.tools } } : {}) });
    } catch (e) {
      throw new ApiError(400, (e as Error).message, "messages");
    }
    // tool_choice "required" or a named function: the reply starts with the call's opening, which the model continues
    const prompts = [s.tokenizer.encode(text + (plan?.prefill ?? ""), { addSpecialTokens: false })];
    const limit = req.max_completion_tokens ?? req.max_tokens ?? Math.max(1, s.config.max_position_embeddings - prompts[0].length);
    if ((req.top_logprobs ?? 0) > 0 && req.logprobs !== true) throw new ApiError(400, `top_logprobs (${req.top_logprobs}) needs logprobs: true: set both, or leave top_logprobs out`, "top_logprobs");
    const p = prepare(req, prompts, limit, req.logprobs === true, req.logprobs === true ? req.top_logprobs ?? 0 : 0, s);
    const id = `chatcmpl-${randomUUID()}`, created = Math.floor(Date.now() / 1000);
    const head = { id, object: "chat.completion", created, model: s.name };
    const naming = { tokenizer: s.tokenizer, asIds: p.asIds };
    const reading = plan?.parse ? plan : null;
    if (p.stream) {
      const started = new Set<number>();
      const chunkHead = { ...head, object: "chat.completion.chunk" };
      const toolStreams = new Map<number, ToolStream>();
      return streamed(c, p, (choice, e) => {
        const delta: Record<string, unknown> = started.has(choice) ? {} : { role: "assistant" };
        const logprobs = p.logprobs ? chatLogprobs([e.token], [e.logprob], naming, e.top && [e.top]) : null;
        if (!reading) {
          if (!p.logprobs && !e.text && !e.finishReason) return [];
          started.add(choice);
          if (e.text || !e.finishReason) delta.content = e.text;
          return [{ ...chunkHead, choices: [{ index: choice, delta, logprobs, finish_reason: finishReason(e.finishReason) }] }];
        }
        let ts = toolStreams.get(choice);
        if (!ts) toolStreams.set(choice, ts = new ToolStream(reading));
        let content = ts.push(e.text);
        const done = e.finishReason ? ts.finish() : null;
        if (done) content += done.content;
        if (content) delta.content = content;
        const chunks: object[] = [];
        const piece = (d: object, lp: unknown, fin: string | null) => ({ ...chunkHead, choices: [{ index: choice, delta: d, logprobs: lp, finish_reason: fin }] });
        if (!done) {
          if (content || p.logprobs) { started.add(choice); chunks.push(piece(delta, logprobs, null)); }
          return chunks;
        }
        started.add(choice);
        if (Object.keys(delta).length || p.logprobs) chunks.push(piece(delta, logprobs, null));
        done.toolCalls.forEach((call, index) => chunks.push(piece({ tool_calls: [{ index, ...call }] }, null, null)));
        chunks.push(piece({}, null, done.toolCalls.length ? "tool_calls" : finishReason(e.finishReason)));
        return chunks;
      }, chunkHead);
    }
    const gens = await run(p);
    c.header(POLICY_VERSION_HEADER, String(gens.policyVersion));
    return c.json({
      ...head, policy_version: gens.policyVersion,
      choices: gens.map((g, i) => {
        const turn = reading ? readToolTurn(reading, reading.prefill + g.text) : null;
        const message = turn?.toolCalls.length ? { role: "assistant", content: turn.content, tool_calls: turn.toolCalls } : { role: "assistant", content: (plan?.prefill ?? "") + g.text };
        return {
          index: i, message, logprobs: p.logprobs ? chatLogprobs(g.ids, g.logprobs, naming, g.topLogprobs) : null,
          finish_reason: turn?.toolCalls.length ? "tool_calls" : finishReason(g.finishReason), stop_reason: stopReason(g, s.tokenizer, p.stop, p.skipSpecial),
          ...(p.returnIds ? { token_ids: g.ids } : {}),
        };
      }),
      usage: usage(p.promptTokens, gens),
      ...(p.returnIds ? { prompt_token_ids: prompts[0] } : {}),
    });
  });

  // move37's reload and SGLang's name for the same thing; the weights swap between two batches.
  const reload = async (c: Context) => {
    const req = parse(ReloadRequestSchema, await body(c, true));
    const dir = req.model_dir ?? req.model_path ?? deps.served.dir;
    if (!existsSync(join(dir, "config.json"))) throw new ApiError(400, `${dir} holds no config.json: save the weights as a Hugging Face folder first (savePretrained) and pass that folder as model_dir`, "model_dir");
    let next: Served;
    try {
      next = { ...readServed(dir, deps.served.name), created: deps.served.created };
    } catch (e) {
      throw new ApiError(400, (e as Error).message, "model_dir");
    }
    const t0 = performance.now();
    weights.version = await deps.generator.load(dir, deps.backend, undefined, undefined, req.version);
    weights.sha256 = null;
    deps.served = next;
    counts.reloads++;
    return c.json({ success: true, message: `loaded ${dir}`, model_dir: dir, version: weights.version, seconds: (performance.now() - t0) / 1000 });
  };
  app.post("/v1/reload", reload);
  app.post("/update_weights_from_disk", reload);

  // Weights over HTTP, no shared filesystem: a streamed safetensors body with its sha256 and version (weights-http.ts).
  app.post("/v1/weights", async c => {
    const t0 = performance.now();
    try {
      const r = await receiveWeights(c.req.raw, (dir, version) => deps.generator.push(dir, version));
      weights.version = r.version; weights.sha256 = r.sha256;
      counts.pushes++;
      c.header(POLICY_VERSION_HEADER, String(r.version));
      return c.json({ success: true, version: r.version, sha256: r.sha256, bytes: r.bytes, seconds: (performance.now() - t0) / 1000 });
    } catch (e) {
      counts.pushesRefused++;
      throw e;
    }
  });
  app.get("/v1/weights/version", c => c.json({ version: weights.version, sha256: weights.sha256, pushes: counts.pushes, refused: counts.pushesRefused }));
  // What the server decodes with, as safetensors (a LoRA server: its adapter): for checking a push bit for bit.
  app.get("/v1/weights", async c => {
    const { bytes, version } = await dumpServed(file => deps.generator.dump(file));
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream", [POLICY_VERSION_HEADER]: String(version) });
  });

  app.get("/metrics", c => {
    const b = deps.batcher.stats;
    const lines = [
      ["move37_requests_total{endpoint=\"completions\"}", counts.completions], ["move37_requests_total{endpoint=\"chat\"}", counts.chat],
      ["move37_request_errors_total", counts.errors], ["move37_reloads_total", counts.reloads],
      ["move37_prompt_tokens_total", counts.promptTokens], ["move37_generation_tokens_total", counts.generationTokens],
      ["move37_batches_total", b.batches], ["move37_batched_requests_total", b.requests], ["move37_batched_rows_total", b.rows],
      ["move37_batch_requests_max", b.maxBatchRequests], ["move37_joined_requests_total", b.joined],
      ["move37_policy_version", weights.version], ["move37_weight_pushes_total", counts.pushes], ["move37_weight_pushes_refused_total", counts.pushesRefused],
    ];
    return c.text(lines.map(([k, v]) => `${k} ${v}`).join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });

  /** Shared checks and sampling options of both endpoints. */
  function prepare(req: Common, prompts: number[][], maxTokens: number, logprobs: boolean, topLogprobs: number, s: Served): Prepared {
    if (req.model !== undefined && req.model !== s.name) throw new ApiError(404, `the model '${req.model}' does not exist: this server serves '${s.name}' (GET /v1/models)`, "model", "not_found_error", "model_not_found");
    const V = s.config.vocab_size, maxLen = s.config.max_position_embeddings;
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new ApiError(400, `prompt ${i} is empty after tokenization: give at least one token`, "prompt");
      const bad = p.find(id => id >= V);
      if (bad !== undefined) throw new ApiError(400, `prompt ${i} holds token id ${bad}, outside the model's vocabulary of ${V}: tokenize with this model's tokenizer`, "prompt");
      if (p.length + maxTokens > maxLen) throw new ApiError(400, `prompt ${i} (${p.length} tokens) + max_tokens (${maxTokens}) exceeds the model's context of ${maxLen} tokens: shorten the prompt or lower max_tokens`, "max_tokens");
    });
    const stream = req.stream === true;
    const stop = req.stop == null ? [] : typeof req.stop === "string" ? [req.stop] : req.stop;
    const n = req.n ?? 1;
    counts.promptTokens += prompts.reduce((a, p) => a + p.length, 0);
    return {
      prompts, n, seed: req.seed ?? undefined, stream, logprobs, topLogprobs, stop,
      includeUsage: req.stream_options?.include_usage === true,
      skipSpecial: req.skip_special_tokens ?? true, returnIds: req.return_token_ids === true, asIds: req.return_tokens_as_token_ids === true,
      promptTokens: prompts.reduce((a, p) => a + p.length, 0),
      options: {
        maxNewTokens: maxTokens, temperature: req.temperature ?? 1, topP: req.top_p ?? 1, topK: Math.max(0, req.top_k ?? 0),
        minP: req.min_p ?? 0, repetitionPenalty: req.repetition_penalty ?? 1, stop, skipSpecialTokens: req.skip_special_tokens ?? true,
        ...(topLogprobs > 0 ? { topLogprobs } : {}),
      },
    };
  }

  async function run(p: Prepared, onToken?: (choice: number, e: TokenEvent) => void): Promise<VersionedGenerations> {
    const gens = await deps.batcher.submit({ prompts: p.prompts, n: p.n, options: p.options, seed: p.seed, onToken });
    counts.generationTokens += gens.reduce((a, g) => a + g.ids.length, 0);
    return gens;
  }

  /**
   * SSE: the chunks of each token event (one per event with text or a finish reason, every event with logprobs; a
   * reply's tool calls and its finish add chunks), an optional usage chunk, then [DONE].
   */
  function streamed(c: Context, p: Prepared, chunk: (choice: number, e: TokenEvent) => object[], head: object) {
    return streamSSE(c, async stream => {
      let chain = Promise.resolve();
      // A client that hung up makes writes fail; the batch it shares still finishes for the others.
      const write = (data: object | string) => { chain = chain.then(() => stream.writeSSE({ data: typeof data === "string" ? data : JSON.stringify(data) })).catch(() => {}); };
      try {
        const gens = await run(p, (choice, e) => { for (const x of chunk(choice, e)) write(x); });
        if (p.includeUsage) write({ ...head, choices: [], usage: usage(p.promptTokens, gens) });
      } catch (e) {
        counts.errors++;
        write(new ApiError(500, `generation failed: ${(e as Error).message}`).body());
      }
      write("[DONE]");
      await chain;
    });
  }

  return app;
}

async function body(c: Context, optional = false): Promise<unknown> {
  const text = await c.req.text();
  if (optional && text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON (${(e as Error).message}): send a JSON object with Content-Type: application/json`);
  }
}

function parse<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ApiError(400, `invalid request: ${z.prettifyError(r.error)}`, r.error.issues[0]?.path.join(".") || null);
  return r.data;
}

function completionPrompts(prompt: CompletionRequest["prompt"], tokenizer: Tokenizer): number[][] {
  if (typeof prompt === "string") return [tokenizer.encode(prompt)];
  if (typeof prompt[0] === "string") return (prompt as string[]).map(t => tokenizer.encode(t));
  if (typeof prompt[0] === "number") return [prompt as number[]];
  return prompt as number[][];
}
