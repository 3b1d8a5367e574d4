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
import { renderChat } from "../tokenizer/chat-template.js";
import type { Generation, TokenEvent } from "../sample/generate.js";
import { ApiError } from "./errors.js";
import { ChatRequestSchema, CompletionRequestSchema, ReloadRequestSchema, messageText, type ChatRequest, type CompletionRequest } from "./protocol.js";
import { Batcher, type BatchOptions } from "./batcher.js";
import type { Generator } from "./generator.js";
import { chatLogprobs, completionLogprobs, finishReason, stopReason, usage } from "./responses.js";

/** What the routes read of the served model; replaced whole on reload. */
export interface Served { dir: string; name: string; config: ModelConfig; tokenizer: Tokenizer; created: number }

export function readServed(dir: string, name: string): Served {
  return { dir, name, config: readHfConfig(dir), tokenizer: loadTokenizer(dir), created: Math.floor(Date.now() / 1000) };
}

export interface AppDeps { served: Served; generator: Generator; batcher: Batcher; backend: BackendKind }

interface Prepared {
  prompts: number[][]; n: number; options: BatchOptions; seed?: number; promptTokens: number;
  logprobs: boolean; stream: boolean; includeUsage: boolean; stop: string[]; skipSpecial: boolean; returnIds: boolean; asIds: boolean;
}

type Common = CompletionRequest | ChatRequest;

