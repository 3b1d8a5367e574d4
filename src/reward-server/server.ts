// `move37 reward-server`: the verifiers behind HTTP for trainers in other processes or on other
// machines. Two dialects: OpenRLHF's remote reward protocol (POST / or /get_reward) and a plain JSON
// batch endpoint (POST /score) for verl or TRL reward functions. Sync verifiers run on this event loop
// (each is bounded by its own deadline); the code reward's sandboxes run as child processes, at most
// `sandboxes` per request, so at most concurrency × sandboxes at once.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { getReward, listRewards, scoreWeighted, type WeightedReward } from "../rewards/registry.js";
import { warmLatexParser } from "../rewards/math/latex.js";
import { closeServer, listen } from "../http/listen.js";
import { Admission, QueueFullError } from "./admission.js";
import { DEFAULT_STRIP_TOKENS, labelExample, numeric, OpenRlhfRequest, responseOf, RewardListError, ScoreRequest } from "./protocol.js";

export interface RewardServerOptions {
  /** Rewards summed (with weights) into `rewards`; the first also gives OpenRLHF's `scores`. */
  rewards: WeightedReward[];
  port?: number;
  host?: string;
  /** Requests scored at once. Default 4. */
  concurrency?: number;
  /** Requests that may wait for a slot before new ones get 429. Default 256. */
  queue?: number;
  /** Code sandboxes one request runs at once. Default 2. */
  sandboxes?: number;
  /** Largest request body (bytes). Default 16 MiB. */
  maxBodyBytes?: number;
  /** The reward OpenRLHF receives where a verifier cannot judge (null). Default 0. */
  nullReward?: number;
  /** Trailing tokens cut from OpenRLHF responses. Default DEFAULT_STRIP_TOKENS. */
  stripTokens?: string[];
}

export interface RewardServer {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): ReturnType<Admission["stats"]> & { promptNotFound: number };
}

type ErrorStatus = 400 | 404 | 413 | 429 | 500;
const fail = (c: Context, status: ErrorStatus, type: string, message: string) => c.json({ error: { type, message } }, status);

const issues = (e: z.ZodError) => e.issues.map(i => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`).slice(0, 5).join("; ");

export async function startRewardServer(opts: RewardServerOptions): Promise<RewardServer> {
  if (opts.rewards.length === 0) throw new RewardListError("");
  opts.rewards.forEach(r => getReward(r.name)); // an unknown name fails here, before listening
  warmLatexParser(); // the math verifier's parser starts in a worker: pay that before the first request
  const admission = new Admission(opts.concurrency ?? 4, opts.queue ?? 256);
  const sandboxes = opts.sandboxes ?? 2, nullAs = opts.nullReward ?? 0, strip = opts.stripTokens ?? DEFAULT_STRIP_TOKENS;
  let promptNotFound = 0;

  /** Parses the JSON body against `schema`, or answers 400 naming what is wrong. */
  async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S> | Response> {
    let raw: unknown;
    try { raw = JSON.parse(await c.req.text()); } catch (e) {
      return fail(c, 400, "invalid_json", `request body is not JSON (${(e as Error).message}); send Content-Type: application/json`);
    }
    const parsed = schema.safeParse(raw);
    return parsed.success ? parsed.data : fail(c, 400, "invalid_request", issues(parsed.error));
  }

  /** Scores under admission control; 429 when the queue is full. */
  async function admitted(c: Context, job: () => Promise<unknown>): Promise<Response> {
    try {
      return c.json(await admission.run(job) as object);
    } catch (e) {
      if (e instanceof QueueFullError) { c.header("Retry-After", "1"); return fail(c, 429, "busy", e.message); }
      return fail(c, 500, "internal", (e as Error).message); // a reward bug: rewards themselves never throw
    }
  }

  const openRlhf = async (c: Context) => {
    const req = await body(c, OpenRlhfRequest);
    if (req instanceof Response) return req;
    const completions = req.query.map((q, i) => {
      const r = responseOf(q, req.prompts?.[i], strip);
      if (req.prompts && !r.promptFound) promptNotFound++;
      return r.response;
    });
    const examples = req.query.map((_q, i) => labelExample(req.labels?.[i]));
    return admitted(c, async () => {
      const { total, columns } = await scoreWeighted(opts.rewards, completions, examples, sandboxes);
      const extra: Record<string, number[]> = {};
      for (const [name, col] of Object.entries(columns)) extra[name] = numeric(col, nullAs);
      extra.unjudged = total.map(v => (v === null ? 1 : 0));
      return { rewards: numeric(total, nullAs), scores: numeric(columns[opts.rewards[0].name], nullAs), extra_logs: extra };
    });
  };

  const app = new Hono();
  const limit = opts.maxBodyBytes ?? 16 * 2 ** 20;
  app.use("*", bodyLimit({ maxSize: limit, onError: c => fail(c, 413, "too_large", `request body over ${limit} bytes; split the batch or start the server with a larger --max-body-mb`) }));
  app.post("/", openRlhf);
  app.post("/get_reward", openRlhf);
  app.post("/score", async c => {
    const req = await body(c, ScoreRequest);
    if (req instanceof Response) return req;
    const rewards = req.rewards ?? opts.rewards;
    const unknown = rewards.find(r => !listRewards().some(s => s.name === r.name));
    if (unknown) return fail(c, 400, "unknown_reward", `unknown reward "${unknown.name}"; known: ${listRewards().map(s => s.name).join(", ")}`);
    const completions = req.items.map(it => it.completion);
    return admitted(c, async () => {
      const { total, columns } = await scoreWeighted(rewards, completions, req.items, sandboxes);
      return { rewards: total, columns };
    });
  });
  app.get("/health", c => c.json({ ok: true, rewards: opts.rewards, ...admission.stats(), promptNotFound }));
  app.get("/rewards", c => c.json(listRewards().map(r => ({ name: r.name, description: r.description }))));
  app.notFound(c => fail(c, 404, "not_found", `no route ${c.req.method} ${c.req.path}: POST /get_reward (OpenRLHF), POST /score, GET /health, GET /rewards`));

  const { server, port, url } = await listen(app.fetch, opts.port ?? 5000, opts.host ?? "127.0.0.1");
  // trainers keep connections open between steps; Node's 5 s default closes them under clients that are
  // about to reuse them (a reset request) whenever the event loop stalls for a few seconds
  Object.assign(server, { keepAliveTimeout: 65_000, headersTimeout: 66_000 });
  return {
    url,
    port,
    stats: () => ({ ...admission.stats(), promptNotFound }),
    close: () => closeServer(server),
  };
}
