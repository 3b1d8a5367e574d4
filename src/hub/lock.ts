// One process at a time downloads a blob: <cache>/.locks/<repo folder>/<etag>.lock, as huggingface_hub keeps its
// file locks. The lock file holds "pid@host"; a lock whose process is gone (same host) or that is older than an
// hour (another host sharing the cache) is stale and taken over. Waiting is bounded.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { HubDownloadError } from "./errors.js";

const STALE_MS = 3600_000;

function stale(file: string): boolean {
  try {
    const [pid, host] = readFileSync(file, "utf8").trim().split("@");
    if (host === hostname()) {
      try {
        process.kill(Number(pid), 0);
        return false;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === "ESRCH";
      }
    }
    return Date.now() - statSync(file).mtimeMs > STALE_MS;
  } catch {
    return false; // vanished or half-written: look again
  }
}

/** Runs `fn` holding the lock `file`, waiting (at most `maxWaitMs`) while another live process holds it. */
export async function withLock<T>(file: string, fn: () => Promise<T>, opts: { maxWaitMs?: number; pollMs?: number; onWait?: (holder: string) => void } = {}): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + (opts.maxWaitMs ?? 6 * 3600_000);
  let told = false;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, `${process.pid}@${hostname()}`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (stale(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new HubDownloadError(`${file} is held by another download (${readFileSync(file, "utf8").trim()}) for too long; if no other move37 or Python download is running, delete it`);
      if (!told) { opts.onWait?.(readFileSync(file, "utf8").trim()); told = true; }
      await new Promise(r => setTimeout(r, opts.pollMs ?? 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
