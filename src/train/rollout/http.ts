/**
 * JSON over HTTP for rollouts: a timeout per attempt, retries with doubling backoff on failures that may pass
 * (timeouts, refused connections, 429, 5xx), and at most `maxConcurrency` requests in flight; callers beyond
 * that wait for a slot (back-pressure), in arrival order.
 */
import { RolloutRequestError } from "./errors.js";

export interface HttpOptions { timeoutMs: number; maxRetries: number; backoffMs: number; maxConcurrency: number; apiKey?: string }

export class JsonClient {
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  /** Most requests seen in flight at once (for tests and logs). */
  peakInFlight = 0;

  constructor(private readonly o: HttpOptions) {}

  async post<T>(url: string, body: unknown): Promise<T> { return this.request<T>("POST", url, body); }
  async get<T>(url: string): Promise<T> { return this.request<T>("GET", url); }

  private async request<T>(method: string, url: string, body?: unknown): Promise<T> {
    await this.acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        const r = await this.attempt(method, url, body);
        if (r.ok) return r.value as T;
        if (!r.retry || attempt >= this.o.maxRetries)
          throw new RolloutRequestError(`${method} ${url} failed${attempt > 0 ? ` after ${attempt + 1} attempts` : ""}: ${r.error}` +
            (r.retry ? " (raise rollout.max_retries or rollout.timeout_ms, or check that the server is up)" : ""));
        await new Promise(ok => setTimeout(ok, this.o.backoffMs * 2 ** attempt));
      }
    } finally {
      this.release();
    }
  }

  private async attempt(method: string, url: string, body?: unknown): Promise<{ ok: true; value: unknown } | { ok: false; retry: boolean; error: string }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method, signal: AbortSignal.timeout(this.o.timeoutMs),
        headers: { "content-type": "application/json", ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const err = e as Error & { cause?: Error };
      const timeout = err.name === "TimeoutError";
      return { ok: false, retry: true, error: timeout ? `no answer within ${this.o.timeoutMs} ms` : `${err.message}${err.cause ? ` (${err.cause.message})` : ""}` };
    }
    const text = await res.text().catch(e => `(body unreadable: ${(e as Error).message})`);
    if (!res.ok) {
      let message = text.slice(0, 500);
      try { message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message; } catch { /* not JSON: keep the text */ }
      return { ok: false, retry: res.status === 429 || res.status >= 500, error: `HTTP ${res.status}: ${message}` };
    }
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: false, retry: false, error: `the answer is not JSON: ${text.slice(0, 200)}` };
    }
  }

  private async acquire(): Promise<void> {
    if (this.inFlight >= this.o.maxConcurrency) await new Promise<void>(ok => this.waiting.push(ok));
    else this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.inFlight--;
  }
}
