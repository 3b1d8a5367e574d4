// Crash-safe file writes: a reader (or a resumed run) sees the old file or the new one, never half of one.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";

/** Writes `data` to a temp file beside `path`, fsyncs it, renames it over `path`, then fsyncs the folder. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dirname(path));
}

/** Pretty-printed JSON, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** A measurement cached in the JSON `file`, computed once: --resume does not measure a finished model again. */
export async function cachedJson<T>(file: string, compute: () => Promise<T>): Promise<T> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as T;
  const v = await compute();
  writeJsonAtomic(file, v);
  return v;
}

// The rename is only durable once the folder entry is on disk; some filesystems refuse to fsync folders.
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // best effort: the file itself is already synced
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
