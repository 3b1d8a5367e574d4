// Connecting to the Redis server a distributed run shares. Only the distributed verbs reach this module (the
// alphazero-distributed trainer through src/cli/trainers.ts, selfplay-worker when it runs), so the CLI starts without ioredis.
import { Redis } from "ioredis";

export class RedisUnreachableError extends Error {
  constructor(url: string, why: string) {
    super(`cannot reach Redis at ${url} (${why}): start it (\`redis-server\`; Debian: apt-get install -y redis-server) or set distributed.redis / --redis to its URL`);
    this.name = "RedisUnreachableError";
  }
}

/**
 * A client that retries for ever (commands wait through a Redis restart) and reports an outage once
 * through `warn`, not on every reconnect attempt. With `failFast` the first connection must succeed.
 */
export async function connectRedis(url: string, warn: (message: string) => void, failFast: boolean): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  let down = false, ready = false, firstError = "";
  redis.on("error", (e: Error) => {
    if (failFast && !ready) { firstError ||= e.message; return; } // reported by the thrown error instead
    if (!down) warn(`${new RedisUnreachableError(url, e.message).message}; retrying until it answers`);
    down = true;
  });
  redis.on("ready", () => { down = false; ready = true; });
  const connected = redis.connect();
  if (failFast) {
    try { await connected; } catch (e) { redis.disconnect(); throw new RedisUnreachableError(url, firstError || (e as Error).message); }
  } else connected.catch(() => { /* reported by the error listener; ioredis keeps retrying */ });
  return redis;
}

export class StoppedError extends Error {
  constructor() {
    super("stopped while waiting for Redis");
    this.name = "StoppedError";
  }
}

/**
 * Races Redis commands against `signal`: a stop request ends a command waiting for an unreachable
 * server with StoppedError (ioredis keeps such commands queued, and disconnect() does not fail them).
 */
export function abortable(signal: AbortSignal | undefined): <T>(command: Promise<T>) => Promise<T> {
  if (!signal) return command => command;
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new StoppedError());
    else signal.addEventListener("abort", () => reject(new StoppedError()), { once: true });
  });
  stopped.catch(() => { /* observed through the races */ });
  return command => Promise.race([command, stopped]);
}
