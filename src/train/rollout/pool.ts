/**
 * Several OpenAI-compatible rollout servers behind one client. Each request goes to the server in rotation with the
 * least outstanding work (rows in flight: prompts × n); a server that fails (no connection, timeout, 429, 5xx) is
 * taken out of rotation and the request is sent to another, and the server is retried after a backoff that doubles
 * (capped). A server that comes back is first given the current weights. Requests never wait forever: each attempt has
 * `timeoutMs`, and when no server is left in rotation and none comes back before the deadline the request fails with
 * a RolloutUnavailableError naming every server and its last error.
 *
 * Versions: the pool counts the policy versions it pushed to each server (`acked`, what it confirmed), and checks
 * the `policy_version` a server reports in each answer: it must lie between what the server had confirmed when the
 * request left and what had been sent to it since, or the server serves a policy it was never given (the stale-policy
 * bug: a WeightVersionError, never silent). A server that reports none (vLLM, SGLang) is taken at its confirmed version.
 */
import { Agent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { RolloutRequestError, RolloutResponseError } from "./errors.js";

export class RolloutUnavailableError extends Error {
  constructor(message: string) { super(message); this.name = "RolloutUnavailableError"; }
}

/** A server answered with, or confirmed, a policy version other than the one the trainer gave it. */
export class WeightVersionError extends Error {
  constructor(message: string) { super(message); this.name = "WeightVersionError"; }
}

export interface PoolOptions {
  timeoutMs: number; maxRetries: number; backoffMs: number; maxConcurrency: number; apiKey?: string;
  /** First wait before a failed server is tried again; doubles per failure up to 32×. */
  serverRetryMs: number;
  /** How long one request may take in all, failovers included (0: timeoutMs × (maxRetries + 1) × servers). */
  deadlineMs?: number;
}

export interface ServerState {
  index: number; url: string; origin: string;
  /** Rows (prompts × n) in flight. */
  outstanding: number;
  /** Out of rotation until this time (ms, performance.now()); 0 = in rotation. */
  downUntil: number;
  downStreak: number;
  lastError: string | null;
  /** The last version this server confirmed, and the newest one sent to it (a push under way). */
  acked: number; sent: number;
  /** Whether it missed a push while out of rotation (it gets the current weights before its next request). */
  needsSync: boolean;
  stats: { requests: number; failures: number; rows: number; tokens: number; seconds: number };
}

type Attempt = { ok: true; value: unknown } | { ok: false; retry: boolean; error: string };

export class ServerPool {
  readonly servers: ServerState[];
  private waiting: (() => void)[] = [];
  private inFlight = 0;
  private readonly agent: Agent; private readonly httpsAgent: HttpsAgent;
  /** Requests whose bytes have not all left yet (flush() waits for them). */
  private unsent = new Set<Promise<void>>();
  /** Gives a server the current weights (set by the rollout; called before a server that missed a push is used again). */
  resync: ((s: ServerState) => Promise<void>) | null = null;

  constructor(urls: string[], private readonly o: PoolOptions) {
    this.servers = urls.map((u, index) => {
      const url = u.replace(/\/+$/, "");
      return { index, url, origin: new URL(url).origin, outstanding: 0, downUntil: 0, downStreak: 0, lastError: null, acked: -1, sent: -1, needsSync: false,
        stats: { requests: 0, failures: 0, rows: 0, tokens: 0, seconds: 0 } };
    });
    this.agent = new Agent({ keepAlive: true }); this.httpsAgent = new HttpsAgent({ keepAlive: true });
  }

  /** Servers in rotation now. */
  live(): ServerState[] { return this.servers.filter(s => s.downUntil === 0); }

  /** Resolves once every request started so far has been written out (so a long CPU-bound step cannot hold them back). */
  async flush(): Promise<void> {
    await new Promise(ok => setImmediate(ok));
    await Promise.all([...this.unsent]);
  }

  /**
   * POSTs `body` to `path` (under each server's API root) on the least-loaded server, failing over as above. `rows`
   * weighs the request for balancing. Resolves with the answer, the server and the policy version the answer came from.
   */
  async post<T>(path: string, body: unknown, rows: number, deadline = performance.now() + (this.o.deadlineMs || this.o.timeoutMs * (this.o.maxRetries + 1) * Math.max(1, this.servers.length))): Promise<{ value: T; server: ServerState; version: number }> {
    await this.acquire();
    try {
      const tried: string[] = [];
      for (let attempt = 0; ; attempt++) {
        const s = await this.pick(deadline, tried, rows); // counts the rows as outstanding on it at once, so concurrent picks spread
        if (s.needsSync && this.resync) {
          try { await this.resync(s); } catch (e) { s.outstanding -= rows; this.fail(s, `weights resync failed: ${(e as Error).message}`); tried.push(`${s.url}: ${s.lastError}`); continue; }
        }
        const from = s.acked;
        s.stats.requests++;
        const t0 = performance.now();
        const r = await this.attempt("POST", `${s.url}${path}`, body);
        s.outstanding -= rows;
        if (r.ok) {
          s.stats.seconds += (performance.now() - t0) / 1000; s.stats.rows += rows;
          if (s.downStreak > 0) { s.downStreak = 0; s.lastError = null; }
          const reported = (r.value as { policy_version?: unknown }).policy_version;
          let version = Math.max(0, from);
          if (typeof reported === "number") {
            // checked once the trainer has given this server weights (a teacher, or reload_endpoint null, never does)
            if (from >= 0 && (reported < from || reported > s.sent))
              throw new WeightVersionError(`${s.url} answered with policy version ${reported}, but the trainer had confirmed version ${from} on it and sent nothing newer than ${s.sent}: it serves a policy it was not given (a stale or foreign policy); restart it or check that no other trainer pushes to it`);
            version = reported;
          }
          return { value: r.value as T, server: s, version };
        }
        if (!r.retry) throw new RolloutRequestError(`POST ${s.url}${path} failed: ${r.error}`);
        this.fail(s, r.error);
        tried.push(`${s.url}: ${r.error}`);
        if (attempt >= this.o.maxRetries + this.servers.length - 1)
          throw new RolloutUnavailableError(`POST ${path} failed on every try (${tried.join("; ")}): raise rollout.max_retries or rollout.timeout_ms, or check that the servers are up`);
      }
    } finally {
      this.release();
    }
  }

  /** Takes a server out of rotation after a failure; it is tried again after a doubling backoff. */
  fail(s: ServerState, error: string): void {
    s.stats.failures++; s.lastError = error;
    s.downUntil = performance.now() + this.o.serverRetryMs * 2 ** Math.min(s.downStreak, 5);
    s.downStreak++;
    s.needsSync = true;
  }

  /** The in-rotation server with the least outstanding rows; else waits for the first to come back, until the deadline. */
  private async pick(deadline: number, tried: string[], rows: number): Promise<ServerState> {
    for (;;) {
      const now = performance.now();
      for (const s of this.servers) if (s.downUntil !== 0 && s.downUntil <= now) s.downUntil = 0; // its backoff is over: try it again
      const live = this.live();
      if (live.length) {
        const s = live.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
        s.outstanding += rows;
        return s;
      }
      const next = Math.min(...this.servers.map(s => s.downUntil));
      if (next > deadline)
        throw new RolloutUnavailableError(`no rollout server is left in rotation (${this.servers.map(s => `${s.url}: ${s.lastError ?? "down"}`).join("; ")}${tried.length ? `; tried ${tried.join("; ")}` : ""}): start them again or list others in rollout.servers`);
      await new Promise(ok => setTimeout(ok, Math.max(1, next - now)));
    }
  }

  /** One HTTP exchange with a JSON answer (GET without body). */
  attempt(method: string, url: string, body?: unknown): Promise<Attempt> {
    const u = new URL(url);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    let sent!: () => void;
    const written = new Promise<void>(ok => { sent = ok; });
    this.unsent.add(written);
    written.then(() => this.unsent.delete(written));
    return new Promise<Attempt>(done => {
      let settled = false;
      const finish = (a: Attempt) => { if (!settled) { settled = true; sent(); done(a); } };
      const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, {
        method, agent: u.protocol === "https:" ? this.httpsAgent : this.agent,
        headers: { ...(data ? { "content-type": "application/json", "content-length": data.length } : {}), ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
      }, res => {
        const chunks: Buffer[] = [];
        res.on("data", d => chunks.push(d as Buffer));
        res.on("error", e => finish({ ok: false, retry: true, error: e.message }));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            let message = text.slice(0, 500);
            try { message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message; } catch { /* not JSON */ }
            return finish({ ok: false, retry: status === 429 || status >= 500, error: `HTTP ${status}: ${message}` });
          }
          try { finish({ ok: true, value: JSON.parse(text) }); } catch { finish({ ok: false, retry: false, error: `the answer is not JSON: ${text.slice(0, 200)}` }); }
        });
      });
      const timer = setTimeout(() => { req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)); }, this.o.timeoutMs);
      req.on("close", () => clearTimeout(timer));
      req.on("finish", () => sent());
      req.on("error", e => {
        const err = e as Error & { code?: string };
        finish({ ok: false, retry: true, error: `${err.message}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ""}` });
      });
      req.end(data);
    });
  }

  async get<T>(url: string): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.attempt("GET", url);
      if (r.ok) return r.value as T;
      if (!r.retry || attempt >= this.o.maxRetries) throw new RolloutRequestError(`GET ${url} failed: ${r.error}`);
      await new Promise(ok => setTimeout(ok, this.o.backoffMs * 2 ** attempt));
    }
  }

  /** Per-server throughput and failures, cumulative: rollout/server<i>/{requests,failures,tokens_per_second,in_rotation}. */
  metrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.servers) {
      const p = `rollout/server${s.index}`;
      out[`${p}/requests`] = s.stats.requests; out[`${p}/failures`] = s.stats.failures;
      out[`${p}/tokens_per_second`] = s.stats.seconds > 0 ? s.stats.tokens / s.stats.seconds : 0;
      out[`${p}/in_rotation`] = s.downUntil === 0 ? 1 : 0;
    }
    return out;
  }

  close(): void { this.agent.destroy(); this.httpsAgent.destroy(); }

  private async acquire(): Promise<void> {
    if (this.inFlight >= this.o.maxConcurrency) await new Promise<void>(ok => this.waiting.push(ok));
    else this.inFlight++;
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}

export { RolloutResponseError };