export function createApp(deps: AppDeps) {
  const counts = { completions: 0, chat: 0, errors: 0, reloads: 0, promptTokens: 0, generationTokens: 0 };
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
    const p = prepare(req, prompts, req.max_tokens ?? 16, req.logprobs != null, s);
    const id = `cmpl-${randomUUID()}`, created = Math.floor(Date.now() / 1000);
    const head = { id, object: "text_completion", created, model: s.name };
    const naming = { tokenizer: s.tokenizer, asIds: p.asIds };
    if (p.stream) {
      const offsets = new Map<number, number>();   // each choice's text offset so far, for text_offset
      return streamed(c, p, (choice, e) => {
        let logprobs = null;
        if (p.logprobs) {
          const at = offsets.get(choice) ?? 0;
          logprobs = completionLogprobs([e.token], [e.logprob], naming, at);
          offsets.set(choice, at + (p.asIds ? 0 : logprobs.tokens[0].length));
        }
        return { ...head, choices: [{ index: choice, text: e.text, logprobs, finish_reason: finishReason(e.finishReason) }] };
      }, head);
    }
    const gens = await run(p);
    return c.json({
      ...head,
      choices: gens.map((g, i) => ({
        index: i, text: g.text, logprobs: p.logprobs ? completionLogprobs(g.ids, g.logprobs, naming) : null, finish_reason: finishReason(g.finishReason),
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
    const messages = req.messages.map(m => ({ role: m.role, content: messageText(m.content) }));
    let text: string;
    try {
      text = renderChat(s.tokenizer, messages, { addGenerationPrompt: req.add_generation_prompt ?? true });
    } catch (e) {
      throw new ApiError(400, (e as Error).message, "messages");
    }
    const prompts = [s.tokenizer.encode(text, { addSpecialTokens: false })];
    const limit = req.max_completion_tokens ?? req.max_tokens ?? Math.max(1, s.config.max_position_embeddings - prompts[0].length);
    const p = prepare(req, prompts, limit, req.logprobs === true, s);
    const id = `chatcmpl-${randomUUID()}`, created = Math.floor(Date.now() / 1000);
    const head = { id, object: "chat.completion", created, model: s.name };
    const naming = { tokenizer: s.tokenizer, asIds: p.asIds };
    if (p.stream) {
      const started = new Set<number>();
      const chunkHead = { ...head, object: "chat.completion.chunk" };
      return streamed(c, p, (choice, e) => {
        const delta: Record<string, string> = started.has(choice) ? {} : { role: "assistant" };
        started.add(choice);
        if (e.text || !e.finishReason) delta.content = e.text;
        const logprobs = p.logprobs ? chatLogprobs([e.token], [e.logprob], naming) : null;
        return { ...chunkHead, choices: [{ index: choice, delta, logprobs, finish_reason: finishReason(e.finishReason) }] };
      }, chunkHead);
    }
    const gens = await run(p);
    return c.json({
      ...head,
      choices: gens.map((g, i) => ({
        index: i, message: { role: "assistant", content: g.text }, logprobs: p.logprobs ? chatLogprobs(g.ids, g.logprobs, naming) : null,
        finish_reason: finishReason(g.finishReason), stop_reason: stopReason(g, s.tokenizer, p.stop, p.skipSpecial),
        ...(p.returnIds ? { token_ids: g.ids } : {}),
      })),
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
    await deps.generator.load(dir, deps.backend);
    deps.served = next;
    counts.reloads++;
    return c.json({ success: true, message: `loaded ${dir}`, model_dir: dir, seconds: (performance.now() - t0) / 1000 });
  };
  app.post("/v1/reload", reload);
  app.post("/update_weights_from_disk", reload);

  app.get("/metrics", c => {
    const b = deps.batcher.stats;
    const lines = [
      ["move37_requests_total{endpoint=\"completions\"}", counts.completions], ["move37_requests_total{endpoint=\"chat\"}", counts.chat],
      ["move37_request_errors_total", counts.errors], ["move37_reloads_total", counts.reloads],
      ["move37_prompt_tokens_total", counts.promptTokens], ["move37_generation_tokens_total", counts.generationTokens],
      ["move37_batches_total", b.batches], ["move37_batched_requests_total", b.requests], ["move37_batched_rows_total", b.rows],
      ["move37_batch_requests_max", b.maxBatchRequests], ["move37_joined_requests_total", b.joined],
    ];
    return c.text(lines.map(([k, v]) => `${k} ${v}`).join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });

  /** Shared checks and sampling options of both endpoints. */
  function prepare(req: Common, prompts: number[][], maxTokens: number, logprobs: boolean, s: Served): Prepared {
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
      prompts, n, seed: req.seed ?? undefined, stream, logprobs, stop,
      includeUsage: req.stream_options?.include_usage === true,
      skipSpecial: req.skip_special_tokens ?? true, returnIds: req.return_token_ids === true, asIds: req.return_tokens_as_token_ids === true,
      promptTokens: prompts.reduce((a, p) => a + p.length, 0),
      options: {
        maxNewTokens: maxTokens, temperature: req.temperature ?? 1, topP: req.top_p ?? 1, topK: Math.max(0, req.top_k ?? 0),
        minP: req.min_p ?? 0, repetitionPenalty: req.repetition_penalty ?? 1, stop, skipSpecialTokens: req.skip_special_tokens ?? true,
      },
    };
  }

  async function run(p: Prepared, onToken?: (choice: number, e: TokenEvent) => void): Promise<Generation[]> {
    const gens = await deps.batcher.submit({ prompts: p.prompts, n: p.n, options: p.options, seed: p.seed, onToken });
    counts.generationTokens += gens.reduce((a, g) => a + g.ids.length, 0);
    return gens;
  }

  /** SSE: one chunk per token event with text or a finish reason (every token with logprobs), an optional usage chunk, then [DONE]. */
  function streamed(c: Context, p: Prepared, chunk: (choice: number, e: TokenEvent) => object, head: object) {
    return streamSSE(c, async stream => {
      let chain = Promise.resolve();
      // A client that hung up makes writes fail; the batch it shares still finishes for the others.
      const write = (data: object | string) => { chain = chain.then(() => stream.writeSSE({ data: typeof data === "string" ? data : JSON.stringify(data) })).catch(() => {}); };
      try {
        const gens = await run(p, (choice, e) => { if (p.logprobs || e.text || e.finishReason) write(chunk(choice, e)); });
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
