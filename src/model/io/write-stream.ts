// Streamed, crash-safe file writes for large model files (src/runs/atomic.ts covers in-memory data).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/** Bytes per writeSync call: well under its 2 GB limit. */
const CHUNK_BYTES = 1 << 26;

/** writeSync may write less than asked; loop until everything is out. */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let o = 0; o < data.length;) o += writeSync(fd, data, o, Math.min(data.length - o, CHUNK_BYTES));
}

/**
 * Calls `write(fd)` on a temp file beside `path`, fsyncs it and renames it over `path`: readers see the old
 * file or the complete new one, never a partial one. The temp file is removed if `write` throws.
 */
export function writeFileStreamed(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}
